#!/usr/bin/env node
// `vigil-agent probe ready|live|startup` for container HEALTHCHECKs in images without curl, and
// `vigil-agent check` to run the configured checks once and print what they say, and
// `vigil-agent version` to answer "which SDK is inside?", and `vigil-agent out-of-service` /
// `in-service` to take this instance out of rotation for a time (with VIGIL_TOKEN).
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { runChecksOnce } from './api';

const USAGE = `usage:
  vigil-agent probe <ready|live|startup|health> [--port 9000] [--host 127.0.0.1] [--timeout 2000]
  vigil-agent check [--json]        run the checks configured by VIGIL_* / VIGIL_CONFIG once
  vigil-agent version [--all]       the agent's version and the OpenTelemetry packages inside it (--all: every bundled package)
  vigil-agent out-of-service --for <10m|90s|2h> [--reason text] [--port 9000] [--host 127.0.0.1]
                                    readiness 503 for that long (liveness stays 200); needs VIGIL_TOKEN
  vigil-agent in-service [--port 9000] [--host 127.0.0.1]   back in rotation now`;

/** The value of `--name`, or the fallback when the flag is absent; a malformed value is a usage error. */
function flag(args: string[], name: string, fallback: string, valid: (value: string) => boolean = () => true): string {
  const at = args.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = args[at + 1];
  if (value === undefined || value.startsWith('--') || !valid(value)) fail(`--${name} needs a valid value (got ${value === undefined ? 'nothing' : JSON.stringify(value)})`);
  return value;
}

const isPort = (v: string) => /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 65535;
const isPositive = (v: string) => /^\d+$/.test(v) && Number(v) > 0;

/** Exit 0 when the probe answers 200 within the timeout, 1 otherwise. */
function probe(args: string[]): void {
  const kind = args[0];
  if (!['ready', 'live', 'startup', 'health'].includes(kind)) fail(`unknown probe "${kind ?? ''}"`);
  const timeout = Number(flag(args, 'timeout', '2000', isPositive));
  const path = kind === 'health' ? '/health' : `/health/${kind}`;
  // The probe server tells details to loopback callers (VIGIL_DETAILS=local) and to holders of
  // the token: one given to the process is sent, for a --host that is not loopback or for
  // VIGIL_DETAILS=token. Only the status code is printed either way.
  const token = process.env.VIGIL_TOKEN?.trim();
  call(args, 'GET', path, timeout, token, (status) => `${path}: ${status}`, (message) => `${path}: ${message}`);
}

/** POST /health/out-of-service or /health/in-service with the token; prints the answer, exit 0 on 200. */
function rotation(args: string[], out: boolean): void {
  const token = process.env.VIGIL_TOKEN?.trim();
  if (!token) fail('VIGIL_TOKEN must be set: the probe server takes an instance out of service only for its holders');
  if (out && !flag(args, 'for', '')) fail('--for is needed: how long, e.g. 10m');
  const query = out ? `?${new URLSearchParams({ for: flag(args, 'for', ''), reason: flag(args, 'reason', '') })}` : '';
  call(args, 'POST', `/health/${out ? 'out-of-service' : 'in-service'}${query}`, 5_000, token, (status, body) => `${status}: ${body}`, (message) => message);
}

/** One request to the probe server (--port / --host, else VIGIL_PORT, else 127.0.0.1:9000): prints a line, exit 0 on 200, 1 otherwise. */
function call(args: string[], method: string, path: string, timeout: number, token: string | undefined, answered: (status: number | undefined, body: string) => string, failed: (message: string) => string): void {
  const envPort = process.env.VIGIL_PORT && isPort(process.env.VIGIL_PORT) ? process.env.VIGIL_PORT : '9000';
  const target = { port: Number(flag(args, 'port', envPort, isPort)), host: flag(args, 'host', '127.0.0.1') };
  const headers = token ? { authorization: `Bearer ${token}` } : undefined;
  const req = request({ ...target, path, method, timeout, headers }, (res) => {
    let body = '';
    res.setEncoding('utf8').on('data', (chunk: string) => { body += chunk; });
    res.on('end', () => {
      process.stdout.write(`${answered(res.statusCode, body)}\n`);
      process.exitCode = res.statusCode === 200 ? 0 : 1;
    });
  });
  req.on('timeout', () => req.destroy(new Error(`no answer within ${timeout} ms`)));
  req.on('error', (error) => {
    process.stdout.write(`${failed(error.message)}\n`);
    process.exitCode = 1;
  });
  req.end();
}

async function check(args: string[]): Promise<void> {
  const results = await runChecksOnce();
  if (args.includes('--json')) {
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  } else {
    const rows = results.map((r) => [r.name, r.status, r.critical ? 'yes' : 'no', r.durationMs === undefined ? '' : `${r.durationMs.toFixed(1)} ms`, r.output ?? '']);
    const header = ['CHECK', 'STATUS', 'CRITICAL', 'LATENCY', 'REASON'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    for (const row of [header, ...rows]) process.stdout.write(`${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')}\n`);
  }
  process.exitCode = results.some((r) => r.critical && r.status === 'fail') ? 1 : 0;
}

/** Read from the SBOM the build writes next to this file: one list of what is inside. */
function version(args: string[]): void {
  const sbom = JSON.parse(readFileSync(join(__dirname, 'sbom.cdx.json'), 'utf8')) as { metadata: { component: { name: string; version: string } }; components: { name: string; version: string }[] };
  const { name, version: own } = sbom.metadata.component;
  const shown = args.includes('--all') ? sbom.components : sbom.components.filter((c) => c.name.startsWith('@opentelemetry/') || c.name === '@fastify/otel');
  process.stdout.write([`${name} ${own}`, `node ${process.version}`, ...shown.map((c) => `${c.name} ${c.version}`)].join('\n') + '\n');
}

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'probe') probe(rest);
else if (command === 'check') void check(rest);
else if (command === 'version') version(rest);
else if (command === 'out-of-service') rotation(rest, true);
else if (command === 'in-service') rotation(rest, false);
else fail(command ? `unknown command "${command}"` : 'no command given');
