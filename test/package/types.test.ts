// The published declarations (dist/types) are the curated public surface and nothing more:
// exactly the exports users call, each documented, naming no internal class and no type of a
// bundled library. A consumer compiling against them strictly is in tarball.test.ts.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { ROOT } from '../helpers/spawn-agent';

const TYPES = join(ROOT, 'dist', 'types');
const ENTRY = join(TYPES, 'index.d.ts');

const PUBLIC = [
  'CheckFn', 'CheckOptions', 'CheckResult', 'CheckSnapshot', 'ERROR_CODES', 'ErrorCode', 'getHealth', 'Group', 'OnceResult',
  'onStateChange', 'registerCheck', 'runChecksOnce', 'start', 'StartOptions', 'StateChange', 'Status', 'stop', 'unregisterCheck', 'VigilError',
];

const program = ts.createProgram([ENTRY], { strict: true, skipLibCheck: false, noEmit: true, types: ['node'], module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16 });
const checker = program.getTypeChecker();
const exported = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(ENTRY)!)!);
const resolve = (symbol: ts.Symbol) => (symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);

test('the declarations export exactly the public API, and compile strictly on their own', () => {
  assert.deepEqual(exported.map((s) => s.name).sort(), [...PUBLIC].sort());
  assert.deepEqual(ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')), []);
});

/** The declaration files users get: the entry, the API, the errors and the public types, nothing internal. */
const SHIPPED = ['api.d.ts', 'errors.d.ts', 'index.d.ts', 'types.d.ts'];

test('exactly the public declaration files are shipped; none imports a package or declares a class but VigilError', () => {
  const shipped = readdirSync(TYPES, { recursive: true }).map(String).filter((f) => f.endsWith('.d.ts'));
  assert.deepEqual(shipped.sort(), SHIPPED, 'no internal declaration is shipped');
  const reached = program.getSourceFiles().map((f) => f.fileName).filter((f) => f.startsWith(TYPES));
  assert.deepEqual(reached.sort(), SHIPPED.map((f) => join(TYPES, f)).sort(), 'the entry reaches every shipped file');
  for (const file of shipped) {
    const text = readFileSync(join(TYPES, file), 'utf8');
    for (const [, spec] of text.matchAll(/(?:from|import\(|require\()\s*['"]([^'"]+)['"]/g)) {
      assert.match(spec!, /^\.\.?\//, `${file} imports ${spec}: a type of a bundled library or of Node would leak to users`);
    }
    for (const [, name] of text.matchAll(/\bdeclare class (\w+)/g)) assert.equal(name, 'VigilError', `${file} declares class ${name}: internal`);
  }
});

test('the public types name only each other, the language and Node: no internal type, no pino, zod or OpenTelemetry type', () => {
  const seen = new Set<ts.Symbol | ts.Type>();
  const outside: string[] = [];
  const visitType = (type: ts.Type | undefined): void => {
    if (!type || seen.has(type)) return;
    seen.add(type);
    const symbol = type.aliasSymbol ?? type.getSymbol();
    if (symbol) visitSymbol(symbol);
    for (const t of type.aliasTypeArguments ?? []) visitType(t);
    if (type.isUnionOrIntersection()) type.types.forEach(visitType);
    if (type.flags & ts.TypeFlags.Object && (type as ts.ObjectType).objectFlags & ts.ObjectFlags.Reference) checker.getTypeArguments(type as ts.TypeReference).forEach(visitType);
    if (type.flags & ts.TypeFlags.TypeParameter) {
      visitType(checker.getBaseConstraintOfType(type));
      visitType(type.getDefault());
    }
    for (const info of checker.getIndexInfosOfType(type)) {
      visitType(info.keyType);
      visitType(info.type);
    }
    for (const member of type.getProperties()) visitSymbol(member);
    for (const signature of [...type.getCallSignatures(), ...type.getConstructSignatures()]) {
      for (const parameter of signature.typeParameters ?? []) visitType(parameter);
      signature.getParameters().forEach((p) => visitType(checker.getTypeOfSymbol(p)));
      visitType(signature.getReturnType());
    }
  };
  const visitSymbol = (symbol: ts.Symbol): void => {
    if (seen.has(symbol)) return;
    seen.add(symbol);
    // Synthetic members (a class's `prototype`) have no declaration of their own.
    if (!symbol.declarations?.length) return;
    const file = symbol.declarations[0]!.getSourceFile().fileName;
    if (!SHIPPED.some((f) => file === join(TYPES, f))) {
      // The language's own lib and @types/node (AbortSignal, Error, Promise) are every user's; stop there.
      if (!/[\\/]typescript[\\/]lib[\\/]|[\\/]@types[\\/]node[\\/]/.test(file)) outside.push(`${symbol.name} from ${file}`);
      return;
    }
    if (symbol.flags & ts.SymbolFlags.Type) visitType(checker.getDeclaredTypeOfSymbol(symbol));
    if (symbol.flags & ts.SymbolFlags.Value) visitType(checker.getTypeOfSymbol(symbol));
  };
  for (const symbol of exported) visitSymbol(resolve(symbol));
  assert.deepEqual(outside, []);
});

test('every export and every field of the public types has its documentation', () => {
  const undocumented: string[] = [];
  for (const symbol of exported.map(resolve)) {
    if (ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() === '') undocumented.push(symbol.name);
    if (symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.Class)) {
      // A class's own members: those it inherits (Error's) are documented where they are declared.
      const own = checker.getDeclaredTypeOfSymbol(symbol).getProperties().filter((m) => m.declarations?.some((d) => d.getSourceFile().fileName.startsWith(TYPES)));
      for (const member of own) {
        if (ts.displayPartsToString(member.getDocumentationComment(checker)).trim() === '') undocumented.push(`${symbol.name}.${member.name}`);
      }
    }
  }
  assert.deepEqual(undocumented, []);
});
