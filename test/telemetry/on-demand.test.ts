// On-demand instrumentation: an instrumentation's file is loaded only when the application first
// loads a package it patches, and the table names exactly the packages each one patches.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { InstrumentationBase } from '@opentelemetry/instrumentation';
import { INSTRUMENTATIONS } from '../../src/telemetry/instrumentations';
import { packageOf } from '../../src/telemetry/first-load';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOtlpReceiver } from '../helpers/otlp-receiver';
import { agentEnv, fixture, ROOT, spawnAgent, type Line } from '../helpers/spawn-agent';

describe('packageOf', () => {
  test('names the package of bare, scoped, subpath and absolute requests', () => {
    assert.equal(packageOf('express'), 'express');
    assert.equal(packageOf('mysql2/promise'), 'mysql2');
    assert.equal(packageOf('@koa/router'), '@koa/router');
    assert.equal(packageOf('@redis/client/dist/lib/client'), '@redis/client');
    assert.equal(packageOf('/app/node_modules/pg/lib/index.js'), 'pg');
    assert.equal(packageOf('/app/node_modules/a/node_modules/@hapi/hapi/lib/index.js'), '@hapi/hapi');
  });
  test('ignores relative paths, builtins and files outside node_modules', () => {
    assert.equal(packageOf('./lib/client'), undefined);
    assert.equal(packageOf('../agent.js'), undefined);
    assert.equal(packageOf('node:http'), undefined);
    assert.equal(packageOf('/srv/app/server.js'), undefined);
  });
});

test('each row names exactly the packages its instrumentation patches', () => {
  // Rows without packages start with the agent: they patch Node's own modules, or none.
  for (const row of INSTRUMENTATIONS.filter((r) => r.packages.length > 0)) {
    const instrumentation = row.create({ isProbeRequest: () => false }) as InstrumentationBase;
    try {
      const defined = instrumentation.getModuleDefinitions().map((d) => d.name);
      // undici and fastify patch nothing (diagnostics channels): the row names the package that brings them in.
      if (defined.length || !['undici', 'fastify'].includes(row.name)) assert.deepEqual([...row.packages].sort(), [...new Set(defined)].sort(), row.name);
      // Subpaths an application imports (the ESM loader wraps by specifier) are files it patches.
      const files = instrumentation.getModuleDefinitions().flatMap((d) => (d.files ?? []).map((f) => f.name.replace(/\.js$/, '')));
      for (const specifier of row.esmSpecifiers ?? []) assert.ok(files.includes(specifier), `${row.name}: ${specifier} is a file it patches`);
    } finally {
      instrumentation.disable();
    }
  }
});

async function loads(args: string[], env: Record<string, string> = {}, script = 'loads.js'): Promise<Map<string, string[]>> {
  const app = spawnAgent(fixture(script), agentEnv({ OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', ...env }), args);
  const { code } = await app.exited;
  assert.equal(code, 0, app.text());
  return new Map(app.stdout.filter((l: Line) => l.fixture === 'loads').map((l) => [l.step as string, l.loaded as string[]]));
}

test('no instrumentation file is loaded until its package is; then only its own', async () => {
  const steps = await loads(['express', 'pg', 'fetch']);
  assert.deepEqual(steps.get('start'), []);
  assert.deepEqual(steps.get('express'), ['express.js']);
  assert.deepEqual(steps.get('pg'), ['express.js', 'pg.js']);
  assert.deepEqual(steps.get('fetch'), ['express.js', 'pg.js', 'undici.js']);
});

test('a disabled instrumentation is never loaded, an enabled list loads only its own', async () => {
  const disabled = await loads(['express', 'pg'], { OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'express' });
  assert.deepEqual(disabled.get('pg'), ['pg.js']);
  const enabled = await loads(['express', 'pg', 'fetch'], { OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,pg' });
  assert.deepEqual(enabled.get('fetch'), ['pg.js']);
});

test('a package no instrumentation patches is resolved no more often than without the agent', async () => {
  const count = async (preload: boolean) => {
    const env = agentEnv({ OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' });
    const app = spawnAgent(fixture('resolutions.js'), env, ['yaml'], preload ? '--require' : 'none');
    assert.equal((await app.exited).code, 0, app.text());
    return Number(app.stdout.find((l) => l.fixture === 'resolutions')?.calls);
  };
  const [bare, agent] = await Promise.all([count(false), count(true)]);
  assert.ok(bare > 20, `yaml is many files (${bare} resolutions)`);
  // OpenTelemetry's require hook alone resolves each file twice more (375 against 193 here);
  // a builtin the agent has loaded already may save the application one or two.
  assert.ok(agent <= bare, `${agent} resolutions under the agent, ${bare} without`);
});

test('an ES module application loads each instrumentation file at its first import', async () => {
  const steps = await loads(['express', 'koa', 'node:http'], {}, 'loads-esm.mjs');
  assert.deepEqual(steps.get('start'), []);
  assert.deepEqual(steps.get('express'), ['express.js']);
  assert.deepEqual(steps.get('koa'), ['express.js', 'koa.js']);
});

test('a probe for a file a package does not have loads no instrumentation; the real load does', async () => {
  const steps = await loads(['try:mysql2/does-not-exist', 'try:@hapi/hapi/nope', 'mysql2']);
  assert.deepEqual(steps.get('try:mysql2/does-not-exist'), []);
  assert.deepEqual(steps.get('try:@hapi/hapi/nope'), []);
  assert.deepEqual(steps.get('mysql2'), ['mysql2.js']);
});

test('a frozen global object: the first read of fetch still works and brings undici in', async () => {
  const steps = await loads(['freeze', 'fetch']);
  assert.deepEqual(steps.get('fetch'), ['undici.js']);
});

describe('isEsmEntry', () => {
  test('by extension, else by the nearest package.json', async () => {
    const { isEsmEntry } = await import('../../src/telemetry/esm-loader');
    assert.equal(isEsmEntry(undefined), false);
    assert.equal(isEsmEntry('/srv/app/server.mjs'), true);
    assert.equal(isEsmEntry('/srv/app/server.cjs'), false);
    assert.equal(isEsmEntry(fixture('esm-app.mjs')), true);
    assert.equal(isEsmEntry(fixture('app.js')), false);
    assert.equal(isEsmEntry(join(ROOT, 'test', 'apps', 'esm', 'app.js')), true, 'a .js file under "type": "module"');
  });
});

test('a package of a shape its instrumentation does not expect still loads, unpatched, with one line', async () => {
  // A stand-in "express" 4.99.0 with no Router: the express instrumentation's patch throws on it.
  const dir = mkdtempSync(join(tmpdir(), 'vigil-shape-'));
  try {
    mkdirSync(join(dir, 'node_modules', 'express'), { recursive: true });
    writeFileSync(join(dir, 'node_modules', 'express', 'package.json'), JSON.stringify({ name: 'express', version: '4.99.0', main: 'index.js' }));
    writeFileSync(join(dir, 'node_modules', 'express', 'index.js'), 'module.exports = { application: {} };\n');
    writeFileSync(join(dir, 'app.js'), "const express = require('express');\nprocess.stdout.write(JSON.stringify({ fixture: 'loaded', keys: Object.keys(express) }) + '\\n');\n");
    const app = spawnAgent(join(dir, 'app.js'), agentEnv({ OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' }));
    assert.equal((await app.exited).code, 0, app.text());
    assert.deepEqual(app.stdout.find((l) => l.fixture === 'loaded')?.keys, ['application']);
    const lines = app.stderr.filter((l) => l.code === 'VIGIL_ERR_INSTRUMENTATION');
    assert.equal(lines.length, 1, app.text());
    assert.match(String(lines[0].instrumentation), /express/);
    assert.doesNotMatch(app.text(), /no original function/, 'shimmer complains in vigil lines only, if at all');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a worker thread is traced, but opens no second probe server and runs no checks', async () => {
  const receiver = await startOtlpReceiver();
  try {
    const app = spawnAgent(fixture('worker-app.js'), agentEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'worker-app' }));
    assert.equal((await app.exited).code, 0, app.text());
    assert.equal(app.stdout.find((l) => l.fixture === 'done')?.workerExit, 0);
    assert.equal(app.stderr.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('listening')).length, 1, app.text());
    const client = await receiver.waitFor((r) => r.spans.find((s) => s.kind === 3 && String(s.attributes['url.full']).endsWith('/from-worker')));
    assert.ok(receiver.spans.some((s) => s.kind === 2 && s.traceId === client.traceId), "the worker's request reached the main thread's server in one trace");
    // Health metrics come from the main thread alone (each thread's agent has its own instance id).
    const worker = receiver.metrics.filter((m) => m.name === 'http.client.request.duration');
    assert.ok(worker.length > 0, 'the worker exports its own telemetry');
    const workerInstance = worker[0].resource['service.instance.id'];
    const health = receiver.metrics.filter((m) => m.name === 'health.status');
    assert.ok(health.length > 0, 'the main thread reports health');
    assert.deepEqual(health.filter((m) => m.resource['service.instance.id'] === workerInstance), [], 'no health.status from the worker');
  } finally {
    await receiver.close();
  }
});

test('a package loaded before start() from code is traced from its next require', async () => {
  const receiver = await startOtlpReceiver();
  try {
    const app = spawnAgent(fixture('late-start.js'), agentEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'late-start', VIGIL_INDEX: join(ROOT, 'dist', 'index.js') }), [], 'none');
    assert.equal((await app.exited).code, 0, app.text());
    assert.equal(app.stdout.find((l) => l.fixture === 'done')?.same, true);
    const server = await receiver.waitFor((r) => r.spans.find((s) => s.kind === 2 && s.resource['service.name'] === 'late-start'));
    assert.equal(server.name, 'GET /late/:id');
    assert.equal(server.attributes['http.route'], '/late/:id');
  } finally {
    await receiver.close();
  }
});
