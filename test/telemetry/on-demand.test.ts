// On-demand instrumentation: an instrumentation's file is loaded only when the application first
// loads a package it patches, and the table names exactly the packages each one patches.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { InstrumentationBase } from '@opentelemetry/instrumentation';
import { INSTRUMENTATIONS } from '../../src/telemetry/instrumentations';
import { packageOf } from '../../src/telemetry/first-load';
import { agentEnv, fixture, spawnAgent, type Line } from '../helpers/spawn-agent';

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
    } finally {
      instrumentation.disable();
    }
  }
});

async function loads(args: string[], env: Record<string, string> = {}): Promise<Map<string, string[]>> {
  const app = spawnAgent(fixture('loads.js'), agentEnv({ OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', ...env }), args);
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
