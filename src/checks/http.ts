import type { CheckDefinition } from '../health/types';
import type { CheckOptions, CheckResult } from '../types';
import { addHeaderSecret, addSecretsFromUrl, credentialsOf, parseUrl, redact, SECRET_HEADER } from '../util/redact';
import { bounded, checkError, timed, unref } from './run-bounded';

export interface HttpCheckOptions extends CheckOptions {
  name: string;
  /** `http(s)://...`; credentials and secret query parameters are masked in all output. */
  url: string;
  /** Status codes that pass. Default `'2xx'`. Redirects are not followed. */
  expectedStatus?: number[] | '2xx';
  /** Text the first 64 KiB of the body must contain. */
  bodyIncludes?: string;
  headers?: Record<string, string>;
}

const MAX_BODY_BYTES = 64 * 1024;
/** Request headers whose values are credentials, remembered as secrets. */

/** The URL as messages show it: password masked, secret query parameters masked, no fragment (it is never sent). */
function shownUrl(target: URL): string {
  const copy = new URL(target.href);
  copy.hash = '';
  if (copy.password) copy.password = '***';
  return redact(copy.href);
}

interface Reply {
  statusCode: number;
  body: string;
}

/**
 * HTTP dependency health: one GET per run through node:http (so instrumentation-http traces it
 * as a child of the check span), on a fresh unref'd socket each time.
 */
export function createHttpCheck(config: HttpCheckOptions): CheckDefinition {
  const { name, url, expectedStatus = '2xx', bodyIncludes, headers, ...options } = config;
  addSecretsFromUrl(url);
  for (const [header, value] of Object.entries(headers ?? {})) if (SECRET_HEADER.test(header)) addHeaderSecret(value);
  // Parsed, never glued: a raw `#`, `?` or `@` in the password is read as the writer meant it
  // (see parseUrl), and the request is made from the parts, credentials apart.
  const target = parseUrl(url);
  if (!target || (target.protocol !== 'http:' && target.protocol !== 'https:') || !target.hostname) {
    // Not echoed: what cannot be parsed cannot be redacted reliably either.
    throw new Error('its URL is not a valid http(s) URL (a "/" in a password must be written %2F)');
  }
  const shown = shownUrl(target);
  const { username, password } = credentialsOf(target);
  const request = {
    protocol: target.protocol,
    hostname: target.hostname.replace(/^\[|\]$/g, ''),
    ...(target.port ? { port: Number(target.port) } : {}),
    path: `${target.pathname}${target.search}`,
    ...(username || password ? { auth: `${username}:${password}` } : {}),
  };
  const expected = expectedStatus === '2xx' ? '2xx' : expectedStatus.join(', ');
  const accepts = (code: number): boolean =>
    expectedStatus === '2xx' ? code >= 200 && code < 300 : expectedStatus.includes(code);
  // A pooled socket would outlive the run; keepAlive off closes it with the response.
  // Required here, after the instrumentation hooks are in place, and https only when needed (tls is costly to load).
  const transport = (target.protocol === 'https:' ? require('node:https') : require('node:http')) as typeof import('node:http');
  const agent = new transport.Agent({ keepAlive: false });

  // `signal` makes node:http destroy the request and its socket when the run is abandoned.
  function get(signal: AbortSignal): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const outgoing = transport.get({ ...request, agent, headers, signal }, (response) => {
        const statusCode = response.statusCode ?? 0;
        if (bodyIncludes === undefined) {
          // Nothing to read: dropping the body spares an endless or huge response.
          response.destroy();
          resolve({ statusCode, body: '' });
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        const finish = (): void => {
          response.destroy();
          resolve({ statusCode, body: Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8') });
        };
        response.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          size += chunk.length;
          if (size >= MAX_BODY_BYTES) finish();
        });
        response.on('end', finish);
        response.on('error', reject);
      });
      outgoing.on('socket', unref);
      outgoing.on('error', reject);
    });
  }

  return {
    name,
    options,
    fn: async (signal): Promise<CheckResult> => {
      let reply: { value: Reply; ms: number };
      try {
        reply = await timed(() => bounded(signal, shown, () => undefined, () => get(signal)));
      } catch (error) {
        throw checkError(error);
      }
      const { statusCode, body } = reply.value;
      const failure = !accepts(statusCode)
        ? `HTTP ${statusCode} from ${shown} (expected ${expected})`
        : bodyIncludes !== undefined && !body.includes(bodyIncludes)
          ? `HTTP ${statusCode} from ${shown} but the body does not contain "${redact(bodyIncludes)}"`
          : undefined;
      return {
        status: failure ? 'fail' : 'pass',
        observedValue: reply.ms,
        observedUnit: 'ms',
        componentType: options.componentType ?? 'component',
        ...(failure ? { output: failure } : {}),
        details: { statusCode },
      };
    },
  };
}
