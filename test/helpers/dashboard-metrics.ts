// Reads the metric names a Grafana dashboard queries, so that tests can compare them with the
// names really exported (test/helpers/prometheus-names.ts). A small PromQL tokenizer, not a
// parser: it skips strings, label matchers `{...}`, ranges `[...]`, Grafana variables
// (`$var`, `${var}`), numbers and durations, the label lists of by / without / on / ignoring /
// group_left / group_right, function and aggregation names (an identifier followed by `(`),
// and keywords; every identifier left is a metric name. `{__name__="x"}` counts as `x`.

import { readFileSync } from 'node:fs';

const AGGREGATIONS = new Set([
  'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values',
  'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio',
]);
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan']);

const DURATION = /^(?:\d+(?:ms|[smhdwy]))+/;
const NUMBER = /^(?:0[xX][0-9a-fA-F]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)/;
const IDENTIFIER = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

/** Index just past the quoted string starting at `start`. */
function skipString(text: string, start: number): number {
  const quote = text[start];
  let i = start + 1;
  while (i < text.length && text[i] !== quote) i += text[i] === '\\' && quote !== '`' ? 2 : 1;
  return i + 1;
}

/** Index just past the bracket closing the one at `start` (strings inside are skipped). */
function skipGroup(text: string, start: number, open: string, close: string): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"' || c === "'" || c === '`') {
      i = skipString(text, i);
      continue;
    }
    if (c === open) depth++;
    else if (c === close && --depth === 0) return i + 1;
    i++;
  }
  return i;
}

function nextNonSpace(text: string, from: number): { char: string | undefined; index: number } {
  let i = from;
  while (i < text.length && /\s/.test(text[i]!)) i++;
  return { char: text[i], index: i };
}

/** The metric names one PromQL expression selects. */
export function metricNamesInExpr(expr: string): string[] {
  const names = new Set<string>();
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    const rest = expr.slice(i);
    if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      const eol = expr.indexOf('\n', i);
      i = eol === -1 ? expr.length : eol + 1;
    } else if (c === '"' || c === "'" || c === '`') {
      i = skipString(expr, i);
    } else if (c === '{') {
      const end = skipGroup(expr, i, '{', '}');
      const byName = /__name__\s*=\s*["'`]([a-zA-Z_:][a-zA-Z0-9_:]*)["'`]/.exec(expr.slice(i, end));
      if (byName) names.add(byName[1]!);
      i = end;
    } else if (c === '[') {
      i = skipGroup(expr, i, '[', ']');
    } else if (c === '$') {
      // Grafana variable: $name, ${name}, ${name:format}
      if (expr[i + 1] === '{') i = skipGroup(expr, i + 1, '{', '}');
      else i += 1 + (IDENTIFIER.exec(expr.slice(i + 1))?.[0].length ?? 0);
    } else if (/[0-9.]/.test(c) && (DURATION.test(rest) || NUMBER.test(rest))) {
      i += (DURATION.exec(rest) ?? NUMBER.exec(rest))![0].length;
    } else if (IDENTIFIER.test(rest)) {
      const word = IDENTIFIER.exec(rest)![0];
      i += word.length;
      const lower = word.toLowerCase();
      const next = nextNonSpace(expr, i);
      if (LABEL_LIST_KEYWORDS.has(lower)) {
        if (next.char === '(') i = skipGroup(expr, next.index, '(', ')');
      } else if (KEYWORDS.has(lower) || AGGREGATIONS.has(lower) || next.char === '(') {
        // keyword, aggregation or function call: not a metric
      } else {
        names.add(word);
      }
    } else {
      i++;
    }
  }
  return [...names];
}

interface DatasourceRef {
  type?: string;
  uid?: string;
}
interface Target {
  expr?: unknown;
  datasource?: DatasourceRef | string | null;
}
interface Panel {
  title?: string;
  type?: string;
  datasource?: DatasourceRef | string | null;
  panels?: Panel[];
  targets?: Target[];
}
interface TemplateVariable {
  type?: string;
  datasource?: DatasourceRef | string | null;
  query?: unknown;
  definition?: unknown;
}
export interface Dashboard {
  panels?: Panel[];
  templating?: { list?: TemplateVariable[] };
}

/** Every panel of a dashboard, the panels of (collapsed) rows included. */
export function panelsOf(dashboard: Dashboard): Panel[] {
  const out: Panel[] = [];
  const walk = (panels: Panel[] | undefined) => {
    for (const p of panels ?? []) {
      out.push(p);
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  return out;
}

/** The PromQL inside a Prometheus template-variable query (`label_values(expr, label)` etc.). */
function exprOfVariableQuery(query: string): string | undefined {
  const call = /^\s*(label_values|query_result)\s*\(([\s\S]*)\)\s*$/.exec(query);
  if (!call) return undefined; // label_names(), metrics(regex): no metric selector
  const args = call[2]!;
  if (call[1] === 'query_result') return args;
  // label_values(label) or label_values(expr, label): the expression is before the last top-level comma
  let depth = 0;
  let lastComma = -1;
  for (let i = 0; i < args.length; i++) {
    const ch = args[i]!;
    if (ch === '"' || ch === "'" || ch === '`') {
      i = skipString(args, i) - 1;
    } else if ('({['.includes(ch)) depth++;
    else if (')}]'.includes(ch)) depth--;
    else if (ch === ',' && depth === 0) lastComma = i;
  }
  return lastComma === -1 ? undefined : args.slice(0, lastComma);
}

/** False only for a data source known to be something else than Prometheus (Loki: LogQL). */
function isPrometheus(ds: DatasourceRef | string | null | undefined): boolean {
  if (ds === undefined || ds === null || typeof ds === 'string') return true;
  return ds.type === undefined || ds.type === 'prometheus';
}

/** Every PromQL expression of a dashboard: Prometheus panel targets, then query variables. */
export function promqlExpressionsOf(dashboard: Dashboard): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const panel of panelsOf(dashboard)) {
    for (const target of panel.targets ?? []) {
      if (!isPrometheus(target.datasource ?? panel.datasource)) continue;
      if (typeof target.expr === 'string' && target.expr.trim() !== '') {
        out.push({ where: `panel "${panel.title ?? '?'}"`, expr: target.expr });
      }
    }
  }
  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.type !== 'query' || !isPrometheus(variable.datasource)) continue;
    const q = variable.query;
    const text = typeof q === 'string' ? q : (q as { query?: unknown } | undefined)?.query;
    if (typeof text !== 'string') continue;
    const expr = exprOfVariableQuery(text);
    if (expr !== undefined) out.push({ where: 'template variable', expr });
  }
  return out;
}

/** The metric names used by all PromQL expressions of a dashboard JSON file, sorted. */
export function metricNamesInDashboard(path: string): string[] {
  const dashboard = JSON.parse(readFileSync(path, 'utf8')) as Dashboard;
  const names = new Set<string>();
  for (const { expr } of promqlExpressionsOf(dashboard)) for (const n of metricNamesInExpr(expr)) names.add(n);
  return [...names].sort();
}
