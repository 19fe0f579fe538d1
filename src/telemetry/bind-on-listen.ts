import { context, type Context } from '@opentelemetry/api';
import { EventEmitter } from 'node:events';
import { IncomingMessage, ServerResponse } from 'node:http';

// OpenTelemetry binds a request and its response to the request's context (context.bind patches
// eight methods on each emitter), so that listeners added later run in that context. That binding
// cost more than the rest of an unsampled request, and most requests never get such a listener.
// Here the emitters are only marked; the listener-adding methods of their prototypes bind a marked
// emitter with OpenTelemetry's own context.bind when the first listener is added, and from then on
// the emitter is exactly a bound one. An emitter that is never listened to is never bound.
// Where the order of patches shows, it differs: an emitter of a subclass, or one with methods of its
// own, is bound at once; a method an application puts on the emitter during the handler (an
// override, or its own context.bind) comes first, and the listener it adds first is not bound.
// The traps stay for the life of the process: on an emitter that is not marked they only delegate,
// and a request in flight when the instrumentation is disabled still gets its binding.

const CONTEXT = Symbol('vigil.context-to-bind');
/** The methods OpenTelemetry's context managers patch to bind listeners. */
const ADD_LISTENER_METHODS = ['addListener', 'on', 'once', 'prependListener', 'prependOnceListener'] as const;
type Method = (typeof ADD_LISTENER_METHODS)[number];
type Listener = (...args: unknown[]) => void;
type Marked = EventEmitter & { [CONTEXT]?: Context | undefined };

const PROTOTYPES: readonly object[] = [IncomingMessage.prototype, ServerResponse.prototype];
let installed = false;

/** Binds `emitter` to `ctx` when the first listener is added to it (`installBindOnListen` must have run). */
export function bindOnListen(emitter: EventEmitter, ctx: Context): void {
  if (installed && PROTOTYPES.includes(Object.getPrototypeOf(emitter)) && !hasOwnListenerMethod(emitter)) {
    (emitter as Marked)[CONTEXT] = ctx;
  } else {
    context.bind(ctx, emitter);
  }
}

/** Per request, twice: a loop, not a closure. */
function hasOwnListenerMethod(emitter: EventEmitter): boolean {
  for (const name of ADD_LISTENER_METHODS) if (Object.hasOwn(emitter, name)) return true;
  return false;
}

/** Adds a listener of the agent's own, which needs no context and must not bind the emitter. */
export function addOwnListener(emitter: EventEmitter, event: string | symbol, listener: Listener): void {
  EventEmitter.prototype.on.call(emitter, event, listener);
}

/** Puts the traps on the prototypes of node:http's request and response, once; where it cannot (frozen prototypes), emitters are bound at once. */
export function installBindOnListen(): void {
  if (installed) return;
  try {
    for (const proto of PROTOTYPES) {
      for (const name of ADD_LISTENER_METHODS) {
        const own = Object.getOwnPropertyDescriptor(proto, name);
        Object.defineProperty(proto, name, { value: makeTrap(proto, name, own?.value as Listener | undefined), writable: true, configurable: true, enumerable: own?.enumerable ?? false });
      }
    }
    installed = true;
  } catch {
    // A trap that did get installed only delegates while nothing is marked.
  }
}

/**
 * Node adds `clearIncoming` to every request whose body was not read when its response finished,
 * to free the parser: it needs no context, and binding for it alone would bind nearly every request.
 */
function isNodesOwn(event: unknown, listener: unknown): boolean {
  return event === 'end' && typeof listener === 'function' && listener.name === 'clearIncoming';
}

function makeTrap(proto: object, name: Method, own: Listener | undefined) {
  const parent = Object.getPrototypeOf(proto) as Record<Method, Listener>;
  return function trap(this: Marked, event: unknown, listener: unknown) {
    const ctx = this[CONTEXT];
    if (ctx !== undefined && !isNodesOwn(event, listener)) {
      this[CONTEXT] = undefined;
      // Reached through a method of the emitter's own (put there during the handler): calling it
      // again would run it twice, so this listener is added as it came and the later ones are bound.
      const reentered = Object.hasOwn(this, name);
      context.bind(ctx, this);
      // Otherwise now the emitter's own patched method, which calls this trap again, unmarked.
      if (!reentered) return (this[name] as Listener).call(this, event, listener);
    }
    // Looked up on each call, so that a later patch of the parent prototype is honoured.
    return (own ?? parent[name]).call(this, event, listener);
  };
}
