/*
 * The ovs-vsctl database commands on our configuration store: get, set,
 * remove, clear and list over the Open_vSwitch, Bridge and Interface tables'
 * other_config (and the read-only columns an OVS user lists). Pure: each
 * command takes a Config and returns the changed copy or the output, so a
 * command that fails changes nothing. Values print in OVSDB syntax
 * (`{mac-aging-time="300"}`) or, with --format json, as ovs-vsctl's JSON.
 */
import { Config, BridgeRecord, PortRecord } from './config-store';
import { VERSION } from '../lib/version';
import { DEFAULT_FLOW_CAPACITY, MAX_FLOW_CAPACITY } from '../dpif/xvs-abi';

export type TableName = 'Open_vSwitch' | 'Bridge' | 'Interface';
const TABLES: TableName[] = ['Open_vSwitch', 'Bridge', 'Interface'];

/** other_config keys the switch acts on, with their ranges; any other key is stored as OVS stores it. */
export const KNOWN_KEYS: Record<TableName, Record<string, { min: number; max: number; what: string }>> = {
  Open_vSwitch: {
    'max-idle': { min: 100, max: 86_400_000, what: 'ms a datapath flow may stay idle (default 10000)' },
    'flow-limit': { min: 1000, max: MAX_FLOW_CAPACITY, what: `ceiling of the dynamic datapath flow limit (default ${DEFAULT_FLOW_CAPACITY}; the fast path is sized for it when created)` },
  },
  Bridge: {
    'mac-aging-time': { min: 1, max: 86_400, what: 's a learned MAC lives (default 300)' },
    'mac-table-size': { min: 1, max: 1_000_000, what: 'learned MACs per bridge (default 8192)' },
  },
  Interface: {},
};

export function resolveTable(name: string | undefined): TableName {
  const t = TABLES.find((x) => x.toLowerCase() === (name ?? '').toLowerCase());
  if (!t) throw new Error(`unknown table "${name ?? ''}" (supported: ${TABLES.join(', ')})`);
  return t;
}

function clone(c: Config): Config { return JSON.parse(JSON.stringify(c)) as Config; }

/** The record a command names, as a mutable view into `c`. */
interface Row { table: TableName; name: string; otherConfig(): Record<string, string>; setOtherConfig(m: Record<string, string> | undefined): void; columns(): Record<string, Value> }

type Value = string | number | string[] | Record<string, string>;

function rows(c: Config, table: TableName): Row[] {
  if (table === 'Open_vSwitch') {
    return [{
      table, name: '.',
      otherConfig: () => c.otherConfig ?? {},
      setOtherConfig: (m) => { c.otherConfig = m; },
      columns: () => ({ bridges: Object.keys(c.bridges).sort(), other_config: c.otherConfig ?? {}, ovs_version: VERSION }),
    }];
  }
  if (table === 'Bridge') {
    return Object.entries(c.bridges).sort(([a], [b]) => a.localeCompare(b)).map(([name, b]: [string, BridgeRecord]) => ({
      table, name,
      otherConfig: () => b.otherConfig ?? {},
      setOtherConfig: (m) => { b.otherConfig = m; },
      columns: () => ({
        name, controller: b.controllers ?? [], datapath_type: 'xdp', fail_mode: b.failMode ? b.failMode : [],
        other_config: b.otherConfig ?? {}, ports: Object.keys(b.ports).sort(),
      }),
    }));
  }
  const out: Row[] = [];
  for (const b of Object.values(c.bridges)) {
    for (const [name, p] of Object.entries(b.ports) as [string, PortRecord][]) {
      out.push({
        table, name,
        otherConfig: () => p.otherConfig ?? {},
        setOtherConfig: (m) => { p.otherConfig = m; },
        columns: () => ({ name, ofport: p.ofport, options: (p.hook === 'auto' ? {} : { 'dp-hook': p.hook }) as Record<string, string>, other_config: p.otherConfig ?? {}, type: '' }),
      });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function row(c: Config, table: TableName, name: string | undefined): Row {
  if (table === 'Open_vSwitch' && (name === undefined || name === '.')) return rows(c, table)[0];
  const r = rows(c, table).find((x) => x.name === name);
  if (!r) throw new Error(`no row "${name ?? ''}" in table ${table}`);
  return r;
}

function checkKey(table: TableName, key: string, value: string): void {
  if (!key) throw new Error('other_config key must not be empty');
  const k = KNOWN_KEYS[table][key];
  if (!k) return;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < k.min || n > k.max) {
    throw new Error(`other_config:${key}="${value}": expected an integer ${k.min}..${k.max} (${k.what})`);
  }
}

/** `get TABLE RECORD other_config[:KEY]...` (only other_config and the listed columns are readable). */
export function dbGet(c: Config, table: TableName, name: string | undefined, specs: string[], opts: { ifExists?: boolean } = {}): string {
  const r = row(c, table, name);
  if (!specs.length) throw new Error("'get' command requires at least 3 arguments");
  return specs.map((spec) => {
    const [col, key] = splitColumnKey(spec);
    const cols = r.columns();
    if (!(col in cols)) throw new Error(`${table} does not contain a column whose name matches "${col}"`);
    const v = cols[col];
    if (key === undefined) return formatValue(v) + '\n';
    const m = v as Record<string, string>;
    if (typeof m !== 'object' || Array.isArray(m)) throw new Error(`cannot specify key to get for non-map column ${col}`);
    if (!(key in m)) {
      if (opts.ifExists) return '';
      throw new Error(`no key "${key}" in ${table} record "${r.name}" column ${col}`);
    }
    return formatAtom(m[key]) + '\n';
  }).join('');
}

/** `set TABLE RECORD other_config:KEY=VALUE... | other_config={K=V,...}` */
export function dbSet(c: Config, table: TableName, name: string | undefined, assignments: string[]): Config {
  const next = clone(c);
  const r = row(next, table, name);
  if (!assignments.length) throw new Error("'set' command requires at least 3 arguments");
  let m = { ...r.otherConfig() };
  for (const a of assignments) {
    const eq = a.indexOf('=');
    if (eq < 0) throw new Error(`"${a}": argument does not end in "=" followed by a value`);
    const [col, key] = splitColumnKey(a.slice(0, eq));
    const value = a.slice(eq + 1);
    if (col !== 'other_config') throw new Error(`"${col}": only other_config can be set in table ${table} here`);
    if (key !== undefined) {
      const v = unquote(value);
      checkKey(table, key, v);
      m[key] = v;
    } else {
      m = parseMap(value);
      for (const [k, v] of Object.entries(m)) checkKey(table, k, v);
    }
  }
  r.setOtherConfig(Object.keys(m).length ? m : undefined);
  return next;
}

/** `remove TABLE RECORD other_config KEY...` (also KEY=VALUE: removed only if it has that value). */
export function dbRemove(c: Config, table: TableName, name: string | undefined, col: string | undefined, keys: string[]): Config {
  if (col !== 'other_config') throw new Error(`"${col ?? ''}": only other_config keys can be removed in table ${table}`);
  if (!keys.length) throw new Error("'remove' command requires at least 4 arguments");
  const next = clone(c);
  const r = row(next, table, name);
  const m = { ...r.otherConfig() };
  for (const k of keys) {
    const eq = k.indexOf('=');
    if (eq < 0) delete m[unquote(k)];
    else if (m[unquote(k.slice(0, eq))] === unquote(k.slice(eq + 1))) delete m[unquote(k.slice(0, eq))];
  }
  r.setOtherConfig(Object.keys(m).length ? m : undefined);
  return next;
}

/** `clear TABLE RECORD other_config` */
export function dbClear(c: Config, table: TableName, name: string | undefined, cols: string[]): Config {
  if (!cols.length || cols.some((x) => x !== 'other_config')) throw new Error(`only other_config can be cleared in table ${table}`);
  const next = clone(c);
  row(next, table, name).setOtherConfig(undefined);
  return next;
}

/**
 * `list TABLE [RECORD...]` in ovs-vsctl's list format (`name : value`
 * lines, records separated by a blank line), or `--format json`
 * ({"data": [...], "headings": [...]}) or `--format table`.
 * `--columns=a,b` selects columns.
 */
export function dbList(c: Config, table: TableName, names: string[], opts: { format?: string; columns?: string[] } = {}): string {
  const rs = names.length ? names.map((n) => row(c, table, n)) : rows(c, table);
  const all = rs.length ? Object.keys(rs[0].columns()).sort() : Object.keys(rows(sample(), table)[0]?.columns() ?? {}).sort();
  const heads = opts.columns?.length ? opts.columns : all;
  for (const h of heads) if (!all.includes(h)) throw new Error(`${table} does not contain a column whose name matches "${h}"`);
  const data = rs.map((r) => { const cols = r.columns(); return heads.map((h) => cols[h]); });
  switch (opts.format ?? 'list') {
    case 'json': return JSON.stringify({ data: data.map((d) => d.map(jsonValue)), headings: heads }) + '\n';
    case 'table': {
      const cells = [heads, heads.map((h) => '-'.repeat(h.length)), ...data.map((d) => d.map(formatValue))];
      const w = heads.map((_, i) => Math.max(...cells.map((row2) => row2[i].length)));
      return cells.map((row2) => row2.map((x, i) => x.padEnd(w[i])).join(' ').trimEnd() + '\n').join('');
    }
    case 'list': {
      const w = Math.max(...heads.map((h) => h.length), 19);
      return data.map((d) => d.map((v, i) => `${heads[i].padEnd(w)} : ${formatValue(v)}\n`).join('')).join('\n');
    }
    default: throw new Error(`--format=${opts.format}: expected list, table or json`);
  }
}

/** A config with one row per table, so `list` of an empty table still knows its headings. */
function sample(): Config {
  return { bridges: { x: { ports: { x: { ofport: 1, hook: 'auto' } } } } };
}

function splitColumnKey(spec: string): [string, string | undefined] {
  const i = spec.indexOf(':');
  return i < 0 ? [spec, undefined] : [spec.slice(0, i), unquote(spec.slice(i + 1))];
}

function unquote(s: string): string {
  return /^".*"$/.test(s) ? s.slice(1, -1).replace(/\\(.)/g, '$1') : s;
}

/** `{k=v, k2="v 2"}` */
function parseMap(text: string): Record<string, string> {
  const body = text.trim();
  if (!/^\{.*\}$/.test(body)) throw new Error(`"${text}": expected a map such as {key=value, ...}`);
  const out: Record<string, string> = {};
  const inner = body.slice(1, -1).trim();
  if (!inner) return out;
  for (const part of inner.match(/(?:[^,"]|"(?:[^"\\]|\\.)*")+/g) ?? []) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new Error(`"${part.trim()}": expected key=value`);
    out[unquote(part.slice(0, eq).trim())] = unquote(part.slice(eq + 1).trim());
  }
  return out;
}

/** OVSDB string syntax: bare when it cannot be read as anything else, otherwise quoted. */
function formatAtom(s: string | number): string {
  if (typeof s === 'number') return String(s);
  return /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(s) && s !== 'true' && s !== 'false' ? s : JSON.stringify(s);
}

export function formatValue(v: Value): string {
  if (Array.isArray(v)) return `[${v.map(formatAtom).join(', ')}]`;
  if (typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${formatAtom(k)}=${formatAtom(v[k])}`).join(', ')}}`;
  return formatAtom(v);
}

/** ovs-vsctl's JSON: atoms as is, sets ["set",[...]] (one element: the atom), maps ["map",[[k,v],...]]. */
function jsonValue(v: Value): unknown {
  if (Array.isArray(v)) return v.length === 1 ? v[0] : ['set', v];
  if (typeof v === 'object') return ['map', Object.keys(v).sort().map((k) => [k, v[k]])];
  return v;
}
