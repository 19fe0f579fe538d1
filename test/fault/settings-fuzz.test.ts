// A bounded, seeded fuzz of every setting: random values for every row of the settings table, in
// the environment and in the configuration file. Nothing may throw, hang, flood or show a secret.
// Host names are never random: every URL and address the agent could resolve names 127.0.0.1
// (or ::1), and random text never holds `:` or `=` where it could become a host.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { loadConfig } from '../../src/config';
import { MAX_TIMER_MS } from '../../src/config/kinds';
import { FILE_KEYS, readSettings, SETTINGS, type SettingName } from '../../src/config/settings';
import { freePort } from '../helpers/silent-tcp-server';
import { agentEnv, fixture, spawnAgent } from '../helpers/spawn-agent';

const SEED = Number(process.env.VIGIL_FUZZ_SEED ?? 20261201);
/** Marks every secret the fuzz gives the agent; it must never be seen in any output. */
const SECRET = 'Zq7SECRETx';

/** mulberry32: a small seeded generator, so that a failure can be replayed with VIGIL_FUZZ_SEED. */
function generator(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  // Printable and hostile characters; no `:` or `=`, which could make a host of random text, and
  // no NUL, which no environment can hold.
  const ALPHABET = 'abcXYZ019 _-.,;/\\%#@?&*!"\'`$(){}[]<>|~\t\n\u00e9\u4e2d\ud83d\ude00';
  const junk = (max: number) => Array.from({ length: int(max) }, () => pick([...ALPHABET])).join('');
  return { next, int, pick, junk };
}
type Random = ReturnType<typeof generator>;

let closedPort = 0;
before(async () => {
  // A port nothing listens on: exports and checks aimed at it are refused at once.
  closedPort = await freePort();
});

const NUMBERS = ['0', '1', '-1', '100', '2147483647', '2147483648', '9007199254740993', '1e3', '0x10', ' 5 ', 'NaN', 'Infinity', '3.5', '١٢'];

/** A loopback URL with a secret password that may itself break the URL (`#`, `/`, `@`, `%`). */
function loopbackUrl(r: Random, schemes: readonly string[]): string {
  const password = `${SECRET}${r.pick(['', '#', '/x', '@y', '%zz', '%40', '?q', ',x', ',n=http'])}`;
  return `${r.pick(schemes)}//${r.pick(['', 'user', 'us%er'])}:${password}@${r.pick(['127.0.0.1', '[::1]'])}:${r.pick([closedPort, 0, 70000])}${r.pick(['', '/', '/db', `/${r.junk(8).replace(/[#?]/g, '')}`])}`;
}

/** A random value for one setting, as a hostile or careless user would write it. */
function valueFor(r: Random, name: SettingName): string {
  const setting = SETTINGS[name] as { fallback: unknown; file?: string };
  if (name === 'VIGIL_HOST') return r.pick(['127.0.0.1', '::1', '', ' 127.0.0.1 ']);
  if (name === 'VIGIL_PORT') return r.pick(['0', '', '-1', '65536', 'abc', ' 0 ']);
  if (name === 'VIGIL_DISABLED' || name === 'OTEL_SDK_DISABLED') return r.pick(['', 'false', 'no', 'FALSE', 'maybe', '0']);
  if (name === 'VIGIL_CONFIG') return r.pick(['', '/dev/zero', '/dev/null', tmpdir(), join(tmpdir(), 'vigil-no-such-file.yaml'), r.junk(20)]);
  if (name === 'VIGIL_TOKEN') return `${SECRET}${r.junk(10)}`;
  if (name === 'VIGIL_POSTGRES_URL') return r.pick([loopbackUrl(r, ['postgres:', 'postgresql:', 'mysql:']), '', r.junk(30)]);
  if (name === 'VIGIL_REDIS_URL') return r.pick([loopbackUrl(r, ['redis:', 'rediss:', 'http:']), '', r.junk(30)]);
  if (name === 'VIGIL_AMQP_URL') return r.pick([loopbackUrl(r, ['amqp:', 'amqps:']), '', r.junk(30)]);
  if (name === 'VIGIL_HTTP_CHECKS') return r.pick([`api=${loopbackUrl(r, ['http:', 'https:', 'ftp:'])}`, `a=${loopbackUrl(r, ['http:'])},${r.junk(10)}`, r.junk(30)]);
  if (name === 'VIGIL_TCP_CHECKS') return r.pick([`db=127.0.0.1:${closedPort}`, `v6=[::1]:${closedPort},x=127.0.0.1:99999`, r.junk(30)]);
  if (/_ENDPOINT$/.test(name)) return r.pick(['', `http://127.0.0.1:${closedPort}`, `https://127.0.0.1:${closedPort}/v1/x`, `ftp://127.0.0.1:${closedPort}`, r.junk(20)]);
  if (/_HEADERS$/.test(name)) return r.pick([`x-api-key=${SECRET}${r.int(1000)}`, `authorization=Bearer%20${SECRET}`, `k=${SECRET},broken`, `k=%zz${SECRET}`, r.junk(40)]);
  if (name === 'OTEL_RESOURCE_ATTRIBUTES') return r.pick(['team=a,env=b%20c', 'service.name=fuzz', '%%%', r.junk(60)]);
  if (/_(CERTIFICATE|CLIENT_KEY)$/.test(name)) return r.pick(['', '/dev/null', join(tmpdir(), 'vigil-no-such.pem'), r.junk(12)]);
  const fallback = setting.fallback;
  if (typeof fallback === 'number' || fallback === undefined && /LIMIT|TIMEOUT/.test(name)) return r.pick([...NUMBERS, r.junk(8)]);
  if (typeof fallback === 'boolean') return r.pick(['true', 'false', 'yes', 'off', 'TRUE', '2', r.junk(5)]);
  return r.pick([String(Array.isArray(fallback) ? fallback.join(',') : fallback ?? ''), r.junk(20), r.junk(2000), 'a.'.repeat(20_000), 'otlp,console', 'none', 'ALWAYS_ON', 'debug']);
}

function randomEnv(r: Random): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    if (r.next() < 0.6) env[name] = valueFor(r, name);
  }
  return env;
}

test('settings: thousands of random environments and files are read without a throw, within bounds', () => {
  const r = generator(SEED);
  const dir = mkdtempSync(join(tmpdir(), 'vigil-fuzz-'));
  try {
    for (let i = 0; i < 2_000; i++) {
      const env = randomEnv(r);
      const { values, problems } = readSettings(env);
      for (const [name, value] of Object.entries(values)) {
        if (typeof value === 'number' && /_MS$|INTERVAL|TIMEOUT|DELAY/.test(name)) assert.ok(value >= 0 && value <= MAX_TIMER_MS, `${name}=${value} (seed ${SEED}, round ${i})`);
      }
      assert.ok(problems.length <= Object.keys(env).length, 'at most one problem per variable');
      for (const problem of problems) {
        assert.ok(problem.message.length < 400, `a problem line stays short: ${problem.message.length} characters`);
        assert.ok(!problem.message.includes(SECRET), `no secret in: ${problem.message}`);
      }
      // The same values, as a configuration file's keys (strings, numbers, booleans, objects).
      const file: Record<string, unknown> = {};
      for (const key of FILE_KEYS.keys()) {
        if (r.next() < 0.5) file[key] = r.pick<unknown>([valueFor(r, FILE_KEYS.get(key)!), r.int(10 ** r.int(12)), -1, 2e9, true, null, [], { a: 1 }, r.junk(30)]);
      }
      const path = join(dir, `config-${i % 4}.${r.pick(['json', 'yaml'])}`);
      writeFileSync(path, r.next() < 0.8 ? JSON.stringify(file) : r.junk(200));
      const loaded = loadConfig({ ...env, VIGIL_CONFIG: path });
      assert.ok(loaded.config.flushTimeoutMs <= 60_000 && loaded.config.shutdownDelayMs <= 600_000 && loaded.config.intervalMs <= MAX_TIMER_MS);
      for (const problem of loaded.problems) assert.ok(!problem.message.includes(SECRET), `no secret in: ${problem.message}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('agent: a program under random settings runs, exits by itself, says little, and shows no secret', async () => {
  const r = generator(SEED + 1);
  const ROUNDS = 12;
  const run = async (round: number) => {
    const env = randomEnv(r);
    const job = spawnAgent(fixture('short-job.js'), agentEnv({ ...env, OTEL_EXPORTER_OTLP_ENDPOINT: env.OTEL_EXPORTER_OTLP_ENDPOINT ?? `http://127.0.0.1:${closedPort}` }));
    const kill = setTimeout(() => job.kill('SIGKILL'), 30_000);
    const { code, signal } = await job.exited;
    clearTimeout(kill);
    const where = `seed ${SEED + 1}, round ${round}, env ${JSON.stringify(env).slice(0, 2000)}`;
    assert.equal(signal, null, `the program ended by itself (${where})`);
    assert.equal(code, 0, `${where}\n${job.stderr.map((l) => JSON.stringify(l)).join('\n').slice(0, 3000)}`);
    assert.ok(job.stdout.some((l) => l.fixture === 'done'), `the program did its work (${where})`);
    assert.ok(job.stderr.length < 60, `${job.stderr.length} lines on stderr (${where})`);
    const output = JSON.stringify([job.stdout, job.stderr]);
    assert.ok(!output.includes(SECRET), `a secret was shown (${where}): ${output.slice(Math.max(0, output.indexOf(SECRET) - 300), output.indexOf(SECRET) + 100)}`);
  };
  // Two at a time: the machine has two cores.
  for (let round = 0; round < ROUNDS; round += 2) await Promise.all([run(round), run(round + 1)]);
});
