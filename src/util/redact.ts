// Secrets reach output through URLs (user:password@host, ?password=...) and through driver
// error messages that echo them. Everything the agent prints or exports passes through here:
// its own log lines (telemetry/logger.ts), check reasons (health/run-check.ts) and every span,
// log record and metric data point on its way to an exporter (telemetry/redacting-exporter.ts).
// Two kinds of rules: shapes (URL user-info, secret parameters and pairs, bearer tokens), and
// the literal secrets the agent was given or found (passwords of the URLs it was configured
// with, of the application's own pools and clients, OTLP header values), masked wherever they
// appear.

const MASK = '***';
/** Word endings that make a query parameter or a `key=value` pair secret (client_secret, X-Amz-Signature, api_key ...). */
const SECRET_WORDS = 'password|passwd|pwd|pass|secret|token|signature|sig|key|auth|authorization|credential|credentials';
// User-info up to the last `@` of the authority: a password may itself contain `@`. The
// look-behinds (not `\b`) start a match only where the run of name characters starts: from every
// word boundary of `a.a.a.…` each try would scan to the end, quadratic in the text's length.
const URL_CREDENTIALS = /(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*:\/\/)([^\s/?#:@]*)(?::([^\s/?#]*))?@(?=[^\s/?#@]*(?:[/?#\s"']|$))/gi;
const SECRET_PARAMS = new RegExp(`([?&;#][\\w.-]*?(?:${SECRET_WORDS})=)[^&;#\\s"']*`, 'gi');
const SECRET_PAIRS = /(?<![\w.-])([\w.-]*?(?:password|passwd|pwd|secret|token|api[_-]?key))(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&"']+)/gi;
const BEARER = /\b(Bearer|Basic)(?:\s+|%20)[A-Za-z0-9._~+/=-]{8,}/gi;

/** Query parameter names that instrumentation masks in exported URLs (`url.full`): exact names, the common ones. */
export const SECRET_QUERY_PARAMS = [
  'password', 'passwd', 'pwd', 'pass', 'secret', 'client_secret', 'token', 'access_token', 'refresh_token', 'id_token',
  'private_token', 'auth', 'authorization', 'key', 'api_key', 'apikey', 'api-key', 'sig', 'signature', 'Signature',
  'AWSAccessKeyId', 'X-Amz-Signature', 'X-Amz-Credential', 'X-Amz-Security-Token', 'X-Goog-Signature', 'X-Goog-Credential',
];

/**
 * A known secret shorter than this is masked only where it stands as a whole token (not inside
 * a longer word): a three-letter password must not eat every "abc" of every line.
 */
const SHORT_SECRET = 4;
const ALNUM = /[\p{L}\p{N}]/u;

interface KnownSecret {
  value: string;
  /** For a short secret: the whole-token pattern. */
  token?: RegExp;
}

/** Literal secrets (passwords, header values) the agent was given or found, longest first. */
let knownSecrets: readonly KnownSecret[] = [];
const knownValues = new Set<string>();
/** Matches where any known secret occurs: one scan of a string tells whether any is in it. */
let anyKnownSecret: RegExp | undefined;

/**
 * Remembers a literal secret so that `redact` masks it wherever it appears (a short one: where it
 * stands as a whole token). A short value without a letter or a digit is not remembered: it
 * could not be told from punctuation.
 */
export function addKnownSecret(secret: string | undefined | null): void {
  if (typeof secret !== 'string' || !secret || knownValues.has(secret)) return;
  const short = secret.length < SHORT_SECRET;
  if (short && !ALNUM.test(secret)) return;
  knownValues.add(secret);
  const token = short ? new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(secret)}(?![\\p{L}\\p{N}])`, 'gu') : undefined;
  // Longest first: a secret that contains another is masked whole.
  knownSecrets = [...knownSecrets, { value: secret, token }].sort((a, b) => b.value.length - a.value.length);
  anyKnownSecret = new RegExp(knownSecrets.map((known) => escapeRegExp(known.value)).join('|'));
}

/**
 * A URL the way its writer meant it. `new URL` first; when that fails on raw characters in the
 * user-info (`user:pa#ss@host`, `user:pa?ss@host`, `user:p/ss@host` is not helped), the user-info is
 * taken up to the last `@` before the path, and set through the URL's own setters, which encode
 * it. Never glued back into a string by hand. `undefined` for what is not a URL at all.
 */
export function parseUrl(raw: string): URL | undefined {
  return parseWritten(raw)?.url;
}

/** The parsed URL, and the password as written when it had to be read leniently. */
function parseWritten(raw: string): { url: URL; written?: string } | undefined {
  const text = raw.trim();
  try {
    return { url: new URL(text) };
  } catch {
    // Perhaps raw characters in the user-info: below.
  }
  const match = LENIENT_URL.exec(text);
  if (!match) return undefined;
  const [, scheme, userInfo, rest] = match;
  try {
    const url = new URL(`${scheme}//${rest}`);
    const colon = userInfo.indexOf(':');
    const user = colon < 0 ? userInfo : userInfo.slice(0, colon);
    const password = colon < 0 ? '' : userInfo.slice(colon + 1);
    // The setters percent-encode what must be (`#`, `?`, `@`, `:`), but leave `%` alone: encode the
    // intended value whole, so that a `%` written raw stays a `%`.
    url.username = encodeURIComponent(decodeOrRaw(user));
    url.password = encodeURIComponent(decodeOrRaw(password));
    return { url, written: password };
  } catch {
    return undefined;
  }
}
// scheme://user-info@host[:port][/path...]: the user-info runs to the last `@` before the first `/`.
const LENIENT_URL = /^([a-z][a-z0-9+.-]*:)\/\/([^/\s]*)@([^@/?#\s]+(?:[/?#][^\s]*)?)$/i;

/** The user name and password of a parsed URL, percent-decoded (a stray `%` is kept as written). */
export function credentialsOf(url: URL): { username: string; password: string } {
  return { username: decodeOrRaw(url.username), password: decodeOrRaw(url.password) };
}

/**
 * Remembers the password of a connection URL, if it has one, in the forms it can appear in (as
 * meant, as encoded in the URL, as written). A password equal to the user name
 * (postgres://postgres:postgres@...) is not remembered: masking it everywhere would hide the
 * user and check names in every line, and the URL pass still masks it in URLs.
 */
export function addSecretsFromUrl(url: string | undefined | null): void {
  if (typeof url !== 'string') return;
  const parsed = parseWritten(url);
  if (!parsed) return;
  const { username, password } = credentialsOf(parsed.url);
  if (!password || password === username) return;
  addKnownSecret(password);
  addKnownSecret(parsed.url.password);
  addKnownSecret(parsed.written);
}

/** Remembers a password given apart from a URL (a pool's `password` option), unless it is the user name. */
export function addPassword(password: unknown, username?: unknown): void {
  if (typeof password !== 'string' || !password || password === username) return;
  addKnownSecret(password);
}

/**
 * Remembers every value of a `key=value,key=value` header list (OTEL_EXPORTER_OTLP_HEADERS),
 * given as written (then as written, percent-decoded, and as OpenTelemetry's own parser sends it,
 * up to a `;`) or already parsed into a record (then as given and percent-encoded). Of an
 * `Authorization`-style value (`Bearer <token>`, `ApiKey <key>`), the credentials alone too.
 */
export function addSecretsFromHeaders(raw: string | Readonly<Record<string, string>> | undefined | null): void {
  if (raw !== null && typeof raw === 'object') {
    for (const [name, value] of Object.entries(raw)) {
      if (typeof value !== 'string' || !isSecretHeader(name, value)) continue;
      addHeaderSecret(value);
      addHeaderSecret(encodeURIComponent(value));
    }
    return;
  }
  if (typeof raw !== 'string' || !raw) return;
  for (const entry of raw.split(',')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const written = entry.slice(eq + 1).trim();
    if (!isSecretHeader(entry.slice(0, eq).trim(), decodeOrRaw(written))) continue;
    addHeaderSecret(written);
    addHeaderSecret(decodeOrRaw(written));
    const sent = written.split(';')[0].trim();
    if (sent !== written) {
      addHeaderSecret(sent);
      addHeaderSecret(decodeOrRaw(sent));
    }
  }
}

/** Header names that carry credentials. */
export const SECRET_HEADER = /authorization|cookie|token|secret|key|auth|pass|signature|credential/i;

/**
 * A header whose value is a secret: one named like a credential, whatever its length, or any
 * value long enough to be a key (`x-honeycomb-team`). `X-Scope-OrgID=1` or `x-tenant=production`
 * are not: masking them everywhere would turn `10.0.0.1` into `10.0.0.***`.
 */
function isSecretHeader(name: string, value: string): boolean {
  return SECRET_HEADER.test(name) || value.trim().length >= 16;
}

export function addHeaderSecret(value: string | undefined | null): void {
  if (typeof value !== 'string') return;
  const trimmed = value.trim();
  addKnownSecret(trimmed);
  addKnownSecret(/^[A-Za-z][\w.-]*\s+(\S+)$/.exec(trimmed)?.[1]);
}

/** True when `text` might hold something a shape rule masks: a cheap test before the regular expressions. */
const SHAPE_HINT = /[@]|pass|pwd|secret|token|sig|key|auth|credential|bearer|basic/i;

/** Masks credentials in free text: known secrets, URL user-info passwords, secret query parameters and pairs, bearer tokens. */
export function redact(text: string): string {
  // Known secrets first: once a URL pass has masked part of one, the rest would no longer match.
  let out = text;
  if (anyKnownSecret?.test(out)) out = maskKnownSecrets(out);
  if (!SHAPE_HINT.test(out)) return out;
  return out
    .replace(URL_CREDENTIALS, (m, scheme: string, user: string, password?: string) => (masked(password) ? m : `${scheme}${user ? `${user}:` : ''}${MASK}@`))
    .replace(SECRET_PARAMS, (m, name: string) => (masked(m.slice(name.length)) ? m : `${name}${MASK}`))
    .replace(SECRET_PAIRS, (m, name: string, separator: string, value: string) => (masked(value) ? m : `${name}${separator}${MASK}`))
    .replace(BEARER, `$1 ${MASK}`);
}

/** A value already masked, by this module or by instrumentation (`REDACTED`): left as it reads. */
function masked(value: string | undefined): boolean {
  return value === MASK || value === 'REDACTED';
}

function maskKnownSecrets(text: string): string {
  let out = text;
  for (const { value, token } of knownSecrets) {
    if (!out.includes(value)) continue;
    if (token) {
      token.lastIndex = 0;
      out = out.replace(token, MASK);
    } else {
      out = out.split(value).join(MASK);
    }
  }
  return out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Percent-decoding that never throws: a stray `%` keeps the value as written. */
function decodeOrRaw(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Message of anything thrown, redacted, on one line. An AggregateError (IPv4 and IPv6 both refused) gives its parts. */
export function errorMessage(error: unknown): string {
  try {
    if (error instanceof AggregateError && error.errors.length > 0) {
      return redact([...new Set(error.errors.map((e) => errorMessage(e)))].join('; '));
    }
    const raw = error instanceof Error ? error.message || error.name : String(error);
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    const text = code && !raw.includes(code) ? `${code}: ${raw}` : raw;
    return redact(String(text).slice(0, REDACTION_WINDOW).replace(/\s+/g, ' ').trim() || 'unknown error');
  } catch {
    // A thrown value whose text cannot be had (a Proxy, a throwing toString): the run still fails, with this.
    return 'an error that cannot be shown as text';
  }
}

/**
 * How much of a long text is redacted before it is cut to what is kept: wide enough that any
 * secret that starts in the kept part is seen whole by the redaction rules.
 */
export const REDACTION_WINDOW = 65_536;

/** A copy of `value` with every string redacted (a few levels deep: log fields and probe bodies are flat). */
export function redactDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redact(value);
  if (value === null || typeof value !== 'object') return value;
  // Deeper than any field the agent writes: not looked into, so not shown.
  if (depth > 4) return '[not shown: nested too deep]';
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactDeep(item, depth + 1)]));
}
