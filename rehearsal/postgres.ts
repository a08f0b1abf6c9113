/**
 * Fingerprints of a PostgreSQL database for the rehearsal: every user table's columns, row count,
 * an order-independent digest of its rows and its non-null counts; the migrations applied; and
 * amcheck's verdict on every B-tree index. And samples of what a migration holds while it runs.
 */
import { Client } from "pg";
import { DbFingerprint, TableFingerprint } from "./core";
import { ActivitySample } from "./cost";

export interface FingerprintOptions {
    /** The migration bookkeeping table, left out of the tables and read for its ids. @default "schema_migrations" */
    readonly migrationsTable?: string;
}

/** Takes a fingerprint of the database at url. */
export async function fingerprint(url: string, o: FingerprintOptions = {}): Promise<DbFingerprint> {
    const bookkeeping = o.migrationsTable ?? "schema_migrations";
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
        const rels = await client.query<{ oid: number; schema: string; name: string }>(
            `SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
              ORDER BY 2, 3`,
        );
        const tables: Record<string, TableFingerprint> = {};
        let migrations: string[] = [];
        for (const r of rels.rows) {
            const qualified = `${client.escapeIdentifier(r.schema)}.${client.escapeIdentifier(r.name)}`;
            if (r.name === bookkeeping) {
                const ids = await client.query({ text: `SELECT * FROM ${qualified}`, rowMode: "array" });
                migrations = ids.rows.map((row: unknown[]) => String(row[0])).sort();
                continue;
            }
            tables[`${r.schema}.${r.name}`] = await table(client, r.oid, qualified);
        }
        return { tables, migrations, corruptIndexes: await checkIndexes(client) };
    } finally {
        await client.end();
    }
}

async function table(client: Client, oid: number, qualified: string): Promise<TableFingerprint> {
    const cols = await client.query<{ name: string; type: string }>(
        "SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        [oid],
    );
    const counts = cols.rows.map((c, i) => `count(${client.escapeIdentifier(c.name)}) AS c${i}`);
    const r = await client.query(
        `SELECT count(*)::bigint AS rows, coalesce(md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))), '') AS digest${counts.length ? ", " + counts.join(", ") : ""} FROM ${qualified} t`,
    );
    const row = r.rows[0] as Record<string, string>;
    return {
        columns: cols.rows.map((c) => `${c.name} ${c.type}`),
        rows: Number(row.rows),
        digest: row.digest,
        nonNull: Object.fromEntries(cols.rows.map((c, i) => [c.name, Number(row[`c${i}`])])),
    };
}

/** amcheck's bt_index_check on every B-tree index of the user's tables; one line per problem. */
async function checkIndexes(client: Client): Promise<string[]> {
    try {
        await client.query("CREATE EXTENSION IF NOT EXISTS amcheck");
    } catch (e) {
        return [`amcheck is not available, so indexes were not checked: ${(e as Error).message}`];
    }
    const idx = await client.query<{ oid: number; name: string }>(
        `SELECT i.indexrelid::int AS oid, n.nspname || '.' || c.relname AS name
           FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_am a ON a.oid = c.relam
          WHERE a.amname = 'btree' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`,
    );
    const problems: string[] = [];
    for (const i of idx.rows) {
        try {
            await client.query("SELECT bt_index_check($1::regclass, true)", [i.oid]);
        } catch (e) {
            problems.push(`index ${i.name}: ${(e as Error).message}`);
        }
    }
    return problems;
}

/** Samples being taken; `stop` ends them and gives them all, in time order. */
export interface ActivitySampler {
    stop(): Promise<ActivitySample[]>;
}

/**
 * Samples, from a connection of its own every `intervalMs`, what the database's other client backends
 * are running and the locks they hold or wait for on the user's tables (see `cost.ts`). Times are the
 * server's clock.
 */
export async function sampleActivity(url: string, intervalMs: number): Promise<ActivitySampler> {
    const client = new Client({ connectionString: url });
    await client.connect();
    const samples: ActivitySample[] = [];
    let stopping = false;
    let failure: Error | undefined;
    const query = `
        SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS at, a.pid, coalesce(a.application_name, '') AS application,
               coalesce(a.query, '') AS query,
               (extract(epoch FROM a.xact_start) * 1000)::float8 AS xact_start, (extract(epoch FROM a.query_start) * 1000)::float8 AS query_start,
               coalesce((SELECT json_agg(json_build_object('relation', n.nspname || '.' || c.relname, 'mode', l.mode, 'granted', l.granted))
                           FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
                          WHERE l.pid = a.pid AND l.locktype = 'relation' AND c.relkind IN ('r', 'p')
                            AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'), '[]') AS locks
          FROM pg_stat_activity a
         WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend' AND a.state <> 'idle'`;
    const loop = (async () => {
        while (!stopping) {
            try {
                const r = await client.query(query);
                for (const row of r.rows) {
                    samples.push({ at: row.at, pid: row.pid, application: row.application, query: row.query, xactStart: row.xact_start, queryStart: row.query_start, locks: row.locks });
                }
            } catch (e) {
                failure = e as Error;
                return;
            }
            await new Promise((res) => setTimeout(res, intervalMs));
        }
    })();
    return {
        async stop() {
            stopping = true;
            await loop;
            await client.end().catch(() => undefined);
            if (failure) throw new Error(`sampling the migration's locks failed: ${failure.message}`);
            return samples;
        },
    };
}
