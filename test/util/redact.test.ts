// Redaction: credentials in URLs, secret parameters and pairs, bearer tokens, remembered passwords.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addSecretsFromUrl, errorMessage, redact } from '../../src/util/redact';

test('URL user-info passwords are masked up to the last @ of the authority', () => {
  assert.equal(redact('postgres://app:p@ss@db:5432/x'), 'postgres://app:***@db:5432/x');
  assert.equal(redact('redis://:pw@h:6379'), 'redis://***@h:6379');
  assert.equal(redact('see http://u:p@[::1]:5432/x now'), 'see http://u:***@[::1]:5432/x now');
  assert.equal(redact('{"url":"http://a:b@c/d"}'), '{"url":"http://a:***@c/d"}');
  assert.equal(redact('user@example.com wrote'), 'user@example.com wrote', 'an e-mail address is not a URL');
});

test('secret query parameters and key=value pairs, by name or name ending', () => {
  assert.equal(redact('http://h/p?client_secret=TOP&x=1'), 'http://h/p?client_secret=***&x=1');
  assert.equal(redact('?private_token=abc&a=1&X-Amz-Signature=zz&key=k'), '?private_token=***&a=1&X-Amz-Signature=***&key=***');
  assert.equal(redact('connect failed: password=hunter22 host=db'), 'connect failed: password=*** host=db');
});

test('bearer and basic tokens, in any case, with a space or %20', () => {
  assert.equal(redact('Authorization: Bearer abcdefgh12345'), 'Authorization: Bearer ***');
  assert.equal(redact('authorization=bearer%20abcdefgh12345'), 'authorization=bearer ***');
});

test('a remembered password is masked in free text, but not when it is also the user name', () => {
  addSecretsFromUrl('postgres://app:Sup3rS3cret@db/orders');
  assert.equal(redact('database "Sup3rS3cret" does not exist'), 'database "***" does not exist');
  addSecretsFromUrl('postgres://postgres:postgres@db/postgres');
  assert.equal(redact('check postgres is failing'), 'check postgres is failing');
});

test('errorMessage gives one redacted line, and the parts of an AggregateError', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED ::1:5432'), { code: 'ECONNREFUSED' });
  const aggregate = new AggregateError([refused, Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })], '');
  assert.equal(errorMessage(aggregate), 'connect ECONNREFUSED ::1:5432; connect ECONNREFUSED 127.0.0.1:5432');
  assert.equal(errorMessage(new Error('bad\n  url postgres://u:pw@h/db')), 'bad url postgres://u:***@h/db');
});
