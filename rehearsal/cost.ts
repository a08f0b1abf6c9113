/**
 * The expected cost in production of each migration, the pure part: samples of `pg_stat_activity`
 * and `pg_locks` taken from a second connection while the migration command ran forward on the
 * sandbox's copy of production data, turned into how long each migration ran and how long it held
 * each table lock.
 *
 * A sample is attributed to a migration when the query its backend was running is part of that
 * migration's SQL (a tool sends the file, or its statements, as written; PostgreSQL may cut a long
 * query text, which stays a part of it); the rest of that transaction goes with it. Durations are
 * measured on the server's clock and are good to one sampling interval: a migration that finished
 * between two samples shows as shorter than the interval.
 */

/** What one sample saw of one backend of the migration command. */
export interface ActivitySample {
    /** Server clock, ms since the epoch. */
    readonly at: number;
    readonly pid: number;
    /** `pg_stat_activity.application_name`. */
    readonly application: string;
    /** The query running, or the last one run when the backend is idle in a transaction. */
    readonly query: string;
    /** Start of its transaction (ms since the epoch), or null outside one. */
    readonly xactStart: number | null;
    /** Start of the query (ms since the epoch). */
    readonly queryStart: number | null;
    /** Its locks on the user's tables. */
    readonly locks: readonly { readonly relation: string; readonly mode: string; readonly granted: boolean }[];
}

/** A table lock a migration held (or waited for). */
export interface LockHold {
    /** "schema.table". */
    readonly relation: string;
    /** PostgreSQL's name for it, e.g. "ShareLock". */
    readonly mode: string;
    /** What it keeps the application from doing while held. */
    readonly blocks: "reads and writes" | "writes" | "no reads or writes";
    /**
     * From when it may have been taken (the transaction's last sample without it, else the start of the
     * transaction) to the last sample that saw it, summed over transactions: an upper estimate to
     * within one interval, since a table lock is kept to the end of its transaction.
     */
    readonly heldMs: number;
    /** Time seen waiting for it, when it was not granted at once. */
    readonly waitedMs: number;
}

export interface MigrationCost {
    readonly migration: string;
    /** False when no sample saw it: it ran for less than the interval. */
    readonly observed: boolean;
    /** From the start of its first transaction to the last sample that saw it. */
    readonly ranMs: number;
    /** Strongest first. */
    readonly locks: LockHold[];
}

/** The measurement recorded in the verdict. */
export interface CostReport {
    readonly method: string;
    readonly intervalMs: number;
    readonly samples: number;
    readonly migrations: MigrationCost[];
}

/** Label for the command's backends whose queries no migration's SQL contains. */
export const UNMATCHED = "(the migration command, not matched to a migration's SQL)";

/** Table lock modes, weakest first. */
export const LOCK_MODES = [
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
] as const;

/** What a lock mode keeps ordinary reads (SELECT) and writes (INSERT, UPDATE, DELETE) of other sessions from doing. */
export function blocks(mode: string): LockHold["blocks"] {
    if (mode === "AccessExclusiveLock") return "reads and writes";
    if (mode === "ShareLock" || mode === "ShareRowExclusiveLock" || mode === "ExclusiveLock") return "writes";
    return "no reads or writes";
}

const CONTROL = /^\s*(BEGIN|COMMIT|ROLLBACK|START\s+TRANSACTION|END|SAVEPOINT|RELEASE|ABORT)\b/i;

/**
 * Per migration, in the order given: how long it ran and held each lock (AccessShareLock, which only
 * reads, is left out; so is the tool's bookkeeping table).
 *
 * @param samples every sample of the run, in time order
 * @param migrations the migrations applied, in order, with their SQL
 * @param o.application only the backends with this `application_name`, when any sample has it
 * @param o.ignoreTables tables left out of the locks, e.g. the bookkeeping table
 */
export function measureCosts(
    samples: readonly ActivitySample[],
    migrations: readonly { readonly id: string; readonly sql: string }[],
    o: { readonly intervalMs: number; readonly application?: string; readonly ignoreTables?: readonly string[]; readonly method?: string },
): CostReport {
    const mine = o.application && samples.some((s) => s.application === o.application) ? samples.filter((s) => s.application === o.application) : samples;
    const txKey = (s: ActivitySample) => `${s.pid}@${s.xactStart ?? s.queryStart ?? s.at}`;
    const owner = new Map<string, string>();
    let cursor = 0; // migrations are applied in order: prefer the current one, then the next ones
    for (const s of mine) {
        const q = s.query.trim();
        if (q.length < 4 || CONTROL.test(q) || owner.has(txKey(s))) continue;
        const order = [...migrations.slice(cursor), ...migrations.slice(0, cursor)];
        const m = order.find((x) => x.sql.includes(q));
        if (m) {
            owner.set(txKey(s), m.id);
            cursor = migrations.indexOf(m);
        }
    }
    const ignored = (rel: string) => (o.ignoreTables ?? []).some((t) => rel === t || rel.endsWith(`.${t}`));
    const byMigration = new Map<string, ActivitySample[]>();
    for (const s of mine) {
        const id = owner.get(txKey(s)) ?? (s.locks.some((l) => l.mode !== "AccessShareLock" && !ignored(l.relation)) ? UNMATCHED : undefined);
        if (id) byMigration.set(id, [...(byMigration.get(id) ?? []), s]);
    }
    const ids = [...migrations.map((m) => m.id), ...(byMigration.has(UNMATCHED) ? [UNMATCHED] : [])];
    return {
        method: o.method ?? "sampled pg_stat_activity and pg_locks",
        intervalMs: o.intervalMs,
        samples: samples.length,
        migrations: ids.map((id) => costOf(id, byMigration.get(id) ?? [], ignored)),
    };
}

function costOf(migration: string, seen: ActivitySample[], ignored: (rel: string) => boolean): MigrationCost {
    if (seen.length === 0) return { migration, observed: false, ranMs: 0, locks: [] };
    const begin = (s: ActivitySample) => s.xactStart ?? s.queryStart ?? s.at;
    const first = Math.min(...seen.map(begin));
    const last = Math.max(...seen.map((s) => s.at));
    // per lock: per transaction, from the last sample without it (else the transaction's start) to the last sample with it
    const held = new Map<string, Map<string, { from: number; to: number }>>();
    const waited = new Map<string, { from: number; to: number }>();
    const previous = new Map<string, number>(); // per transaction, the time of its previous sample
    for (const s of [...seen].sort((a, b) => a.at - b.at)) {
        const tx = `${s.pid}@${begin(s)}`;
        for (const l of s.locks) {
            if (l.mode === "AccessShareLock" || ignored(l.relation)) continue;
            const key = `${l.relation}\u0000${l.mode}`;
            if (!l.granted) {
                const w = waited.get(key);
                waited.set(key, { from: Math.min(w?.from ?? s.at, s.at), to: Math.max(w?.to ?? s.at, s.at) });
                continue;
            }
            const spans = held.get(key) ?? new Map();
            const span = spans.get(tx);
            spans.set(tx, { from: span?.from ?? previous.get(tx) ?? begin(s), to: s.at });
            held.set(key, spans);
        }
        previous.set(tx, s.at);
    }
    const keys = [...new Set([...held.keys(), ...waited.keys()])];
    const locks = keys
        .map((key) => {
            const [relation, mode] = key.split("\u0000");
            const heldMs = [...(held.get(key)?.values() ?? [])].reduce((a, s) => a + (s.to - s.from), 0);
            const w = waited.get(key);
            return { relation, mode, blocks: blocks(mode), heldMs: Math.round(heldMs), waitedMs: w ? Math.round(w.to - w.from) : 0 };
        })
        .sort((a, b) => rank(b.mode) - rank(a.mode) || a.relation.localeCompare(b.relation));
    return { migration, observed: true, ranMs: Math.round(last - first), locks };
}

const rank = (mode: string) => LOCK_MODES.indexOf(mode as (typeof LOCK_MODES)[number]);

/** The report as operator lines. */
export function formatCosts(r: CostReport): string[] {
    const lines = [`expected cost in production, measured on the sandbox's copy of production data (${r.method} every ${r.intervalMs} ms, ${r.samples} samples):`];
    const ms = (n: number) => (n < r.intervalMs ? `under ${r.intervalMs} ms` : `${n} ms`);
    for (const m of r.migrations) {
        if (!m.observed) {
            lines.push(`  ${m.migration}: ran under ${r.intervalMs} ms (finished between two samples)`);
            continue;
        }
        lines.push(`  ${m.migration}: ran ${ms(m.ranMs)}`);
        for (const l of m.locks) {
            lines.push(`    held ${l.mode} on ${l.relation} for ${ms(l.heldMs)} (blocks ${l.blocks})${l.waitedMs ? `, after waiting ${ms(l.waitedMs)} for it` : ""}`);
        }
    }
    return lines;
}
