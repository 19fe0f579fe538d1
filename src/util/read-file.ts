import { readFileSync, statSync } from 'node:fs';

/**
 * A file the agent was pointed at, read whole: a regular file of at most `maxBytes` only. A FIFO
 * would block the thread forever, a device (/dev/zero) would fill the memory; stat opens nothing.
 */
export function readRegularFile(path: string, maxBytes: number): Buffer {
  const stat = statSync(path);
  if (!stat.isFile()) throw new Error('not a regular file');
  if (stat.size > maxBytes) throw new Error(`${stat.size} bytes, more than the ${maxBytes} it may have`);
  return readFileSync(path);
}
