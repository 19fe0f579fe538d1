// A real Prometheus server (Debian's `prometheus` package; .ci/run installs it) on a free port of
// 127.0.0.1, scraping the given targets every second with the given rule files, its data in a
// temporary directory that stop() removes. Stopped by its own pid.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import YAML from 'yaml';
import { freePort } from './silent-tcp-server';

export interface PromSample {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

export interface PromAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}

export interface PrometheusServer {
  url: string;
  /** An instant query; throws on a Prometheus error (a query that does not parse, say). */
  query(expr: string): Promise<PromSample[]>;
  /** The alerts pending or firing now (/api/v1/alerts). */
  alerts(): Promise<PromAlert[]>;
  /** Prometheus' own log, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

export function assertPrometheusInstalled(): void {
  const found = spawnSync('prometheus', ['--version'], { encoding: 'utf8' });
  if (found.error) throw new Error("the prometheus server was not found on PATH: install Debian's `prometheus` package (apt-get install -y prometheus), as .ci/run does");
}

export async function startPrometheus(options: { job: string; targets: string[]; ruleFiles?: string[] }): Promise<PrometheusServer> {
  assertPrometheusInstalled();
  const dir = mkdtempSync(join(tmpdir(), 'vigil-prometheus-'));
  const config = {
    global: { scrape_interval: '1s', evaluation_interval: '1s', scrape_timeout: '900ms' },
    rule_files: options.ruleFiles ?? [],
    // honor_labels: the exposition's job and instance win, as with the collector's exporter (collector-config/prometheus.yml).
    scrape_configs: [{ job_name: options.job, honor_labels: true, static_configs: [{ targets: options.targets }] }],
  };
  writeFileSync(join(dir, 'prometheus.yml'), YAML.stringify(config));
  const port = await freePort();
  const child = spawn('prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { log = (log + chunk).slice(-20_000); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const api = async <T>(path: string): Promise<T> => {
    const body = (await (await fetch(`${url}${path}`)).json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error}`);
    return body.data;
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  for (const deadline = Date.now() + 30_000; ;) {
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus did not become ready on ${url}:\n${log}`);
    }
    await sleep(200);
  }
  return {
    url,
    query: async (expr) => (await api<{ result: PromSample[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result,
    alerts: async () => (await api<{ alerts: PromAlert[] }>('/api/v1/alerts')).alerts,
    log: () => log,
    stop,
  };
}
