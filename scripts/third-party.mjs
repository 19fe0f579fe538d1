// What the bundle inlines, from esbuild's metafiles: every package with its version and licence,
// written as dist/THIRD_PARTY_NOTICES.md (with each licence text) and as a CycloneDX SBOM
// (dist/sbom.cdx.json). The build fails when a bundled package has no licence or one outside
// ALLOWED: a legal review, and `npm audit`-style tools, must be able to see what is inside.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Permissive licences whose notice is all they ask for. */
export const ALLOWED = new Set(['MIT', 'Apache-2.0', 'ISC', 'BSD-2-Clause', 'BSD-3-Clause', '0BSD', 'BlueOak-1.0.0']);

/** The package that holds `file` (an input path of a metafile): its folder under node_modules. */
function packageDirOf(input) {
  // A plugin's namespace (`semconv-shim:/abs/path`) before the path.
  const file = input.replace(/^[a-z-]+:(?=\/)/, '');
  const at = file.lastIndexOf('node_modules/');
  if (at < 0) return undefined;
  const rest = file.slice(at + 'node_modules/'.length).split('/');
  return file.slice(0, at) + 'node_modules/' + rest.slice(0, rest[0].startsWith('@') ? 2 : 1).join('/');
}

/** Packages inlined by the builds whose metafiles are given, by name@version, sorted. */
export function bundledPackages(metafiles) {
  const dirs = new Set();
  for (const metafile of metafiles) {
    for (const [output, { inputs }] of Object.entries(metafile.outputs)) {
      if (!output.endsWith('.js') && !output.endsWith('.mjs')) continue;
      for (const input of Object.keys(inputs)) {
        const dir = packageDirOf(input);
        if (dir) dirs.add(dir);
      }
    }
  }
  const packages = new Map();
  for (const dir of dirs) {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const licence = typeof pkg.license === 'string' ? pkg.license : pkg.license?.type ?? (Array.isArray(pkg.licenses) ? pkg.licenses.map((l) => l.type).join(' OR ') : undefined);
    const text = readdirSync(dir).find((name) => /^(licen[cs]e|copying)(\.|$)/i.test(name));
    packages.set(`${pkg.name}@${pkg.version}`, { name: pkg.name, version: pkg.version, licence, licenceText: text ? readFileSync(join(dir, text), 'utf8').trim() : undefined });
  }
  return [...packages.values()].sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}

/** Packages whose licence is missing or not one of ALLOWED (an `OR` of allowed ones passes). */
export function licenceProblems(packages) {
  return packages.filter((p) => !p.licence || !p.licence.replace(/[()]/g, '').split(/\s+OR\s+/).some((l) => ALLOWED.has(l.trim())))
    .map((p) => `${p.name}@${p.version}: licence ${JSON.stringify(p.licence ?? null)} is not one of ${[...ALLOWED].join(', ')}`);
}

/** Packages inlined in more than one version: two copies of one library, where the agent means one. */
export function versionProblems(packages) {
  const versions = new Map();
  for (const p of packages) versions.set(p.name, [...(versions.get(p.name) ?? []), p.version]);
  return [...versions].filter(([, list]) => list.length > 1).map(([name, list]) => `${name} is inlined in ${list.length} versions: ${list.join(', ')}`);
}

/** Writes the notice file and the SBOM into `outdir`; throws when a licence is missing or unexpected, or a package is inlined twice. */
export function writeThirdParty(metafiles, outdir, agent) {
  const packages = bundledPackages(metafiles);
  const problems = licenceProblems(packages);
  if (problems.length) throw new Error(`bundled packages with a licence vigil cannot ship:\n${problems.join('\n')}`);
  const twice = versionProblems(packages);
  if (twice.length) throw new Error(`bundled packages in two versions (pin one in package.json "overrides"):\n${twice.join('\n')}`);
  const notices = [
    `# Third-party software in ${agent.name} ${agent.version}`,
    '',
    `The files in dist/ inline these ${packages.length} packages (from the bundler's metafiles).`,
    '',
    '| package | version | licence |',
    '| --- | --- | --- |',
    ...packages.map((p) => `| ${p.name} | ${p.version} | ${p.licence} |`),
    '',
    ...packages.flatMap((p) => [`## ${p.name} ${p.version} (${p.licence})`, '', p.licenceText ? '```text' : `No licence file ships with the package; its package.json says ${p.licence}.`, ...(p.licenceText ? [p.licenceText, '```'] : []), '']),
  ].join('\n');
  writeFileSync(join(outdir, 'THIRD_PARTY_NOTICES.md'), notices);
  const sbom = {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    version: 1,
    metadata: { component: { type: 'library', name: agent.name, version: agent.version, purl: `pkg:npm/${agent.name}@${agent.version}` } },
    components: packages.map((p) => ({
      type: 'library',
      name: p.name,
      version: p.version,
      purl: `pkg:npm/${p.name.startsWith('@') ? `%40${p.name.slice(1)}` : p.name}@${p.version}`,
      licenses: [{ expression: p.licence }],
    })),
  };
  writeFileSync(join(outdir, 'sbom.cdx.json'), `${JSON.stringify(sbom, null, 2)}\n`);
  return packages;
}
