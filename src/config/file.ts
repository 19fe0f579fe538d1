import { extname } from 'node:path';
import type { ConfigProblem } from './settings';
import { readRegularFile } from '../util/read-file';
import { fileSchema, type FileConfig } from './file-schema';

/** Far more than any real configuration needs. */
const MAX_FILE_BYTES = 1024 * 1024;

type Issue = { path: PropertyKey[]; message: string; code: string; keys?: string[] };

/**
 * Reads and validates the VIGIL_CONFIG file (JSON, or YAML by extension). Each bad key gives a
 * problem naming it, and only that key is dropped: the rest of the file still applies.
 */
export function readConfigFile(path: string): { file: FileConfig; problems: ConfigProblem[] } {
  let data: unknown;
  const problems: ConfigProblem[] = [];
  try {
    const source = readRegularFile(path, MAX_FILE_BYTES).toString('utf8');
    if (['.yaml', '.yml'].includes(extname(path).toLowerCase())) {
      // The YAML parser is loaded only when a file needs it; its warnings are problems of ours,
      // not process warnings on the host's stderr.
      const document = (require('yaml') as typeof import('yaml')).parseDocument(source, { logLevel: 'silent' });
      if (document.errors.length) throw document.errors[0];
      for (const warning of document.warnings) problems.push(problem(`${path}: ${warning.message.split('\n')[0]}`));
      data = document.toJS();
    } else {
      data = JSON.parse(source);
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return { file: {}, problems: [problem(`cannot read ${path}: ${reason}; the file is ignored`)] };
  }
  for (let attempt = 0; attempt < 5; attempt++) {
    const parsed = fileSchema.safeParse(data ?? {});
    if (parsed.success) return { file: parsed.data as FileConfig, problems };
    for (const issue of parsed.error.issues as Issue[]) {
      const where = issue.path.map(String);
      if (issue.code === 'unrecognized_keys' && issue.keys) {
        for (const key of issue.keys) {
          problems.push(problem(`${path}: ${[...where, key].join('.')}: unknown setting; it is ignored`));
          removeAt(data, [...where, key]);
        }
      } else if (where.length > 0) {
        problems.push(problem(`${path}: ${where.join('.')}: ${issue.message}; the default is used`));
        removeAt(data, where);
      } else {
        problems.push(problem(`${path}: ${issue.message}; the file is ignored`));
        return { file: {}, problems };
      }
    }
  }
  return { file: {}, problems: [...problems, problem(`${path}: too many errors; the file is ignored`)] };
}

function problem(message: string): ConfigProblem {
  return { variable: 'VIGIL_CONFIG', message };
}

/** Deletes the value at `path`; a bad array element takes its whole array with it. */
function removeAt(data: unknown, path: string[]): void {
  let parent: unknown;
  let node = data;
  for (const key of path.slice(0, -1)) {
    parent = node;
    node = (node as Record<string, unknown> | undefined)?.[key];
  }
  if (Array.isArray(node) && path.length > 1) {
    delete (parent as Record<string, unknown>)[path[path.length - 2]];
  } else if (node && typeof node === 'object') {
    delete (node as Record<string, unknown>)[path[path.length - 1]];
  }
}
