import { SDK_INFO } from '@opentelemetry/core';
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import type { Settings } from '../config/settings';
import { findPackageJson } from '../util/package-json';

declare const __VIGIL_VERSION__: string;
/** The agent's own version, set at build time. */
export const AGENT_VERSION = typeof __VIGIL_VERSION__ === 'string' ? __VIGIL_VERSION__ : '0.0.0-dev';

type AppPackage = { name?: string; version?: string; description?: string };
let appPackage: AppPackage | undefined;

/** Name and version of the host application, from the nearest package.json of its main script (read once). */
export function applicationPackage(): AppPackage {
  appPackage ??= findApplicationPackage();
  return appPackage;
}

function findApplicationPackage(): AppPackage {
  const starts = [process.argv[1] ? dirname(process.argv[1]) : undefined, process.cwd()].filter(Boolean) as string[];
  for (const start of starts) {
    const found = findPackageJson(start, (pkg): AppPackage | undefined => (typeof pkg.name === 'string'
      ? { name: pkg.name, version: typeof pkg.version === 'string' ? pkg.version : undefined, description: typeof pkg.description === 'string' ? pkg.description : undefined }
      : undefined), 6);
    if (found) return found;
  }
  return {};
}

/** One id per process: Prometheus' `instance` label and the report's serviceId. */
export const SERVICE_INSTANCE_ID = randomUUID();

/** The service name under the standard precedence: OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, package.json. */
export function serviceName(settings: Pick<Settings, 'OTEL_SERVICE_NAME' | 'OTEL_RESOURCE_ATTRIBUTES'>, pkg: { name?: string }): string {
  return settings.OTEL_SERVICE_NAME || settings.OTEL_RESOURCE_ATTRIBUTES['service.name'] || pkg.name || 'unknown_service:node';
}

/**
 * The resource's attributes but the host's: the agent's own, then OTEL_RESOURCE_ATTRIBUTES over
 * them, then the service name. Process attributes are chosen by hand: the upstream process
 * detector exports the full command line, which can carry passwords.
 */
export function baseAttributes(settings: Pick<Settings, 'OTEL_SERVICE_NAME' | 'OTEL_RESOURCE_ATTRIBUTES'>): Record<string, string | number> {
  const pkg = applicationPackage();
  return {
    ...(pkg.version ? { 'service.version': pkg.version } : {}),
    'service.instance.id': SERVICE_INSTANCE_ID,
    'process.pid': process.pid,
    'process.runtime.name': 'nodejs',
    'process.runtime.version': process.versions.node,
    'process.executable.name': process.title,
    // Name, language and version of the bundled SDK, as the SDK states them.
    'telemetry.sdk.name': SDK_INFO['telemetry.sdk.name'],
    'telemetry.sdk.language': SDK_INFO['telemetry.sdk.language'],
    'telemetry.sdk.version': SDK_INFO['telemetry.sdk.version'],
    'telemetry.distro.name': 'vigil-agent',
    'telemetry.distro.version': AGENT_VERSION,
    ...settings.OTEL_RESOURCE_ATTRIBUTES,
    'service.name': serviceName(settings, pkg),
  };
}
