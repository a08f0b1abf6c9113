// Per-color databases kept in sync: PostgreSQL logical replication between two local servers, one
// direction at a time. Plain TypeScript, no Pulumi.
//
// The replica starts from a base backup of the source stopped exactly at the position of a logical
// replication slot created for it (recovery_target_lsn = the slot's consistent point, stopping just
// before it). A transaction that committed before that point is in the copy; one that committed at
// or after it is streamed by the slot: no row is lost and none is applied twice.
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { Client } from "pg";
import { cloneMethodFor, copyTree } from "./clone";
import { chownToPg, destroyServer, serverStatus, startServer, stopServer } from "./postgres";
import { assertPortFree, sleep } from "./proc";

/** One side of a replicated pair: a color's PostgreSQL server on 127.0.0.1. */
export interface DbSide {
    readonly color: "blue" | "green";
    readonly port: number;
    readonly database: string;
}

/** The table the switchover writes a marker row into, to know the other side applied everything before it. */
export const MARKER_TABLE = "switchyard_replication_marker";

/**
 * A one-row table each side has for itself (never replicated): while its `open` is false, a trigger
 * on every replicated table refuses writes on that side (the idle color). Replication's apply
 * workers do not fire it. It is what keeps writes off the idle color, and what refuses a write that
 * waited through a switchover on the old side, even when the switchover was killed.
 */
export const GATE_TABLE = "switchyard_write_gate";

/**
 * A session setting that lets a migration write on the idle color (its record of applied migrations):
 * e.g. `PGOPTIONS="-c switchyard.migrating=on" node migrate.js up`.
 */
export const MIGRATING_SETTING = "switchyard.migrating";

/** Tables of ours, by name: the marker replicates, the gate never does; neither is an app table. */
const isOurs = (t: string) => t.endsWith(`.${MARKER_TABLE}`) || t.endsWith(`.${GATE_TABLE}`);

/** Names of the replication objects from one color to the other (slot and subscription share a name). */
export function replicationNames(from: DbSide["color"], to: DbSide["color"]): { slot: string; subscription: string; publication: string } {
    return { slot: `switchyard_${from}_to_${to}`, subscription: `switchyard_${from}_to_${to}`, publication: `switchyard_to_${to}` };
}

export const otherColor = (c: DbSide["color"]): DbSide["color"] => (c === "blue" ? "green" : "blue");

/** A connection string to a side, as a subscription on the other side uses it. */
export function conninfo(s: DbSide): string {
    return `host=127.0.0.1 port=${s.port} dbname=${s.database} user=postgres`;
}

export async function connect(s: DbSide, applicationName = "switchyard"): Promise<Client> {
    const c = new Client({ host: "127.0.0.1", port: s.port, user: "postgres", database: s.database, application_name: applicationName, connectionTimeoutMillis: 10_000 });
    await c.connect().catch((e: Error) => {
        throw new Error(`${s.color}'s database on 127.0.0.1:${s.port} cannot be reached: ${e.message}`);
    });
    return c;
}

async function withClient<T>(s: DbSide, f: (c: Client) => Promise<T>): Promise<T> {
    const c = await connect(s);
    try {
        return await f(c);
    } finally {
        await c.end().catch(() => undefined);
    }
}

const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;
const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;
/** `schema.table` quoted. */
const qualified = (t: string) => t.split(".").map(ident).join(".");

// ---------------------------------------------------------------------------------------------
// Schemas: what replicates, and what a change applied to one side alone would break (pure)
// ---------------------------------------------------------------------------------------------

export interface ColumnInfo {
    readonly name: string;
    /** `format_type` of the column, e.g. "text", "bigint", "character varying(20)". */
    readonly type: string;
    readonly notNull: boolean;
    /** A default, an identity or a generated expression. */
    readonly hasDefault: boolean;
    /** Generated columns are never replicated. */
    readonly generated: boolean;
}

export interface TableInfo {
    readonly columns: readonly ColumnInfo[];
    readonly hasPrimaryKey: boolean;
}

/** User tables by `schema.table`. */
export type Schema = Record<string, TableInfo>;

/** The user tables of a database, their columns and whether each has a primary key. */
export async function readSchema(c: Client): Promise<Schema> {
    const r = await c.query(
        `SELECT n.nspname || '.' || c.relname AS t, a.attname AS col, format_type(a.atttypid, a.atttypmod) AS type,
                a.attnotnull AS not_null, (a.atthasdef OR a.attidentity <> '') AS has_default, a.attgenerated <> '' AS generated,
                EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS pk
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
          WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
            AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
          ORDER BY 1, a.attnum`,
    );
    const out: Record<string, { columns: ColumnInfo[]; hasPrimaryKey: boolean }> = {};
    for (const row of r.rows) {
        const t = (out[row.t] ??= { columns: [], hasPrimaryKey: row.pk });
        t.columns.push({ name: row.col, type: row.type, notNull: row.not_null, hasDefault: row.has_default || row.generated, generated: row.generated });
    }
    return out;
}

/**
 * What a publication from `source` to `target` carries: every table of the source that the target
 * also has, with the columns both have (the target's column list), generated columns left out. Pure.
 * A column new on one side only is never published, so a column a migration added to green alone
 * does not break the stream back to blue.
 */
export function publishedColumns(source: Schema, target: Schema): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [t, info] of Object.entries(source)) {
        const there = target[t];
        if (!there || t.endsWith(`.${GATE_TABLE}`)) continue;
        const names = new Set(there.columns.filter((c) => !c.generated).map((c) => c.name));
        const cols = info.columns.filter((c) => !c.generated && names.has(c.name)).map((c) => c.name);
        if (cols.length > 0) out[t] = cols;
    }
    return out;
}

/**
 * The changes that would break replication between the two colors, each named; empty when none.
 * Pure. DDL is not replicated, so a migration applied to one color alone (`changed`, the candidate)
 * must be additive over the other (`base`): it keeps every table and column with its type, and a
 * column it adds is nullable or has a default (rows streamed from `base` do not carry it). Every
 * replicated table needs a primary key (updates and deletes are matched by it).
 *
 * @example
 * schemaProblems(blueSchema, greenSchema, { base: "blue", changed: "green" })
 * // ["column public.items.name is text on blue but integer on green: ..."]
 */
export function schemaProblems(base: Schema, changed: Schema, names: { base: string; changed: string } = { base: "blue", changed: "green" }): string[] {
    const problems: string[] = [];
    const additive = `a change applied to ${names.changed} alone must be additive`;
    for (const [t, info] of Object.entries(base)) {
        if (isOurs(t)) continue;
        if (!info.hasPrimaryKey) {
            problems.push(`table ${t} has no primary key on ${names.base}: its updates and deletes cannot be replicated; add a primary key`);
        }
        const there = changed[t];
        if (!there) {
            problems.push(`table ${t} exists on ${names.base} but not on ${names.changed} (dropped or renamed?): ${additive}`);
            continue;
        }
        if (!there.hasPrimaryKey && info.hasPrimaryKey) {
            problems.push(`table ${t} has no primary key on ${names.changed}: its updates and deletes cannot be replicated`);
        }
        const theirs = new Map(there.columns.map((c) => [c.name, c]));
        for (const col of info.columns) {
            const other = theirs.get(col.name);
            if (!other) {
                problems.push(`column ${t}.${col.name} exists on ${names.base} but not on ${names.changed} (dropped or renamed?): ${additive}`);
            } else if (other.type !== col.type) {
                problems.push(`column ${t}.${col.name} is ${col.type} on ${names.base} but ${other.type} on ${names.changed}: ${additive}`);
            } else if (other.generated !== col.generated) {
                problems.push(`column ${t}.${col.name} is ${col.generated ? "" : "not "}generated on ${names.base} but ${other.generated ? "" : "not "}generated on ${names.changed}`);
            }
        }
        const mine = new Set(info.columns.map((c) => c.name));
        for (const col of there.columns) {
            if (!mine.has(col.name) && col.notNull && !col.hasDefault) {
                problems.push(
                    `column ${t}.${col.name} is new on ${names.changed} and NOT NULL without a default: rows streamed from ${names.base} would be refused; give it a default or make it nullable`,
                );
            }
        }
    }
    return problems;
}

// ---------------------------------------------------------------------------------------------
// Lag: a reading (I/O) and its judgement (pure)
// ---------------------------------------------------------------------------------------------

export interface LagReading {
    readonly from: DbSide["color"];
    readonly to: DbSide["color"];
    /** The replication slot exists on the source. */
    readonly slotExists: boolean;
    /** A subscriber is connected and streaming. */
    readonly streaming: boolean;
    /** Bytes of WAL the source wrote that the replica has not yet applied. */
    readonly lagBytes: number;
    /** The replica's apply lag as PostgreSQL measured it (`pg_stat_replication.write_lag`), when it has one. */
    readonly lagMs?: number;
}

/** Reads the lag of the replication from `from` to `to` on the source's side. */
export async function readLag(from: DbSide, to: DbSide["color"]): Promise<LagReading> {
    const { slot } = replicationNames(from.color, to);
    return withClient(from, async (c) => {
        const r = await c.query(
            `SELECT r.pid IS NOT NULL AS streaming,
                    pg_wal_lsn_diff(pg_current_wal_lsn(), coalesce(r.write_lsn, s.confirmed_flush_lsn))::float8 AS bytes,
                    (extract(epoch FROM r.write_lag) * 1000)::float8 AS ms
               FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
              WHERE s.slot_name = $1`,
            [slot],
        );
        if (r.rows.length === 0) return { from: from.color, to, slotExists: false, streaming: false, lagBytes: 0 };
        const row = r.rows[0];
        return {
            from: from.color,
            to,
            slotExists: true,
            streaming: row.streaming,
            lagBytes: Math.max(0, Math.round(row.bytes ?? 0)),
            ...(row.ms !== null && row.ms !== undefined ? { lagMs: Math.round(row.ms) } : {}),
        };
    });
}

/** The most lag a switchover starts with: its writes pause while the replica catches up. */
export interface LagLimit {
    /** @default 1048576 (1 MiB) */
    readonly maxBytes?: number;
    /** @default 1000 */
    readonly maxMs?: number;
}

export const DEFAULT_LAG_LIMIT = { maxBytes: 1024 * 1024, maxMs: 1000 } as const;

export function formatBytes(n: number): string {
    return n < 1024 ? `${n} bytes` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * Whether a switchover may start at this lag, and why not. Pure.
 * @example judgeLag({ from: "blue", to: "green", slotExists: true, streaming: true, lagBytes: 3_000_000 })
 * // { ok: false, message: "green is 2.9 MiB behind blue (limit 1.0 MiB): ..." }
 */
export function judgeLag(r: LagReading, limit: LagLimit = {}): { ok: boolean; message: string } {
    const maxBytes = limit.maxBytes ?? DEFAULT_LAG_LIMIT.maxBytes;
    const maxMs = limit.maxMs ?? DEFAULT_LAG_LIMIT.maxMs;
    const behind = `${r.to} is ${formatBytes(r.lagBytes)}${r.lagMs !== undefined ? ` (${r.lagMs} ms)` : ""} behind ${r.from}`;
    if (!r.slotExists) {
        return { ok: false, message: `no replication from ${r.from} to ${r.to}: the slot ${replicationNames(r.from, r.to).slot} does not exist on ${r.from}` };
    }
    if (!r.streaming) {
        return { ok: false, message: `replication from ${r.from} to ${r.to} is not streaming (subscription disabled or its worker down): ${behind}` };
    }
    if (r.lagBytes > maxBytes) {
        return { ok: false, message: `${behind} (limit ${formatBytes(maxBytes)}): the switchover waits until it catches up` };
    }
    if (r.lagMs !== undefined && r.lagMs > maxMs) {
        return { ok: false, message: `${behind} (limit ${maxMs} ms): the switchover waits until it catches up` };
    }
    return { ok: true, message: `${behind}: within the limit` };
}

// ---------------------------------------------------------------------------------------------
// The write gate
// ---------------------------------------------------------------------------------------------

/** The app tables of a schema (ours left out), `schema.table`. */
export function appTables(s: Schema): string[] {
    return Object.keys(s).filter((t) => !isOurs(t)).sort();
}

/** Creates the gate (open), the marker table, and the gate's trigger on every app table. Idempotent. */
export async function installWriteGate(c: Client): Promise<void> {
    await c.query(`CREATE TABLE IF NOT EXISTS ${ident(MARKER_TABLE)} (token text PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${ident(GATE_TABLE)} (one boolean PRIMARY KEY DEFAULT true CHECK (one), open boolean NOT NULL)`);
    await c.query(`INSERT INTO ${ident(GATE_TABLE)} (open) VALUES (true) ON CONFLICT DO NOTHING`);
    await c.query(`CREATE OR REPLACE FUNCTION switchyard_write_gate() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  IF NOT coalesce((SELECT open FROM public.${ident(GATE_TABLE)}), true)
     AND coalesce(current_setting('${MIGRATING_SETTING}', true), '') <> 'on' THEN
    RAISE EXCEPTION 'writes are refused here: this database is the idle color of a replicated pair (its write gate is closed); writes go to the live color'
      USING ERRCODE = 'read_only_sql_transaction';
  END IF;
  RETURN NULL;
END $f$`);
    for (const t of appTables(await readSchema(c))) {
        await c.query(`CREATE OR REPLACE TRIGGER switchyard_write_gate BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${qualified(t)} FOR EACH STATEMENT EXECUTE FUNCTION switchyard_write_gate()`);
    }
}

/** Opens or closes a side's write gate (committed at once). */
export async function setWriteGate(c: Client, open: boolean): Promise<void> {
    await c.query(`UPDATE ${ident(GATE_TABLE)} SET open = $1`, [open]);
}

export async function writeGateOpen(c: Client): Promise<boolean> {
    const r = await c.query(`SELECT open FROM ${ident(GATE_TABLE)}`);
    return r.rows[0]?.open ?? true;
}

// ---------------------------------------------------------------------------------------------
// Publications, slots, subscriptions
// ---------------------------------------------------------------------------------------------

/** `CREATE PUBLICATION … FOR TABLE t (cols), …` for the given column lists. Pure. */
export function publicationSql(name: string, tables: Record<string, string[]>): string {
    const list = Object.entries(tables)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([t, cols]) => `${qualified(t)} (${cols.map(ident).join(", ")})`);
    if (list.length === 0) throw new Error(`publication ${name} would carry no table`);
    return `CREATE PUBLICATION ${ident(name)} FOR TABLE ${list.join(", ")}`;
}

/** (Re)creates on `from` the publication to `to`, carrying the columns both sides have. */
export async function preparePublication(from: DbSide, to: DbSide): Promise<Record<string, string[]>> {
    const [mine, theirs] = await Promise.all([withClient(from, readSchema), withClient(to, readSchema)]);
    const tables = publishedColumns(mine, theirs);
    const { publication } = replicationNames(from.color, to.color);
    await withClient(from, async (c) => {
        await c.query("BEGIN");
        await c.query(`DROP PUBLICATION IF EXISTS ${ident(publication)}`);
        await c.query(publicationSql(publication, tables));
        await c.query("COMMIT");
    });
    return tables;
}

/** Creates a logical slot; returns its consistent point. */
export async function createSlot(c: Client, slot: string): Promise<string> {
    const r = await c.query("SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
    return r.rows[0].lsn;
}

/** Drops a slot if it exists, waiting a moment for a walsender that still holds it to go. */
export async function dropSlot(s: DbSide, slot: string): Promise<void> {
    await withClient(s, async (c) => {
        for (let i = 0; ; i++) {
            const r = await c.query("SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1", [slot]);
            if (r.rows.length === 0) return;
            if (r.rows[0].active_pid) {
                await c.query("SELECT pg_terminate_backend($1)", [r.rows[0].active_pid]);
                if (i > 200) throw new Error(`slot ${slot} on ${s.color} stays in use by pid ${r.rows[0].active_pid}`);
                await sleep(10);
                continue;
            }
            await c.query("SELECT pg_drop_replication_slot($1)", [slot]);
            return;
        }
    });
}

/** Subscribes `to` to `from`'s publication through the existing slot: nothing copied, nothing created on `from`. */
export async function subscribe(from: DbSide, to: DbSide): Promise<void> {
    const n = replicationNames(from.color, to.color);
    await withClient(to, (c) =>
        c.query(
            `CREATE SUBSCRIPTION ${ident(n.subscription)} CONNECTION ${literal(conninfo(from))} PUBLICATION ${ident(n.publication)} ` +
                `WITH (copy_data = false, create_slot = false, slot_name = ${literal(n.slot)}, enabled = true)`,
        ),
    );
}

/** Drops `to`'s subscription to `from` without touching `from` (its slot is dropped apart). */
export async function unsubscribe(c: Client, from: DbSide["color"], to: DbSide["color"]): Promise<void> {
    const { subscription } = replicationNames(from, to);
    const r = await c.query("SELECT 1 FROM pg_subscription WHERE subname = $1", [subscription]);
    if (r.rows.length === 0) return;
    await c.query(`ALTER SUBSCRIPTION ${ident(subscription)} DISABLE`);
    await c.query(`ALTER SUBSCRIPTION ${ident(subscription)} SET (slot_name = NONE)`);
    await c.query(`DROP SUBSCRIPTION ${ident(subscription)}`);
}

/** Pauses or resumes `to`'s subscription to `from` (a paused one falls behind; the gate sees it). */
export async function setSubscriptionEnabled(from: DbSide["color"], to: DbSide, enabled: boolean): Promise<void> {
    const { subscription } = replicationNames(from, to.color);
    await withClient(to, (c) => c.query(`ALTER SUBSCRIPTION ${ident(subscription)} ${enabled ? "ENABLE" : "DISABLE"}`));
}

/** Waits until a subscriber streams from `from`'s slot to `to`; returns the milliseconds waited. */
export async function waitStreaming(from: DbSide, to: DbSide["color"], timeoutMs = 30_000): Promise<number> {
    const started = Date.now();
    const { slot } = replicationNames(from.color, to);
    return withClient(from, async (c) => {
        for (;;) {
            const r = await c.query("SELECT active FROM pg_replication_slots WHERE slot_name = $1", [slot]);
            if (r.rows[0]?.active) return Date.now() - started;
            if (Date.now() - started > timeoutMs) throw new Error(`replication from ${from.color} to ${to} did not start streaming within ${timeoutMs} ms`);
            await sleep(20);
        }
    });
}

/** Which way data flows now: the subscriptions each side has, enabled or not. */
export interface ReplicationState {
    /** Enabled subscriptions, as "blue→green". */
    readonly streams: string[];
    /** Disabled subscriptions. */
    readonly paused: string[];
    /** Slots by side. */
    readonly slots: Record<DbSide["color"], string[]>;
}

export async function readReplicationState(blue: DbSide, green: DbSide): Promise<ReplicationState> {
    const streams: string[] = [];
    const paused: string[] = [];
    const slots = { blue: [] as string[], green: [] as string[] };
    for (const s of [blue, green]) {
        await withClient(s, async (c) => {
            const subs = await c.query("SELECT subname, subenabled FROM pg_subscription WHERE subname LIKE 'switchyard\\_%'");
            for (const row of subs.rows) {
                const m = /^switchyard_(blue|green)_to_(blue|green)$/.exec(row.subname);
                if (m) (row.subenabled ? streams : paused).push(`${m[1]}→${m[2]}`);
            }
            const sl = await c.query("SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE 'switchyard\\_%' ORDER BY 1");
            slots[s.color] = sl.rows.map((r) => r.slot_name);
        });
    }
    return { streams: streams.sort(), paused: paused.sort(), slots };
}

// ---------------------------------------------------------------------------------------------
// The replica: a copy of the source stopped at a slot's position
// ---------------------------------------------------------------------------------------------

/** Turns on `wal_level = logical` (a restart of the server when it was off); returns whether it restarted. */
export async function ensureLogicalWal(dataDir: string, s: DbSide): Promise<boolean> {
    // The launcher starts a new subscription's worker at most once per wal_retrieve_retry_interval
    // (5 s by default): short, so the way back streams soon after a switchover. Copied to the replica.
    await withClient(s, async (c) => {
        await c.query("ALTER SYSTEM SET wal_retrieve_retry_interval = '200ms'");
        await c.query("SELECT pg_reload_conf()");
    });
    const level = await withClient(s, async (c) => (await c.query("SHOW wal_level")).rows[0].wal_level);
    if (level === "logical") return false;
    await withClient(s, (c) => c.query("ALTER SYSTEM SET wal_level = logical"));
    await stopServer(dataDir);
    await startServer(dataDir, s.port);
    return true;
}

/** Entries of a data directory a base backup leaves out. */
const SKIPPED = new Set(["pg_wal", "postmaster.pid", "postmaster.opts", "pg_replslot", "pg_stat_tmp", "recovery.signal", "standby.signal"]);

export interface ReplicaSnapshot {
    readonly dir: string;
    /** The slot's consistent point: the copy holds every commit before it, the slot streams every one from it. */
    readonly lsn: string;
    readonly method: "reflink" | "copy";
    readonly durationMs: number;
}


/**
 * Takes the replica's snapshot of a running source without stopping it: a base backup, then a
 * logical slot created just after it, and the WAL up to the slot's point. The snapshot recovers to
 * exactly that point (recovery_target_lsn, stopping just before it) and is promoted there.
 * The publication to `to` is created first (a slot decodes with the catalog of its own time).
 */
export async function takeReplicaSnapshot(o: { dataDir: string; source: DbSide; to: DbSide["color"]; snapshotDir: string }): Promise<ReplicaSnapshot> {
    if (fs.existsSync(o.snapshotDir)) throw new Error(`snapshot ${o.snapshotDir} already exists: choose another name`);
    const started = Date.now();
    const names = replicationNames(o.source.color, o.to);
    const partial = `${o.snapshotDir}.partial`;
    fs.rmSync(partial, { recursive: true, force: true });
    fs.mkdirSync(partial, { recursive: true });
    const data = path.join(partial, "data");
    fs.mkdirSync(data);
    let method = cloneMethodFor(partial);
    const c = await connect(o.source);
    try {
        await installWriteGate(c);
        const schema = await readSchema(c);
        const problems = schemaProblems(schema, schema, { base: o.source.color, changed: o.to });
        if (problems.length) throw new Error(`${o.source.color}'s database cannot be replicated: ${problems.join("; ")}`);
        await c.query(`DROP PUBLICATION IF EXISTS ${ident(names.publication)}`);
        await c.query(publicationSql(names.publication, publishedColumns(schema, schema)));
        const exists = await c.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", [names.slot]);
        if (exists.rows.length) throw new Error(`slot ${names.slot} already exists on ${o.source.color}: a replica of it exists; drop it first`);

        await c.query("SELECT pg_backup_start($1, true)", [`switchyard replica ${path.basename(o.snapshotDir)}`]);
        let label: string;
        try {
            const entries = fs.readdirSync(o.dataDir).filter((e) => !SKIPPED.has(e));
            const used = await Promise.all(entries.map((e) => copyTree(path.join(o.dataDir, e), path.join(data, e), method)));
            if (used.includes("copy")) method = "copy";
        } finally {
            const r = await c.query("SELECT labelfile FROM pg_backup_stop(false)");
            label = r.rows[0].labelfile;
        }
        fs.writeFileSync(path.join(data, "backup_label"), label);
        // The slot after the backup's end, so the copy can recover up to its point.
        const lsn = await createSlot(c, names.slot);
        // Everything up to the slot's point on disk, in whole segments.
        await c.query("SELECT pg_switch_wal()");
        const first = /START WAL LOCATION: .* \(file ([0-9A-F]{24})\)/.exec(label)?.[1];
        if (!first) throw new Error(`unexpected backup label from pg_backup_stop:\n${label}`);
        const walSrc = path.join(o.dataDir, "pg_wal");
        const walDest = path.join(data, "pg_wal");
        fs.mkdirSync(path.join(walDest, "archive_status"), { recursive: true });
        const segments = fs.readdirSync(walSrc).filter((f) => (/^[0-9A-F]{24}$/.test(f) && f.slice(8) >= first.slice(8)) || f.endsWith(".history"));
        await Promise.all(segments.map((s) => copyTree(path.join(walSrc, s), path.join(walDest, s), method)));
        for (const e of ["pg_replslot", "pg_stat_tmp"]) fs.mkdirSync(path.join(data, e), { recursive: true });
        // Recover to exactly the slot's point, then become a server of its own.
        fs.writeFileSync(path.join(data, "recovery.signal"), "");
        fs.appendFileSync(
            path.join(data, "postgresql.auto.conf"),
            [
                "# switchyard: the replica recovers to its slot's position",
                "restore_command = 'false'",
                `recovery_target_lsn = '${lsn}'`,
                "recovery_target_inclusive = off",
                "recovery_target_action = 'promote'",
                "",
            ].join("\n"),
        );
        const meta = { lsn, slot: names.slot, from: o.source.color, to: o.to, createdAt: new Date().toISOString(), method, durationMs: Date.now() - started };
        fs.writeFileSync(path.join(partial, "meta.json"), JSON.stringify(meta, null, 2) + "\n");
        spawnSync("chmod", ["-R", "a-w", partial]);
        fs.renameSync(partial, o.snapshotDir);
        return { dir: o.snapshotDir, lsn, method, durationMs: meta.durationMs };
    } catch (e) {
        await dropSlot(o.source, names.slot).catch(() => undefined);
        spawnSync("chmod", ["-R", "u+w", partial]);
        fs.rmSync(partial, { recursive: true, force: true });
        throw new Error(`replica snapshot of ${o.source.color} failed: ${(e as Error).message}`);
    } finally {
        await c.end().catch(() => undefined);
    }
}

export interface Replica {
    readonly dataDir: string;
    readonly port: number;
    readonly pid: number;
    /** Where replication starts: the snapshot's position. */
    readonly lsn: string;
    readonly method: "reflink" | "copy";
    /** Milliseconds from the start of the snapshot to a streaming replica. */
    readonly durationMs: number;
}

/**
 * Makes `to`'s server a replica of `source`: snapshot (a thin clone where the filesystem allows),
 * recovery to the slot's position, promotion, and a subscription from that position on (no copy of
 * data, no new slot). Turns on `wal_level = logical` on the source first (a restart when it was
 * off). On failure, removes what it made.
 */
export async function startReplica(o: { sourceDataDir: string; source: DbSide; to: DbSide; dataDir: string; snapshotDir: string }): Promise<Replica> {
    const started = Date.now();
    await assertPortFree(o.to.port);
    if (fs.existsSync(o.dataDir)) throw new Error(`data directory ${o.dataDir} already exists: destroy it first or choose another`);
    await ensureLogicalWal(o.sourceDataDir, o.source);
    const snap = await takeReplicaSnapshot({ dataDir: o.sourceDataDir, source: o.source, to: o.to.color, snapshotDir: o.snapshotDir });
    try {
        fs.mkdirSync(path.dirname(o.dataDir), { recursive: true });
        const method = await copyTree(path.join(snap.dir, "data"), o.dataDir, cloneMethodFor(path.dirname(o.dataDir)));
        spawnSync("chmod", ["-R", "u+w", o.dataDir]);
        fs.chmodSync(o.dataDir, 0o700);
        chownToPg(o.dataDir);
        const server = await startServer(o.dataDir, o.to.port);
        await withClient(o.to, async (c) => {
            for (let i = 0; (await c.query("SELECT pg_is_in_recovery() AS r")).rows[0].r; i++) {
                if (i > 6000) throw new Error(`the replica did not reach ${snap.lsn} within 60 s`);
                await sleep(10);
            }
            for (const k of ["restore_command", "recovery_target_lsn", "recovery_target_inclusive", "recovery_target_action"]) {
                await c.query(`ALTER SYSTEM RESET ${k}`);
            }
            await c.query(`DROP PUBLICATION IF EXISTS ${ident(replicationNames(o.source.color, o.to.color).publication)}`);
            // The replica is the idle color: it takes no write but replication's.
            await setWriteGate(c, false);
        });
        await subscribe(o.source, o.to);
        return { dataDir: o.dataDir, port: o.to.port, pid: server.pid, lsn: snap.lsn, method, durationMs: Date.now() - started };
    } catch (e) {
        await destroyServer(o.dataDir).catch(() => undefined);
        await dropSlot(o.source, replicationNames(o.source.color, o.to.color).slot).catch(() => undefined);
        throw new Error(`replica of ${o.source.color} for ${o.to.color} failed: ${(e as Error).message}`);
    }
}

/** Removes a replica: its subscriptions and server, and the slots on the other side that fed it or it fed. */
export async function destroyReplica(o: { source: DbSide; to: DbSide; dataDir: string }): Promise<void> {
    if (serverStatus(o.dataDir).running) {
        await withClient(o.to, async (c) => unsubscribe(c, o.source.color, o.to.color)).catch(() => undefined);
    }
    await withClient(o.source, async (c) => unsubscribe(c, o.to.color, o.source.color)).catch(() => undefined);
    await dropSlot(o.source, replicationNames(o.source.color, o.to.color).slot).catch(() => undefined);
    await destroyServer(o.dataDir);
}
