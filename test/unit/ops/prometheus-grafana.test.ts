import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { RejectionReason } from '../../../shared/domain/messages.js';
import { EXPORTED_METRICS, limitTypeOf } from '../../../shared/ops/metrics.js';
import { PROMTOOL, ensureGoTool } from '../../../scripts/lib/tools.js';

/**
 * The Prometheus rules and the Grafana dashboard of terraform/monitoring/ against the metrics
 * /metrics exports (EXPORTED_METRICS): promtool checks the rules and runs their unit tests, and
 * every metric name in a PromQL expression must be exported or recorded by a rule.
 */

const PROMETHEUS = join(process.cwd(), 'terraform', 'monitoring', 'prometheus');
const RULES = join(PROMETHEUS, 'rules.yml');
const RULE_TESTS = join(PROMETHEUS, 'rules.test.yml');
const DASHBOARD = join(process.cwd(), 'terraform', 'monitoring', 'grafana', 'sapphire-dashboard.json');

/** The seed system's alerts, as Prometheus alerts. */
const SEED_ALERTS = [
  { alert: 'SapphireAgentMarginUtilizationHigh', expr: 'agent_margin_utilization_ratio > 0.95', for: '1m', severity: 'warning' },
  { alert: 'SapphirePortfolioDrawdownHigh', expr: 'portfolio_drawdown_pct > 25', for: undefined, severity: 'critical' },
  { alert: 'SapphireDrawdownEvaluatorSilent', expr: 'drawdown_evaluator_last_run_age_seconds > 180', for: undefined, severity: 'critical' },
  {
    alert: 'SapphireDrawdownEvaluatorAgeMissing',
    expr: 'absent(drawdown_evaluator_last_run_age_seconds)',
    for: '5m',
    severity: 'critical',
  },
  { alert: 'SapphireDeadLettersWaiting', expr: 'dead_letter_messages > 0', for: '1m', severity: 'warning' },
] as const;

// ---------------------------------------------------------------------------------------------
// Metric names in PromQL

/** PromQL's functions and aggregation operators (Prometheus 2.x and 3.x). */
const FUNCTIONS = new Set(
  (
    'abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes clamp clamp_max clamp_min cos cosh ' +
    'count_over_time day_of_month day_of_week day_of_year days_in_month deg delta deriv end exp floor histogram_count ' +
    'histogram_fraction histogram_quantile histogram_stddev histogram_stdvar histogram_sum holt_winters hour idelta increase ' +
    'irate label_join label_replace last_over_time ln log10 log2 mad_over_time max_over_time min_over_time minute month ' +
    'pi predict_linear present_over_time quantile_over_time rad rate resets round scalar sgn sin sinh sort sort_desc ' +
    'sort_by_label sort_by_label_desc sqrt start stddev_over_time stdvar_over_time sum_over_time tan tanh time timestamp vector year ' +
    'sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio'
  ).split(' '),
);
/** Words of the language that are not metric names (case-insensitive). */
const KEYWORDS = new Set('by without on ignoring group_left group_right bool offset and or unless atan2 inf nan'.split(' '));
const STRING = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g;

/**
 * The metric names an expression reads: every identifier that is not a function, a keyword, a
 * label (inside {…} or a by/without/on/ignoring/group_left/group_right list), a string or a
 * duration. Grafana's variables ($agent, ${agent}, $__rate_interval) are dropped first.
 * A name chosen by `{__name__=~…}` or an unknown function throws: it cannot be checked.
 */
function metricNamesIn(expr: string): string[] {
  const names = new Set<string>();
  for (const [, op, quoted] of expr.matchAll(/\b__name__\s*(=~|!=|!~|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)/g)) {
    if (op !== '=') throw new Error(`cannot check metric names matched by ${op} in: ${expr}`);
    names.add((quoted as string).slice(1, -1));
  }
  const rest = expr
    .replace(STRING, '""')
    .replace(/#.*$/gm, ' ')
    .replace(/\$\{[^}]*\}|\$\w+|\[\[[\w:]+\]\]/g, ' ')
    .replace(/\{[^{}]*\}/g, ' ')
    .replace(/\[[^[\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)/gi, ' ');
  for (const [, number, identifier, call] of rest.matchAll(/(\d[\w.]*)|([A-Za-z_:][\w:]*)(\s*\()?/g)) {
    if (number !== undefined || identifier === undefined || KEYWORDS.has(identifier.toLowerCase())) continue;
    if (call !== undefined) {
      if (!FUNCTIONS.has(identifier.toLowerCase())) throw new Error(`unknown PromQL function ${identifier} in: ${expr}`);
      continue;
    }
    names.add(identifier);
  }
  return [...names];
}

const KINDS: Readonly<Record<string, 'gauge' | 'counter' | 'histogram'>> = EXPORTED_METRICS;

/** Whether /metrics exports the series: a gauge or counter by its name, a histogram by _bucket, _sum or _count. */
function isExported(name: string): boolean {
  const kind = KINDS[name];
  if (kind !== undefined) return kind !== 'histogram';
  const series = /^(.+)_(bucket|sum|count)$/.exec(name);
  return series !== null && KINDS[series[1] as string] === 'histogram';
}

/** The names in the expressions that are neither exported nor recorded, with the expression that uses each. */
function unknownMetrics(exprs: readonly string[], recorded: ReadonlySet<string>): string[] {
  return exprs.flatMap((expr) =>
    metricNamesIn(expr)
      .filter((name) => !isExported(name) && !recorded.has(name))
      .map((name) => `${name} in: ${expr}`),
  );
}

/** `limit_type="…"` values in the expressions. */
const limitTypesIn = (exprs: readonly string[]) =>
  exprs.flatMap((expr) => [...expr.matchAll(/\blimit_type\s*=\s*"([^"]*)"/g)].map((m) => m[1] as string));

// ---------------------------------------------------------------------------------------------
// The files

interface Rule {
  readonly record?: string;
  readonly alert?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}
interface RuleFile {
  readonly groups: readonly { readonly name: string; readonly rules: readonly Rule[] }[];
}
interface RuleTests {
  readonly rule_files: readonly string[];
  readonly tests: readonly {
    readonly alert_rule_test?: readonly { readonly alertname: string; readonly exp_alerts?: readonly unknown[] }[];
    readonly promql_expr_test?: readonly { readonly expr: string; readonly exp_samples?: readonly unknown[] }[];
  }[];
}
type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

const rulesOf = (file: RuleFile) => file.groups.flatMap((group) => group.rules);
const recordedBy = (file: RuleFile) => new Set(rulesOf(file).flatMap((rule) => (rule.record ? [rule.record] : [])));

/** Every `expr` of the dashboard, wherever it sits (panels, rows' panels, targets). */
function dashboardExprs(node: Json): string[] {
  if (Array.isArray(node)) return node.flatMap(dashboardExprs);
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) => (key === 'expr' && typeof value === 'string' ? [value] : dashboardExprs(value)));
}

/** The metric each query variable reads: only `label_values(metric, label)` is used. */
function variableExprs(dashboard: Json): string[] {
  const list = (
    (dashboard as { templating: { list: { type: string; query: string | { query: string } }[] } }).templating.list ?? []
  ).filter((v) => v.type === 'query');
  return list.map((variable) => {
    const query = typeof variable.query === 'string' ? variable.query : variable.query.query;
    const match = /^label_values\(\s*(.+?)\s*,\s*\w+\s*\)$/.exec(query);
    if (!match) throw new Error(`unsupported variable query: ${query}`);
    return match[1] as string;
  });
}

/** Where Grafana's variables stand in an expression, a value promtool can parse. */
const withGrafanaVariables = (expr: string) =>
  expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m').replace(/\$\{[^}]*\}|\$\w+/g, '.+');

const execFileAsync = promisify(execFile);

async function promtool(...args: string[]): Promise<string> {
  try {
    // Built from the Go module proxy into .cache/bin on first use (npm test's preflight does it first).
    const { stdout, stderr } = await execFileAsync(await ensureGoTool(PROMTOOL), args, { timeout: 30_000 });
    return stdout + stderr;
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${failure.stdout ?? ''}${failure.stderr ?? failure.message}`);
  }
}

let rules: RuleFile;
let ruleTests: RuleTests;
let dashboard: Json;

beforeAll(async () => {
  rules = parse(await readFile(RULES, 'utf8')) as RuleFile;
  ruleTests = parse(await readFile(RULE_TESTS, 'utf8')) as RuleTests;
  dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as Json;
});

// ---------------------------------------------------------------------------------------------

describe('metricNamesIn', () => {
  it('finds the metric names and nothing else: not functions, keywords, labels, strings, durations or variables', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.95, sum by (le, venue) (rate(venue_request_duration_seconds_bucket{venue=~"paper|binance", le!="+Inf"}[5m] offset 1h)))' +
          ' > bool on (venue) group_left (agent_id) max without (instance) (agent_margin_utilization_ratio @ start()) * 1e-3',
      ),
    ).toEqual(['venue_request_duration_seconds_bucket', 'agent_margin_utilization_ratio']);
    expect(
      metricNamesIn('60 * sum(increase(risk_limits_breached_total{agent_id=~"${agent}"}[$__rate_interval])) BY (limit_type) or vector(0)'),
    ).toEqual(['risk_limits_breached_total']);
    expect(metricNamesIn('limit_type:risk_limits_breached:rate5m unless on() portfolio_trading_halted')).toEqual([
      'limit_type:risk_limits_breached:rate5m',
      'portfolio_trading_halted',
    ]);
    expect(metricNamesIn('{__name__="portfolio_equity_usd", job="ops-api"}')).toEqual(['portfolio_equity_usd']);
  });

  it('reports wrong metric names: a typo, a histogram without its suffix, a suffix on a gauge, a name in {__name__=…}', () => {
    const exprs = [
      'sum(rate(risk_limit_breached_total[5m]))',
      'histogram_quantile(0.95, rate(signal_decision_latency_seconds[5m]))',
      'rate(portfolio_equity_usd_bucket[5m])',
      '{__name__="agent_margin_utilisation_ratio"} > 0.95',
      'sapphire:nothing_recorded:rate5m',
    ];
    expect(unknownMetrics(exprs, new Set(['sapphire:something:rate5m']))).toEqual([
      'risk_limit_breached_total in: sum(rate(risk_limit_breached_total[5m]))',
      'signal_decision_latency_seconds in: histogram_quantile(0.95, rate(signal_decision_latency_seconds[5m]))',
      'portfolio_equity_usd_bucket in: rate(portfolio_equity_usd_bucket[5m])',
      'agent_margin_utilisation_ratio in: {__name__="agent_margin_utilisation_ratio"} > 0.95',
      'sapphire:nothing_recorded:rate5m in: sapphire:nothing_recorded:rate5m',
    ]);
    expect(
      unknownMetrics(
        ['signal_decision_latency_seconds_count', 'venue_request_errors_total', 'sapphire:something:rate5m'],
        new Set(['sapphire:something:rate5m']),
      ),
    ).toEqual([]);
  });

  it('refuses what it cannot check: an unknown function, a name matched by a regex', () => {
    expect(() => metricNamesIn('rat(risk_limits_breached_total[5m])')).toThrow('unknown PromQL function rat');
    expect(() => metricNamesIn('{__name__=~"agent_.*"}')).toThrow('cannot check metric names matched by =~');
  });

  it('fails the real rules when one of their metric names is wrong', async () => {
    const broken = (await readFile(RULES, 'utf8')).replace('expr: dead_letter_messages > 0', 'expr: dead_letters_messages > 0');
    const file = parse(broken) as RuleFile;
    expect(
      unknownMetrics(
        rulesOf(file).map((rule) => rule.expr),
        recordedBy(file),
      ),
    ).toEqual(['dead_letters_messages in: dead_letters_messages > 0']);
  });
});

describe('terraform/monitoring/prometheus/rules.yml', () => {
  it('passes promtool check rules', async () => {
    expect(await promtool('check', 'rules', RULES)).toContain('SUCCESS');
  });

  it('passes its unit tests (promtool test rules rules.test.yml)', async () => {
    expect(ruleTests.rule_files).toEqual(['rules.yml']);
    expect(await promtool('test', 'rules', RULE_TESTS)).toContain('SUCCESS');
  });

  it('reads only exported metrics and its own recording rules', () => {
    const all = rulesOf(rules);
    expect(all.length).toBeGreaterThan(0);
    expect(
      unknownMetrics(
        all.map((rule) => rule.expr),
        recordedBy(rules),
      ),
    ).toEqual([]);
    for (const name of recordedBy(rules)) expect(isExported(name), `${name} shadows an exported metric`).toBe(false);
  });

  it('has the seed system alerts, with their thresholds and severities', () => {
    const alerts = new Map(rulesOf(rules).flatMap((rule) => (rule.alert ? [[rule.alert, rule] as const] : [])));
    for (const seed of SEED_ALERTS) {
      const rule = alerts.get(seed.alert);
      expect(rule, `alert ${seed.alert}`).toBeDefined();
      expect({ expr: rule?.expr, for: rule?.for, severity: rule?.labels?.severity }).toEqual({
        expr: seed.expr,
        for: seed.for,
        severity: seed.severity,
      });
    }
  });

  it('labels every alert critical or warning and says what happened and what to do', () => {
    for (const rule of rulesOf(rules).filter((r) => r.alert)) {
      expect(['critical', 'warning'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toMatch(/\S/);
      expect(rule.annotations?.description, rule.alert).toMatch(/\S/);
    }
  });

  it('tests every alert firing and not firing, and every recording rule', () => {
    const alertTests = ruleTests.tests.flatMap((group) => group.alert_rule_test ?? []);
    const exprTests = ruleTests.tests.flatMap((group) => group.promql_expr_test ?? []);
    for (const rule of rulesOf(rules)) {
      if (rule.alert) {
        const cases = alertTests.filter((t) => t.alertname === rule.alert);
        expect(
          cases.some((t) => (t.exp_alerts ?? []).length > 0),
          `${rule.alert} firing`,
        ).toBe(true);
        expect(
          cases.some((t) => (t.exp_alerts ?? []).length === 0),
          `${rule.alert} not firing`,
        ).toBe(true);
      } else {
        expect(
          exprTests.some((t) => t.expr === rule.record && (t.exp_samples ?? []).length > 0),
          `${rule.record} tested`,
        ).toBe(true);
      }
    }
  });
});

describe('terraform/monitoring/grafana/sapphire-dashboard.json', () => {
  it('reads only exported metrics and recording rules of rules.yml', () => {
    const exprs = [...dashboardExprs(dashboard), ...variableExprs(dashboard)];
    expect(exprs.length).toBeGreaterThan(20);
    expect(unknownMetrics(exprs, recordedBy(rules))).toEqual([]);
  });

  it('shows every metric family /metrics exports', () => {
    const used = new Set(dashboardExprs(dashboard).flatMap(metricNamesIn));
    const family = (name: string) => (KINDS[name] ? name : name.replace(/_(bucket|sum|count)$/, ''));
    const shown = new Set([...used].map(family));
    for (const rule of rulesOf(rules))
      if (rule.record && used.has(rule.record)) for (const name of metricNamesIn(rule.expr)) shown.add(family(name));
    expect(Object.keys(EXPORTED_METRICS).filter((name) => !shown.has(name))).toEqual([]);
  });

  it('filters on limit types that exist (the labels /metrics gives rejection reasons)', () => {
    const exprs = [...dashboardExprs(dashboard), ...rulesOf(rules).map((rule) => rule.expr)];
    for (const type of limitTypesIn(exprs)) expect(RejectionReason.options.map(limitTypeOf)).toContain(type);
  });

  it('queries the ${datasource} Prometheus variable everywhere', () => {
    const d = dashboard as { schemaVersion: number; uid: string; templating: { list: { name: string; type: string; query: unknown }[] } };
    expect(d.schemaVersion).toBe(39);
    expect(d.templating.list.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const datasources: Json[] = [];
    const walk = (node: Json): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node !== null && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) {
          if (key === 'datasource') datasources.push(value);
          else walk(value);
        }
      }
    };
    walk((dashboard as { panels: Json }).panels);
    expect(datasources.length).toBeGreaterThan(0);
    expect(new Set(datasources.map((ds) => JSON.stringify(ds)))).toEqual(
      new Set([JSON.stringify({ type: 'prometheus', uid: '${datasource}' })]),
    );
  });

  it('has PromQL that Prometheus parses (promtool check rules on its expressions)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sapphire-grafana-'));
    try {
      const exprs = dashboardExprs(dashboard).map(withGrafanaVariables);
      const file = { groups: [{ name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `dashboard:expr_${i}`, expr })) }] };
      await writeFile(join(dir, 'dashboard.rules.json'), JSON.stringify(file));
      expect(await promtool('check', 'rules', join(dir, 'dashboard.rules.json'))).toContain(`SUCCESS: ${exprs.length} rules found`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
