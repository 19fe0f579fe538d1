// The kinds of value a setting can hold. Each kind parses the environment's text and checks a
// configuration file's value by the same rule, so both sources accept exactly the same values.

/** The longest delay a Node timer takes; a longer one fires at once (with a warning on the host's stderr). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface Kind<T> {
  /** The environment's text; undefined when it is not a value of this kind. */
  parse(raw: string): T | undefined;
  /** A configuration file's value (a JSON or YAML scalar); undefined when it is not a value of this kind. */
  accept(value: unknown): T | undefined;
  /** What a good value looks like, for the one line a bad one gives. */
  expected: string;
  fallback: T;
  /** How a bad value is shown in its line, when not as written (a URL's credentials masked). */
  show?(raw: string): string;
}

export function integer(fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): Kind<number> {
  const inRange = (n: number) => (Number.isInteger(n) && n >= min && n <= max ? n : undefined);
  return {
    fallback,
    expected: `an integer from ${min} to ${max}`,
    parse: (raw) => (/^\s*\d+\s*$/.test(raw) ? inRange(Number(raw)) : undefined),
    accept: (value) => (typeof value === 'number' ? inRange(value) : undefined),
  };
}

/** An integer whose absence means "as another setting says" (a per-signal limit, say). */
export function optionalInteger(min: number, max?: number): Kind<number | undefined> {
  const { parse, accept, expected } = integer(0, min, max);
  return { fallback: undefined, expected, parse, accept };
}

/** Milliseconds, bounded to what a Node timer can hold. */
export function duration(fallback: number, min: number, max = MAX_TIMER_MS): Kind<number> {
  return integer(fallback, min, Math.min(max, MAX_TIMER_MS));
}

export function ratio(fallback: number): Kind<number> {
  const inRange = (n: number) => (Number.isFinite(n) && n >= 0 && n <= 1 ? n : undefined);
  return {
    fallback,
    expected: 'a number from 0 to 1',
    parse: (raw) => (raw.trim() === '' ? undefined : inRange(Number(raw))),
    accept: (value) => (typeof value === 'number' ? inRange(value) : undefined),
  };
}

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off', ''];

/** True when the agent must not start at all: the kind of VIGIL_DISABLED, read before the settings table is loaded. */
export function isDisabled(env: NodeJS.ProcessEnv): boolean {
  return boolean(false).parse(env.VIGIL_DISABLED ?? '') === true;
}

export function boolean(fallback: boolean): Kind<boolean> {
  return {
    fallback,
    expected: 'true or false',
    parse: (raw) => {
      const v = raw.trim().toLowerCase();
      return TRUE.includes(v) ? true : FALSE.includes(v) ? false : undefined;
    },
    accept: (value) => (typeof value === 'boolean' ? value : undefined),
  };
}

export function oneOf<T extends string>(fallback: T, values: readonly T[]): Kind<T> {
  const parse = (raw: string) => {
    const v = raw.trim().toLowerCase() as T;
    return values.includes(v) ? v : undefined;
  };
  return {
    fallback,
    expected: `one of ${values.filter(Boolean).join(', ')}`,
    parse,
    accept: (value) => (typeof value === 'string' ? parse(value) : undefined),
  };
}

export function text(fallback = ''): Kind<string> {
  const parse = (raw: string) => raw.trim();
  return { fallback, expected: 'a string', parse, accept: (value) => (typeof value === 'string' && value.trim() ? parse(value) : undefined) };
}

/**
 * A URL as a line may show it: up to the last `@`, so that a password that breaks the URL (a raw
 * `#`, `/` or `@`) is hidden whole; without `@`, an authority that is not host[:port] (a password
 * cut off at a comma, `user:pass`) is hidden too.
 */
export function withoutCredentials(raw: string): string {
  if (raw.includes('@')) return raw.replace(/\/\/.*@/s, '//***@');
  return raw.replace(/\/\/([^/?#]*)/, (whole, authority: string) => (/^(?:\[[^\]]*\]|[^:]*)(?::\d*)?$/.test(authority) ? whole : '//***'));
}

/** A URL of one of `protocols` (`postgres:` ...), parsed by the WHATWG parser: never glued from parts. */
export function url(protocols: readonly string[]): Kind<string> {
  const parse = (raw: string) => {
    try {
      return protocols.includes(new URL(raw.trim()).protocol.toLowerCase()) ? raw.trim() : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    fallback: '',
    expected: `a URL of ${protocols.map((p) => `${p}//`).join(' or ')}`,
    parse,
    show: withoutCredentials,
    accept: (value) => (typeof value === 'string' ? parse(value) : undefined),
  };
}

/** A comma-separated list of words, each one of `allowed` when that is given. */
export function list<T extends string>(fallback: T[], allowed?: readonly T[]): Kind<T[]> {
  const parse = (raw: string) => {
    const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
    const words = allowed ? items.map((i) => i.toLowerCase()) : items;
    if (items.length === 0 || (allowed && !words.every((i) => allowed.includes(i as T)))) return undefined;
    return [...new Set(words)] as T[];
  };
  return {
    fallback,
    expected: allowed ? `a comma-separated list of ${allowed.join(', ')}` : 'a comma-separated list',
    parse,
    accept: (value) => (Array.isArray(value) && value.every((v) => typeof v === 'string') ? parse(value.join(',')) : typeof value === 'string' ? parse(value) : undefined),
  };
}

/**
 * `key=value,key=value` with percent-encoded values (W3C Baggage style), as OTLP headers and
 * resource attributes are written. One bad entry makes the whole value bad: the specification
 * says to discard it rather than guess.
 */
export function keyValues(): Kind<Readonly<Record<string, string>>> {
  const parse = (raw: string) => {
    const out: Record<string, string> = {};
    for (const item of raw.split(',')) {
      // `;` starts an entry's properties, which OpenTelemetry's own parser drops: so does this.
      const entry = item.split(';')[0];
      if (entry.trim() === '') continue;
      const eq = entry.indexOf('=');
      const key = eq > 0 ? entry.slice(0, eq).trim() : '';
      if (!/^[\w.\-/:]+$/.test(key)) return undefined;
      try {
        out[key] = decodeURIComponent(entry.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
    return Object.freeze(out);
  };
  return {
    fallback: Object.freeze({}),
    expected: 'key=value pairs separated by commas (values percent-encoded)',
    parse,
    accept: (value) => (typeof value === 'string' ? parse(value) : undefined),
  };
}
