// Secrets reach output through URLs (user:password@host, ?password=...) and through driver
// error messages that echo them. Everything the agent prints or exports passes through here.

const MASK = '***';
/** Word endings that make a query parameter or a `key=value` pair secret (client_secret, X-Amz-Signature, api_key ...). */
const SECRET_WORDS = 'password|passwd|pwd|pass|secret|token|signature|sig|key|auth|authorization|credential|credentials';
// User-info up to the last `@` of the authority: a password may itself contain `@`.
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#:@]*)(?::[^\s/?#]*)?@(?=[^\s/?#@]*(?:[/?#\s"']|$))/gi;
const SECRET_PARAMS = new RegExp(`([?&;#][\\w.-]*?(?:${SECRET_WORDS})=)[^&;#\\s"']*`, 'gi');
const SECRET_PAIRS = /\b([\w.-]*?(?:password|passwd|pwd|secret|token|api[_-]?key))(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&"']+)/gi;
const BEARER = /\b(Bearer|Basic)(?:\s+|%20)[A-Za-z0-9._~+/=-]{8,}/gi;

/** Query parameter names that instrumentation masks in exported URLs (`url.full`): exact names, the common ones. */
export const SECRET_QUERY_PARAMS = [
  'password', 'passwd', 'pwd', 'pass', 'secret', 'client_secret', 'token', 'access_token', 'refresh_token', 'id_token',
  'private_token', 'auth', 'authorization', 'key', 'api_key', 'apikey', 'api-key', 'sig', 'signature', 'Signature',
  'AWSAccessKeyId', 'X-Amz-Signature', 'X-Amz-Credential', 'X-Amz-Security-Token', 'X-Goog-Signature', 'X-Goog-Credential',
];

/** Extra literal secrets (e.g. a password taken from configuration) masked wherever they appear. */
const knownSecrets = new Set<string>();

/** Remembers a literal secret so that `redact` masks it even outside a URL. Short values are ignored. */
export function addKnownSecret(secret: string | undefined | null): void {
  if (secret && secret.length >= 4) knownSecrets.add(secret);
}

/**
 * Remembers the password of a connection URL, if it has one. A password equal to the user name
 * (postgres://postgres:postgres@...) is not remembered: masking it everywhere would hide the
 * user and check names in every line, and the URL pass still masks it in URLs.
 */
export function addSecretsFromUrl(url: string): void {
  try {
    const parsed = new URL(url);
    const password = decodeURIComponent(parsed.password);
    if (!password || password === decodeURIComponent(parsed.username)) return;
    addKnownSecret(password);
    addKnownSecret(parsed.password);
  } catch {
    // Not a URL: nothing to remember.
  }
}

/** Masks credentials in free text: URL user-info passwords, secret query parameters, bearer tokens, known secrets. */
export function redact(text: string): string {
  // Known secrets first: once a URL pass has masked part of one, the rest would no longer match.
  let out = text;
  for (const secret of knownSecrets) {
    if (out.includes(secret)) out = out.split(secret).join(MASK);
  }
  return out
    .replace(URL_CREDENTIALS, (_m, scheme: string, user: string) => `${scheme}${user ? `${user}:` : ''}${MASK}@`)
    .replace(SECRET_PARAMS, `$1${MASK}`)
    .replace(SECRET_PAIRS, `$1$2${MASK}`)
    .replace(BEARER, `$1 ${MASK}`);
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
