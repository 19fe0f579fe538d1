// Interned attribute sets (src/telemetry/attribute-sets.ts): one frozen object per distinct set of
// values, and the SDK's own hash remembered for it. The bound is tested last: the sets are global.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashAttributes } from '@opentelemetry/sdk-metrics/build/src/utils';
import { MAX_TRIE_ENTRIES, internAttributes, memoizedHash } from '../../src/telemetry/attribute-sets';

test('the same values give the same frozen set, equal to what came in', () => {
  const first = internAttributes({ 'http.request.method': 'GET', 'url.scheme': 'http', 'http.response.status_code': 200 });
  const again = internAttributes({ 'http.request.method': 'GET', 'url.scheme': 'http', 'http.response.status_code': 200 });
  assert.equal(again, first);
  assert.ok(Object.isFrozen(first));
  assert.deepEqual(first, { 'http.request.method': 'GET', 'url.scheme': 'http', 'http.response.status_code': 200 });
});

test('sets that differ in a value, its type, a name or its presence are different sets', () => {
  const base = internAttributes({ a: 'x', code: 200 });
  const variants = [{ a: 'x', code: '200' }, { a: 'x', code: 201 }, { a: 'y', code: 200 }, { a: 'x' }, { a: 'x', code: 200, b: undefined }, { a: 'x', code: 200, b: 'z' }, { b: 'x', code: 200 }];
  for (const variant of variants) {
    const set = internAttributes(variant);
    assert.notEqual(set, base, JSON.stringify(variant));
    assert.deepEqual(set, variant);
    assert.equal(internAttributes({ ...variant }), set, `interned too: ${JSON.stringify(variant)}`);
  }
  // A value that holds what a joined key would use as a separator is still its own set.
  assert.notEqual(internAttributes({ a: 'x\u0000string\u0000y' }), internAttributes({ a: 'x', string: 'y' }));
});

test('another order is another set, with the same SDK hash; only own keys count, as in the hash', () => {
  const ab = internAttributes({ a: 'x', b: 1 });
  const ba = internAttributes({ b: 1, a: 'x' });
  assert.notEqual(ba, ab);
  assert.deepEqual(Object.keys(ba), ['b', 'a']);
  assert.equal(hashAttributes(ba), hashAttributes(ab));
  const inherited = Object.create({ b: 2 }, { a: { value: 1, enumerable: true } }) as Record<string, number>;
  assert.deepEqual(internAttributes(inherited), { a: 1 });
  assert.deepEqual(internAttributes({ a: 1, b: 2 }), { a: 1, b: 2 }, 'a set with the inherited name as its own is its own set');
});

test('a set with an array value is used as it came', () => {
  const attributes = { a: ['x', 'y'], b: 1 };
  assert.equal(internAttributes(attributes), attributes);
  assert.ok(!Object.isFrozen(attributes));
});

test("an interned set's hash is the SDK's own, computed once; any other set is hashed every time", () => {
  let computed = 0;
  const compute = (attributes: Parameters<typeof hashAttributes>[0]) => {
    computed++;
    return hashAttributes(attributes);
  };
  const set = internAttributes({ 'url.scheme': 'https', 'http.request.method': 'POST' });
  assert.equal(memoizedHash(set, compute), hashAttributes({ 'http.request.method': 'POST', 'url.scheme': 'https' }));
  assert.equal(memoizedHash(set, compute), hashAttributes(set));
  assert.equal(computed, 1);
  const plain = { 'url.scheme': 'https', 'http.request.method': 'POST' };
  memoizedHash(plain, compute);
  memoizedHash(plain, compute);
  assert.equal(computed, 3);
});

test('past its bound, the trie takes no new set, and the sets it holds stay interned', () => {
  const early = internAttributes({ bound: 'early' });
  let beyond = 0;
  for (let i = 0; i < MAX_TRIE_ENTRIES + 100; i++) {
    const attributes = { bound: i };
    if (internAttributes(attributes) === attributes) beyond++;
  }
  assert.ok(beyond >= 100, `${beyond} sets were used as they came`);
  const late = { bound: 'late' };
  assert.equal(internAttributes(late), late);
  assert.equal(internAttributes({ bound: 'early' }), early);
});
