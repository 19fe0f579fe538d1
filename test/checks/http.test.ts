import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpCheck } from '../../src/checks/http';
import { freePort, startSilentServer } from '../helpers/silent-tcp-server';
import { runOnce } from '../helpers/run-check';

const PASSWORD = 'S3cretPassw0rd';
const TOKEN = 'T0kenValue1234';


describe('http check', () => {
  // A real server: /ok 200, /down 503, /big 200 with 1 MiB of 'a' then a marker, /echo-auth reflects the header.
  const server = http.createServer((request, response) => {
    if (request.url?.startsWith('/ok')) response.end('all good: ready');
    else if (request.url === '/down') {
      response.statusCode = 503;
      response.end('unavailable');
    } else if (request.url === '/big') response.end(`${'a'.repeat(1024 * 1024)}ready`);
    else if (request.url === '/auth') {
      response.statusCode = request.headers.authorization === `Bearer ${TOKEN}` ? 204 : 401;
      response.end();
    } else {
      response.statusCode = 404;
      response.end();
    }
  });
  let base = '';
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('passes on 2xx with latency and status code', async () => {
    const result = await runOnce(createHttpCheck({ name: 'api', url: `${base}/ok` }));
    assert.equal(result.status, 'pass');
    assert.equal(result.observedUnit, 'ms');
    assert.equal(typeof result.observedValue, 'number');
    assert.equal(result.componentType, 'component');
    assert.deepEqual(result.details, { statusCode: 200 });
  });

  test('fails on an unexpected status, naming it and the redacted URL', async () => {
    const url = `http://user:${PASSWORD}@127.0.0.1:${(server.address() as AddressInfo).port}/down`;
    const result = await runOnce(createHttpCheck({ name: 'api', url }));
    assert.equal(result.status, 'fail');
    assert.equal(result.output, `HTTP 503 from ${url.replace(PASSWORD, '***')} (expected 2xx)`);
    assert.equal(result.details?.statusCode, 503);
    assert.ok(!JSON.stringify(result).includes(PASSWORD));
  });

  test('honours an explicit list of expected status codes', async () => {
    assert.equal((await runOnce(createHttpCheck({ name: 'api', url: `${base}/down`, expectedStatus: [503] }))).status, 'pass');
    const result = await runOnce(createHttpCheck({ name: 'api', url: `${base}/ok`, expectedStatus: [204, 404] }));
    assert.equal(result.status, 'fail');
    assert.match(String(result.output), /^HTTP 200 from .*\/ok \(expected 204, 404\)$/);
  });

  test('checks the body, reading at most 64 KiB of it', async () => {
    assert.equal((await runOnce(createHttpCheck({ name: 'api', url: `${base}/ok`, bodyIncludes: 'ready' }))).status, 'pass');
    const big = await runOnce(createHttpCheck({ name: 'api', url: `${base}/big`, bodyIncludes: 'ready' }));
    assert.equal(big.status, 'fail');
    assert.match(String(big.output), /body does not contain "ready"/);
  });

  test('sends the configured headers; a token in the URL never shows', async () => {
    const headers = { authorization: `Bearer ${TOKEN}` };
    assert.equal((await runOnce(createHttpCheck({ name: 'api', url: `${base}/auth`, headers }))).status, 'pass');
    const result = await runOnce(createHttpCheck({ name: 'api', url: `${base}/down?token=${TOKEN}` }));
    assert.equal(result.status, 'fail');
    assert.ok(!String(result.output).includes(TOKEN));
  });

  test('fails with ECONNREFUSED where nothing listens', async () => {
    const port = await freePort();
    const check = createHttpCheck({ name: 'api', url: `http://127.0.0.1:${port}/` });
    await assert.rejects(runOnce(check), new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
  });

  test('a server that never answers fails the run at the signal', async () => {
    const silent = await startSilentServer();
    try {
      const check = createHttpCheck({ name: 'api', url: `http://127.0.0.1:${silent.port}/health?token=${TOKEN}` });
      await assert.rejects(runOnce(check, AbortSignal.timeout(300)), (error: Error) => {
        assert.match(error.message, /^timed out waiting for http:\/\/127\.0\.0\.1:\d+\/health\?token=\*\*\*$/);
        return true;
      });
    } finally {
      await silent.close();
    }
  });
});
