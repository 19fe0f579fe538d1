import type { Attributes } from '@opentelemetry/api';

// A histogram record in OpenTelemetry's metrics SDK hashes its attributes every time (sorted keys,
// then JSON.stringify): that was most of what recording a request's duration cost. A metric
// recorded on every request uses the same few attribute sets again and again, so each is interned
// once, frozen, and the build makes the SDK's `hashAttributes` remember the hash of an interned set
// (scripts/build.mjs, `memoHashAttributes`). What the SDK aggregates and exports is unchanged.

/** At most this many trie entries (a value's node, a name's map of values): about 2,000 sets of five attributes, the SDK's own cardinality limit a metric. Beyond it, new sets are used as they come. */
export const MAX_TRIE_ENTRIES = 20_000;

/** Interned sets: their hash once the SDK has computed it, `null` until then. */
const HASHES = new WeakMap<Attributes, string | null>();

/** A trie of names then values, in the order of the set's own keys; a node that ends a set holds it. */
interface Node {
  readonly next: Map<string, Map<unknown, Node>>;
  set?: Attributes;
}
const ROOT: Node = { next: new Map() };
let entries = 0;

/** One frozen object for each distinct set of attribute values (same keys, same order, values equal as a Map compares them); a set with an object or array value is returned as it is. */
export function internAttributes(attributes: Attributes): Attributes {
  // The object's own string keys, as the SDK's hash reads them; the set is built from exactly these.
  const names = Object.keys(attributes);
  let node = ROOT;
  for (const name of names) {
    const value = attributes[name];
    if (typeof value === 'object' && value !== null) return attributes;
    let values = node.next.get(name);
    if (values === undefined) {
      if (entries >= MAX_TRIE_ENTRIES) return attributes;
      entries++;
      node.next.set(name, (values = new Map()));
    }
    let child = values.get(value);
    if (child === undefined) {
      if (entries >= MAX_TRIE_ENTRIES) return attributes;
      entries++;
      values.set(value, (child = { next: new Map() }));
    }
    node = child;
  }
  if (node.set !== undefined) return node.set;
  const set: Attributes = {};
  for (const name of names) set[name] = attributes[name];
  node.set = Object.freeze(set);
  HASHES.set(node.set, null);
  return node.set;
}

/** The SDK's hash of `attributes` (`compute`), remembered for an interned set. */
export function memoizedHash(attributes: Attributes, compute: (attributes: Attributes) => string): string {
  const known = HASHES.get(attributes);
  if (typeof known === 'string') return known;
  const hash = compute(attributes);
  if (known === null) HASHES.set(attributes, hash);
  return hash;
}
