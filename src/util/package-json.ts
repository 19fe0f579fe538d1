import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Walks up from `dir` (at most `levels` folders) to the first package.json from which `pick`
 * takes a value; unreadable and unparsable files are passed over. Never throws.
 */
export function findPackageJson<T>(dir: string, pick: (pkg: Record<string, unknown>) => T | undefined, levels = 10): T | undefined {
  for (let depth = 0; depth < levels; depth++) {
    try {
      const value = pick(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>);
      if (value !== undefined) return value;
    } catch {
      // No package.json here: look one level up.
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}
