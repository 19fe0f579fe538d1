// The request and the response are bound to their context when the first listener is added
// (src/telemetry/bind-on-listen.ts): from then on they must behave as OpenTelemetry's bound emitters.
import { ROOT_CONTEXT, context, createContextKey } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { bindOnListen, installBindOnListen, uninstallBindOnListen } from '../../src/telemetry/bind-on-listen';

const KEY = createContextKey('request');
const requestContext = ROOT_CONTEXT.setValue(KEY, 'the request');
const seen = () => context.active().getValue(KEY);
const response = () => new ServerResponse(new IncomingMessage(new Socket()));

before(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  installBindOnListen();
});
after(() => {
  uninstallBindOnListen();
  context.disable();
});

test('an emitter is bound when its first listener is added, and only a marked one', () => {
  const marked = response();
  const unmarked = response();
  bindOnListen(marked, requestContext);
  assert.ok(!Object.hasOwn(marked, 'on'), 'nothing is patched before a listener is added');
  const got: unknown[] = [];
  marked.on('a', () => got.push(seen()));
  marked.once('b', () => got.push(seen()));
  marked.prependListener('c', () => got.push(seen()));
  unmarked.on('a', () => got.push(seen() ?? 'no context'));
  assert.ok(Object.hasOwn(marked, 'on') && !Object.hasOwn(unmarked, 'on'));
  for (const emitter of [marked, unmarked]) for (const event of ['a', 'b', 'c', 'b']) emitter.emit(event);
  assert.deepEqual(got, ['the request', 'the request', 'the request', 'no context']);
});

test('listeners are removed by the function that was added, once-listeners and all', () => {
  const emitter = response();
  bindOnListen(emitter, requestContext);
  const calls: string[] = [];
  const on = () => calls.push('on');
  const once = () => calls.push('once');
  emitter.on('x', on);
  emitter.once('y', once);
  emitter.off('x', on);
  emitter.emit('x');
  emitter.emit('y');
  emitter.emit('y');
  emitter.on('z', on);
  emitter.removeAllListeners('z');
  emitter.emit('z');
  assert.deepEqual(calls, ['once']);
  assert.equal(emitter.listenerCount('x') + emitter.listenerCount('y') + emitter.listenerCount('z'), 0);
});

test('a request reads its body in the context it was bound to', () => {
  const request = new IncomingMessage(new Socket());
  bindOnListen(request, requestContext);
  const got: unknown[] = [];
  context.with(ROOT_CONTEXT, () => {
    request.on('data', () => got.push(seen()));
    request.on('end', () => got.push(seen()));
  });
  request.push('body');
  request.push(null);
  return new Promise<void>((resolve) => setImmediate(() => {
    assert.deepEqual(got, ['the request', 'the request']);
    resolve();
  }));
});

test('uninstalling restores the prototypes', () => {
  uninstallBindOnListen();
  assert.ok(!Object.hasOwn(ServerResponse.prototype, 'on') && !Object.hasOwn(IncomingMessage.prototype, 'once'));
  assert.equal(IncomingMessage.prototype.on, Object.getPrototypeOf(IncomingMessage.prototype).on);
  installBindOnListen();
  assert.ok(Object.hasOwn(ServerResponse.prototype, 'on'));
});

test("Node's own clearIncoming does not bind a request, a later listener does", async () => {
  const http = await import('node:http');
  const got: unknown[] = [];
  const server = http.createServer((req, res) => {
    bindOnListen(req, requestContext);
    res.end('ok', () => {
      // The response finished with the body unread: Node added its clearIncoming to the request.
      assert.ok(req.listeners('end').some((l) => l.name === 'clearIncoming'));
      assert.ok(!Object.hasOwn(req, 'on'), 'clearIncoming alone does not bind');
      req.on('end', () => got.push(seen()));
      req.resume();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await context.with(ROOT_CONTEXT, () => fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'unread' }).then((r) => r.text()));
  await new Promise((resolve) => setTimeout(resolve, 50));
  server.close();
  assert.deepEqual(got, ['the request']);
});
