// Masking a local sandbox's database: reads its schema, checks the rules against it and rewrites each
// masked table once, in one transaction. The rules and the SQL are ../../masking.ts (pure).
import * as crypto from "crypto";
import * as fs from "fs";
import { Client } from "pg";
import { checkMasking, DatabaseSchema, MaskRule, maskTableSql, parseMasking, rulesByTable, TableInfo } from "../../masking";

export { checkMasking, parseMasking } from "../../masking";

/** A client of a local server as the superuser. */
async function connect(port: number, database: string): Promise<Client> {
  const c = new Client({ host: "127.0.0.1", port, user: "postgres", database, connectionTimeoutMillis: 10_000 });
  await c.connect().catch((e: Error) => {
    throw new Error(`PostgreSQL on 127.0.0.1:${port} (database ${database}) cannot be reached: ${e.message}`);
  });
  return c;
}

/** The tables (base tables, every schema but the system's), their columns and foreign keys. */
export async function readSchema(client: Client): Promise<DatabaseSchema> {
  const cols = await client.query(
    `SELECT c.table_schema, c.table_name, c.column_name, c.data_type, c.is_nullable, c.character_maximum_length
       FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
      WHERE t.table_type = 'BASE TABLE' AND c.table_schema NOT IN ('pg_catalog', 'information_schema')
      ORDER BY c.table_schema, c.table_name, c.ordinal_position`,
  );
  const name = (schema: string, table: string) => (schema === "public" ? table : `${schema}.${table}`);
  const out: Record<string, { columns: Record<string, TableInfo["columns"][string]>; foreignKeys: NonNullable<TableInfo["foreignKeys"]>[number][] }> = {};
  for (const r of cols.rows) {
    const t = (out[name(r.table_schema, r.table_name)] ??= { columns: {}, foreignKeys: [] });
    t.columns[r.column_name] = {
      type: r.data_type === "USER-DEFINED" ? "user-defined" : r.data_type,
      notNull: r.is_nullable === "NO",
      ...(r.character_maximum_length ? { maxLength: Number(r.character_maximum_length) } : {}),
    };
  }
  const fks = await client.query(
    `SELECT s.nspname AS schema, t.relname AS table, rs.nspname AS ref_schema, rt.relname AS ref_table,
            (SELECT array_agg(a.attname::text ORDER BY k.o) FROM unnest(f.conkey) WITH ORDINALITY k(n, o)
               JOIN pg_attribute a ON a.attrelid = f.conrelid AND a.attnum = k.n) AS columns,
            (SELECT array_agg(a.attname::text ORDER BY k.o) FROM unnest(f.confkey) WITH ORDINALITY k(n, o)
               JOIN pg_attribute a ON a.attrelid = f.confrelid AND a.attnum = k.n) AS ref_columns
       FROM pg_constraint f
       JOIN pg_class t ON t.oid = f.conrelid JOIN pg_namespace s ON s.oid = t.relnamespace
       JOIN pg_class rt ON rt.oid = f.confrelid JOIN pg_namespace rs ON rs.oid = rt.relnamespace
      WHERE f.contype = 'f'`,
  );
  for (const r of fks.rows) {
    out[name(r.schema, r.table)]?.foreignKeys.push({ columns: r.columns, refTable: name(r.ref_schema, r.ref_table), refColumns: r.ref_columns });
  }
  return out;
}

/** Every database's schema on a server (templates and `postgres` left out), for a snapshot's record. */
export async function readSchemas(port: number): Promise<Record<string, DatabaseSchema>> {
  const c = await connect(port, "postgres");
  let names: string[];
  try {
    names = (await c.query("SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn AND datname <> 'postgres' ORDER BY 1")).rows.map((r) => r.datname);
  } finally {
    await c.end().catch(() => undefined);
  }
  const out: Record<string, DatabaseSchema> = {};
  for (const db of names) {
    const d = await connect(port, db);
    try {
      out[db] = await readSchema(d);
    } finally {
      await d.end().catch(() => undefined);
    }
  }
  return out;
}

/** The sandbox's salt: 32 hex digits kept in a file only its owner reads, made on first use. */
export function readOrMakeSalt(file: string): string {
  if (fs.existsSync(file)) {
    const s = fs.readFileSync(file, "utf8").trim();
    if (/^[0-9a-f]{32}$/.test(s)) return s;
    throw new Error(`the masking salt file ${file} is not 32 hex digits: remove it to make a new salt`);
  }
  const s = crypto.randomBytes(16).toString("hex");
  fs.writeFileSync(file, `${s}\n`, { mode: 0o600, flag: "wx" });
  return s;
}

export interface MaskOptions {
  /** The server's port on 127.0.0.1. */
  readonly port: number;
  readonly database: string;
  /** `switchyard:masking`, as given (checked here again against the live schema). */
  readonly rules: unknown;
  /** `switchyard:maskingStrict`. @default false */
  readonly strict?: boolean;
  /** The database's role: masking refuses `production`. */
  readonly role: string;
  /** The database as a refusal names it, e.g. the resource `shop-sandbox-db`. @default the URL */
  readonly label?: string;
  /** The file holding the sandbox's salt (made on first use). */
  readonly saltFile: string;
  readonly onProgress?: (line: string) => void;
}

export interface MaskedTable {
  readonly table: string;
  readonly columns: string[];
  readonly rows: number;
  readonly ms: number;
}

export interface MaskResult {
  readonly databaseUrl: string;
  readonly tables: MaskedTable[];
  readonly durationMs: number;
}

/**
 * Masks a sandbox's database: refuses a production one, checks the rules against the live schema
 * (nothing is changed when one is wrong), then rewrites each table with one statement, every table in
 * one transaction (foreign-key and user triggers off: a foreign key's two sides are hashed alike).
 */
export async function maskDatabase(o: MaskOptions): Promise<MaskResult> {
  const url = `postgres://postgres@127.0.0.1:${o.port}/${o.database}`;
  if (o.role === "production") {
    throw new Error(`masking refuses ${o.label ? `database ${o.label} (${url})` : `database ${url}`}: its role is production; masking runs only on a sandbox's copy`);
  }
  const parsed = parseMasking(o.rules);
  if (parsed.problems.length) throw new Error(parsed.problems.join("\n"));
  const started = Date.now();
  const c = await connect(o.port, o.database);
  try {
    const schema = await readSchema(c);
    const problems = checkMasking(parsed.rules, schema, { strict: o.strict, where: `database ${o.database} on 127.0.0.1:${o.port}` });
    if (problems.length) throw new Error(problems.join("\n"));
    const salt = readOrMakeSalt(o.saltFile);
    const tables: MaskedTable[] = [];
    await c.query("BEGIN");
    try {
      await c.query("SET LOCAL session_replication_role = replica");
      for (const [table, rules] of rulesByTable(parsed.rules)) {
        const t = Date.now();
        const r = await c.query(maskTableSql(table, rules, schema[table], salt)).catch((e: Error) => {
          throw new Error(`masking table ${table} failed: ${e.message}`);
        });
        tables.push({ table, columns: rules.map((x) => x.column), rows: r.rowCount ?? 0, ms: Date.now() - t });
        o.onProgress?.(`masked ${table} (${rules.map((x) => `${x.column}: ${x.rule}`).join(", ")}): ${r.rowCount} rows in ${Date.now() - t} ms`);
      }
      await c.query("COMMIT");
    } catch (e) {
      await c.query("ROLLBACK").catch(() => undefined);
      throw e;
    }
    return { databaseUrl: url, tables, durationMs: Date.now() - started };
  } finally {
    await c.end().catch(() => undefined);
  }
}
