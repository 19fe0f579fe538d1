// Secrets reach output through URLs (user:password@host, ?password=...) and through driver
// error messages that echo them. Everything the agent prints or exports passes through here.

const MASK = '***';
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*)(?::[^\s/@]*)?@/gi;
const SECRET_PARAMS = /([?&;](?:password|passwd|pwd|pass|secret|token|access_token|api[_-]?key|apikey|auth|authorization|sig|signature)=)[^&;\s"']*/gi;
const SECRET_PAIRS = /\b(password|passwd|pwd|secret|token|api[_-]?key)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&"']+)/gi;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g;

/** Extra literal secrets (e.g. a password taken from configuration) masked wherever they appear. */
const knownSecrets = new Set<string>();

/** Remembers a literal secret so that `redact` masks it even outside a URL. Short values are ignored. */
export function addKnownSecret(secret: string | undefined | null): void {
  if (secret && secret.length >= 4) knownSecrets.add(secret);
}

/** Remembers the password of a connection URL, if it has one. */
export function addSecretsFromUrl(url: string): void {
  try {
    const parsed = new URL(url);
    addKnownSecret(decodeURIComponent(parsed.password));
    addKnownSecret(parsed.password);
  } catch {
    // Not a URL: nothing to remember.
  }
}

/** Masks credentials in free text: URL user-info passwords, secret query parameters, bearer tokens, known secrets. */
export function redact(text: string): string {
  let out = text
    .replace(URL_CREDENTIALS, (_m, scheme: string, user: string) => `${scheme}${user ? `${user}:` : ''}${MASK}@`)
    .replace(SECRET_PARAMS, `$1${MASK}`)
    .replace(SECRET_PAIRS, `$1$2${MASK}`)
    .replace(BEARER, `$1 ${MASK}`);
  for (const secret of knownSecrets) {
    if (out.includes(secret)) out = out.split(secret).join(MASK);
  }
  return out;
}

/** A URL fit for output: no password, no secret query parameters. Not a URL: redacted as text. */
export function redactUrl(url: string): string {
  return redact(url);
}

/** Message of anything thrown, redacted, on one line. An AggregateError (IPv4 and IPv6 both refused) gives its parts. */
export function errorMessage(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return redact([...new Set(error.errors.map((e) => errorMessage(e)))].join('; '));
  }
  const raw = error instanceof Error ? error.message || error.name : String(error);
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const text = code && !raw.includes(code) ? `${code}: ${raw}` : raw;
  return redact(text.replace(/\s+/g, ' ').trim() || 'unknown error');
}
