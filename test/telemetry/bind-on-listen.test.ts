// The request and the response are bound to their context when the first listener is added
// (src/telemetry/bind-on-listen.ts): from then on they must behave as OpenTelemetry's bound emitters.
import { ROOT_CONTEXT, context, createContextKey } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { bindOnListen, installBindOnListen } from '../../src/telemetry/bind-on-listen';

const KEY = createContextKey('request');
const requestContext = ROOT_CONTEXT.setValue(KEY, 'the request');
const seen = () => context.active().getValue(KEY);
const response = () => new ServerResponse(new IncomingMessage(new Socket()));

before(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  installBindOnListen();
});
after(() => {
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
  const calls: unknown[] = [];
  const once = () => calls.push(`once ${String(seen())}`);
  const on = () => calls.push('on');
  emitter.once('y', once); // the first listener: it binds the emitter
  emitter.once('x', on);
  emitter.off('x', on);
  emitter.on('z', on);
  emitter.removeAllListeners('z');
  for (const event of ['x', 'y', 'y', 'z']) emitter.emit(event);
  assert.ok(Object.hasOwn(emitter, 'on'));
  assert.deepEqual(calls, ['once the request']);
  assert.equal(emitter.listenerCount('x') + emitter.listenerCount('y') + emitter.listenerCount('z'), 0);
});

test('a subclass, or a method put on the emitter, runs once per listener', () => {
  let subclassCalls = 0;
  class Response extends ServerResponse {}
  const superOn = ServerResponse.prototype.on;
  Response.prototype.on = function (this: Response, ...args: Parameters<typeof superOn>) {
    subclassCalls++;
    return superOn.apply(this, args);
  } as typeof superOn;
  const sub = new Response(new IncomingMessage(new Socket()));
  bindOnListen(sub, requestContext);
  const got: unknown[] = [];
  sub.on('a', () => got.push(seen()));
  sub.emit('a');
  assert.equal(subclassCalls, 1);
  const plain = response();
  bindOnListen(plain, requestContext);
  let overrideCalls = 0;
  const on = plain.on;
  // What compression does to a response during the handler.
  plain.on = function (this: ServerResponse, event: string, listener: (...args: unknown[]) => void) {
    overrideCalls++;
    return on.call(this, event, listener);
  } as typeof plain.on;
  plain.on('a', () => got.push(seen() ?? 'first, as it came'));
  plain.on('a', () => got.push(seen()));
  plain.emit('a');
  assert.equal(overrideCalls, 2);
  assert.deepEqual(got, ['the request', 'first, as it came', 'the request']);
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

test("Node's own clearIncoming does not bind a request, a later listener does", async () => {
  const http = await import('node:http');
  const got: unknown[] = [];
  const server = http.createServer((req, res) => {
    bindOnListen(req, requestContext);
    res.end('ok', () => {
      // The response finished with the body unread: Node added its clearIncoming to the request.
      got.push(req.listeners('end').some((l) => l.name === 'clearIncoming'), Object.hasOwn(req, 'on'));
      req.on('end', () => got.push(seen()));
      req.resume();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'unread' }).then((r) => r.text());
  await new Promise((resolve) => setTimeout(resolve, 50));
  server.close();
  assert.deepEqual(got, [true, false, 'the request'], 'clearIncoming was added and did not bind; the later listener did');
});
