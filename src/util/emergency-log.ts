import { redact } from './redact';

/**
 * Writes one vigil JSON line to stderr without the logger, for failures before (or of) its
 * creation. Never throws.
 */
export function emergencyLog(code: string, msg: string, extra: Record<string, string> = {}): void {
  try {
    process.stderr.write(`${JSON.stringify({ level: 50, time: Date.now(), pid: process.pid, name: 'vigil', code, ...extra, msg: redact(msg) })}\n`);
  } catch {
    // Nowhere left to say it.
  }
}
