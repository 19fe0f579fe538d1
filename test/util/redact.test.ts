// Redaction: credentials in URLs, secret parameters and pairs, bearer tokens, remembered passwords.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addKnownSecret, addSecretsFromHeaders, addSecretsFromUrl, credentialsOf, errorMessage, parseUrl, redact } from '../../src/util/redact';

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

test('a short remembered password is masked where it stands as a whole token, a longer one wherever it appears', () => {
  addSecretsFromUrl('postgres://app:x9z@db/orders');
  assert.equal(redact('password authentication failed: "x9z" rejected'), 'password authentication failed: "***" rejected');
  assert.equal(redact('x9z'), '***');
  assert.equal(redact('tokens x9z, x9z;x9z'), 'tokens ***, ***;***');
  assert.equal(redact('x9zebra ax9z 1x9z2'), 'x9zebra ax9z 1x9z2', 'inside a longer word it is left alone');
  addKnownSecret('Qu1etPass');
  assert.equal(redact('idQu1etPassword'), 'id***word', 'four characters and more: wherever it appears');
  // A one-character password is a whole token too; punctuation alone is not remembered.
  addSecretsFromUrl('postgres://app:7@db/orders');
  assert.equal(redact('retry 7 of 17'), 'retry *** of 17');
  addKnownSecret('-');
  assert.equal(redact('a - b'), 'a - b');
});

test('a secret that contains another is masked whole', () => {
  addKnownSecret('Abcd');
  addKnownSecret('xxAbcdyy');
  assert.equal(redact('got xxAbcdyy and Abcd'), 'got *** and ***');
});

test('header values: as written, percent-decoded, as sent (up to a ;), and the credentials of an Authorization value', () => {
  addSecretsFromHeaders('x-api-key=Sup3rS3cretKey, authorization=Bearer%20tok3nV4lue99 ,x-auth-tenant=Ac%2Cme;meta,x-key=k9z,x-honeycomb-team=hc0123456789abcdef,X-Scope-OrgID=1,x-tenant=production');
  assert.equal(redact('401: Sup3rS3cretKey is not valid'), '401: *** is not valid');
  assert.equal(redact('got tok3nV4lue99'), 'got ***');
  assert.equal(redact('header Bearer%20tok3nV4lue99'), 'header ***');
  assert.equal(redact('tenant Ac,me;meta / Ac%2Cme / Ac,me'), 'tenant *** / *** / ***');
  assert.equal(redact('key k9z; k9zk'), 'key ***; k9zk');
  assert.equal(redact('team hc0123456789abcdef'), 'team ***', 'a long value is a key, whatever its header');
  assert.equal(redact('10.0.0.1 productionized, 1 consumer'), '10.0.0.1 productionized, 1 consumer', 'short values of plain headers are not secrets');
  // Already parsed (the settings' record): the value and its percent-encoded form.
  addSecretsFromHeaders({ authorization: 'Basic dXNlcjpwYXNzd29yZA==' });
  assert.equal(redact('Basic%20dXNlcjpwYXNzd29yZA%3D%3D or dXNlcjpwYXNzd29yZA=='), '*** or ***');
});

test('URLs with raw #, ?, @ or % in the password are parsed as meant, and the password remembered', () => {
  const cases: [string, string][] = [
    ['http://user:pa#ss@127.0.0.1:8080/health', 'pa#ss'],
    ['http://user:pa?ss@127.0.0.1:8080/health?x=1', 'pa?ss'],
    ['http://user:pa@ss@127.0.0.1:8080/health', 'pa@ss'],
    ['http://user:pa%ss@127.0.0.1:8080/health', 'pa%ss'],
    ['http://user:pa%23ss@127.0.0.1:8080/health', 'pa#ss'],
  ];
  for (const [url, password] of cases) {
    const parsed = parseUrl(url)!;
    assert.equal(parsed.hostname, '127.0.0.1', url);
    assert.equal(parsed.port, '8080', url);
    assert.equal(parsed.pathname, '/health', url);
    assert.deepEqual(credentialsOf(parsed), { username: 'user', password }, url);
    addSecretsFromUrl(url);
    assert.equal(redact(`failed: ${password}`), 'failed: ***', url);
    assert.equal(redact(`see ${url}`).includes(password), false, url);
  }
  assert.equal(parseUrl('not a url'), undefined);
  assert.equal(parseUrl('http://host?q=a@b')!.hostname, 'host', 'a URL that parses is taken as it parses');
});

test('a long run of name characters is redacted in linear time (the patterns start where a run starts)', { timeout: 60_000 }, () => {
  // Quadratic patterns took ~3 s for 64 KB of `a.a.…`: 1 MB would take many minutes, not milliseconds.
  for (const run of ['a.'.repeat(500_000), 'a-'.repeat(500_000), 'x'.repeat(1_000_000)]) {
    assert.equal(redact(`${run} password=hunter22 http://u:pw12345@h/`), `${run} password=*** http://u:***@h/`);
  }
});
