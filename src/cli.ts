#!/usr/bin/env node
// `vigil-agent probe ready|live|startup` for container HEALTHCHECKs in images without curl, and
// `vigil-agent check` to run the configured checks once and print what they say, and
// `vigil-agent version` to answer "which SDK is inside?".
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { runChecksOnce } from './api';

const USAGE = `usage:
  vigil-agent probe <ready|live|startup|health> [--port 9000] [--host 127.0.0.1] [--timeout 2000]
  vigil-agent check [--json]        run the checks configured by VIGIL_* / VIGIL_CONFIG once
  vigil-agent version [--all]       the agent's version and the OpenTelemetry packages inside it (--all: every bundled package)`;

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
  const envPort = process.env.VIGIL_PORT && isPort(process.env.VIGIL_PORT) ? process.env.VIGIL_PORT : '9000';
  const port = Number(flag(args, 'port', envPort, isPort));
  const host = flag(args, 'host', '127.0.0.1');
  const timeout = Number(flag(args, 'timeout', '2000', isPositive));
  const path = kind === 'health' ? '/health' : `/health/${kind}`;
  // The probe server tells details to loopback callers (VIGIL_DETAILS=local) and to holders of
  // the token: one given to the process is sent, for a --host that is not loopback or for
  // VIGIL_DETAILS=token. Only the status code is printed either way.
  const token = process.env.VIGIL_TOKEN?.trim();
  const headers = token ? { authorization: `Bearer ${token}` } : undefined;
  const req = request({ host, port, path, method: 'GET', timeout, headers }, (res) => {
    res.resume();
    process.stdout.write(`${path}: ${res.statusCode}\n`);
    process.exitCode = res.statusCode === 200 ? 0 : 1;
  });
  req.on('timeout', () => req.destroy(new Error(`no answer within ${timeout} ms`)));
  req.on('error', (error) => {
    process.stdout.write(`${path}: ${error.message}\n`);
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
else fail(command ? `unknown command "${command}"` : 'no command given');
