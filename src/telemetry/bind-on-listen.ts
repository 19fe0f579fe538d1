import { context, type Context } from '@opentelemetry/api';
import { EventEmitter } from 'node:events';
import { IncomingMessage, ServerResponse } from 'node:http';

// OpenTelemetry binds a request and its response to the request's context (context.bind patches
// eight methods on each emitter), so that listeners added later run in that context. That binding
// cost more than the rest of an unsampled request, and most requests never get such a listener.
// Here the emitters are only marked; the listener-adding methods of their prototypes bind a marked
// emitter with OpenTelemetry's own context.bind when the first listener is added, and from then on
// the emitter is exactly a bound one. An emitter that is never listened to is never bound.

const CONTEXT = Symbol('vigil.context-to-bind');
/** The methods OpenTelemetry's context managers patch to bind listeners. */
const ADD_LISTENER_METHODS = ['addListener', 'on', 'once', 'prependListener', 'prependOnceListener'] as const;
type Method = (typeof ADD_LISTENER_METHODS)[number];
type Listener = (...args: unknown[]) => void;
type Marked = EventEmitter & { [CONTEXT]?: Context | undefined };

interface Trap { proto: object; name: Method; trap: Listener; own: PropertyDescriptor | undefined }
let traps: Trap[] = [];

/** Binds `emitter` to `ctx` when the first listener is added to it (`install` must have run). */
export function bindOnListen(emitter: EventEmitter, ctx: Context): void {
  (emitter as Marked)[CONTEXT] = ctx;
}

/** Adds a listener of the agent's own, which needs no context and must not bind the emitter. */
export function addOwnListener(emitter: EventEmitter, event: string | symbol, listener: Listener): void {
  EventEmitter.prototype.on.call(emitter, event, listener);
}

/** Puts the traps on the prototypes of node:http's request and response; idempotent. */
export function installBindOnListen(): void {
  if (traps.length > 0) return;
  for (const proto of [IncomingMessage.prototype, ServerResponse.prototype]) {
    for (const name of ADD_LISTENER_METHODS) {
      const own = Object.getOwnPropertyDescriptor(proto, name);
      const trap = makeTrap(proto, name, own?.value as Listener | undefined);
      Object.defineProperty(proto, name, { value: trap, writable: true, configurable: true, enumerable: own?.enumerable ?? false });
      traps.push({ proto, name, trap, own });
    }
  }
}

/** Takes the traps off again, where nothing has wrapped them since. */
export function uninstallBindOnListen(): void {
  for (const { proto, name, trap, own } of traps) {
    if ((proto as Record<string, unknown>)[name] !== trap) continue;
    if (own) Object.defineProperty(proto, name, own);
    else delete (proto as Record<string, unknown>)[name];
  }
  traps = [];
}

/**
 * Node adds `clearIncoming` to every request whose body was not read when its response finished,
 * to free the parser: it needs no context, and binding for it alone would bind nearly every request.
 */
function isNodesOwn(listener: unknown): boolean {
  return typeof listener === 'function' && listener.name === 'clearIncoming';
}

function makeTrap(proto: object, name: Method, own: Listener | undefined) {
  const parent = Object.getPrototypeOf(proto) as Record<Method, Listener>;
  return function trap(this: Marked, event: unknown, listener: unknown) {
    const ctx = this[CONTEXT];
    if (ctx !== undefined && !isNodesOwn(listener)) {
      this[CONTEXT] = undefined;
      context.bind(ctx, this);
      // Now the emitter's own patched method, which calls this trap again, unmarked.
      return (this[name] as Listener).call(this, event, listener);
    }
    // Looked up on each call, so that a later patch of the parent prototype is honoured.
    return (own ?? parent[name]).call(this, event, listener);
  };
}
