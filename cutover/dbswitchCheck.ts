/**
 * The count of rows lost and duplicated by a replicated pair's switchovers: every id a write load
 * sent ({@link WriteLoadResult}) looked for in both colors' databases, once replication has caught up.
 *
 * {@link compareWrites} is pure; {@link checkWrites} reads both databases.
 *
 * @example
 * const r = await w.stop();
 * const c = await checkWrites(r, { live: blue, idle: green }, "demo42");
 * console.log(`rows lost: ${c.lost}, duplicated: ${c.duplicated}`); // non-zero: say so, fail
 */
import { Client } from "pg";
import { sleep } from "../components/local/ops/proc";
import { connect, DbSide, MARKER_TABLE } from "../components/local/ops/replication";
import type { WriteLoadResult } from "./dbswitchLoad";
import type { Color } from "./types";

/** One color's rows of a run: the row ids by the name the load wrote, and each name found more than once. */
export interface RowsOf {
    readonly ids: ReadonlyMap<string, number>;
    readonly duplicated: readonly string[];
}

export interface WriteCheck {
    /** Acknowledged writes (answered 2xx). */
    readonly acknowledged: number;
    /** Acknowledged ids missing from at least one color's database. */
    readonly lost: number;
    /** Of which, by color. */
    readonly lostOn: Readonly<Record<Color, number>>;
    /** Names found more than once in a color's database, over both. */
    readonly duplicated: number;
    /** Writes answered with an error that are in a database all the same (a refusal must commit nothing). */
    readonly refusedButCommitted: number;
    /** Names whose row id differs between the colors (sequences not carried over, or a row applied twice). */
    readonly idMismatches: number;
    /** Rows of the run on each color. */
    readonly rows: Readonly<Record<Color, number>>;
    /** Up to 5 examples of each problem, for the message. */
    readonly examples: readonly string[];
    /** Whether nothing was lost, duplicated, committed after a refusal or given another id. */
    readonly ok: boolean;
}

/**
 * Pure: compares a write load's ids with each color's rows.
 * @example compareWrites({ acked: ["a-1"], failed: [] }, { blue: rows, green: rows }).lost // 0
 */
export function compareWrites(load: Pick<WriteLoadResult, "acked" | "failed">, rows: Readonly<Record<Color, RowsOf>>): WriteCheck {
    const examples: string[] = [];
    const note = (what: string, names: string[]) => names.length && examples.push(`${what}: ${names.slice(0, 5).join(", ")}${names.length > 5 ? ", …" : ""}`);
    const lostBlue = load.acked.filter((id) => !rows.blue.ids.has(id));
    const lostGreen = load.acked.filter((id) => !rows.green.ids.has(id));
    const lost = new Set([...lostBlue, ...lostGreen]);
    const refused = load.failed.filter((id) => rows.blue.ids.has(id) || rows.green.ids.has(id));
    const mismatched = [...rows.blue.ids].filter(([name, id]) => rows.green.ids.has(name) && rows.green.ids.get(name) !== id).map(([name]) => name);
    note("lost on blue", lostBlue);
    note("lost on green", lostGreen);
    note("duplicated on blue", [...rows.blue.duplicated]);
    note("duplicated on green", [...rows.green.duplicated]);
    note("refused but committed", refused);
    note("another id on green", mismatched);
    const duplicated = rows.blue.duplicated.length + rows.green.duplicated.length;
    return {
        acknowledged: load.acked.length,
        lost: lost.size,
        lostOn: { blue: lostBlue.length, green: lostGreen.length },
        duplicated,
        refusedButCommitted: refused.length,
        idMismatches: mismatched.length,
        rows: { blue: rows.blue.ids.size, green: rows.green.ids.size },
        examples,
        ok: lost.size === 0 && duplicated === 0 && refused.length === 0 && mismatched.length === 0,
    };
}

/** A color's rows whose `name` starts with `<prefix>-` in `table` (the example app's items). */
export async function rowsOf(side: DbSide, prefix: string, table = "items"): Promise<RowsOf> {
    const c = await connect(side, "switchyard check");
    try {
        const r = await c.query(`SELECT id::bigint::text AS id, name FROM "${table.replace(/"/g, '""')}" WHERE name LIKE $1`, [`${prefix}-%`]);
        const ids = new Map<string, number>();
        const duplicated: string[] = [];
        for (const row of r.rows) {
            if (ids.has(row.name)) duplicated.push(row.name);
            ids.set(row.name, Number(row.id));
        }
        return { ids, duplicated };
    } finally {
        await c.end().catch(() => undefined);
    }
}

/** Waits until `idle` has applied every commit `live` made before the call (a marker row written on `live` seen on `idle`). */
export async function waitCaughtUp(live: DbSide, idle: DbSide, timeoutMs = 30_000): Promise<number> {
    const started = Date.now();
    const token = `caught-up ${new Date().toISOString()} ${process.pid} ${Math.random()}`;
    const [src, dst]: Client[] = [await connect(live), await connect(idle)];
    try {
        await src.query(`INSERT INTO "${MARKER_TABLE}" (token) VALUES ($1)`, [token]);
        while ((await dst.query(`SELECT 1 FROM "${MARKER_TABLE}" WHERE token = $1`, [token])).rows.length === 0) {
            if (Date.now() - started > timeoutMs) throw new Error(`${idle.color} did not catch up with ${live.color} within ${timeoutMs} ms`);
            await sleep(20);
        }
        return Date.now() - started;
    } finally {
        await Promise.all([src.end().catch(() => undefined), dst.end().catch(() => undefined)]);
    }
}

/** Waits for the idle color to catch up, then compares every id of the load with both colors' rows. */
export async function checkWrites(load: Pick<WriteLoadResult, "acked" | "failed">, sides: { live: DbSide; idle: DbSide }, prefix: string, o: { table?: string; timeoutMs?: number } = {}): Promise<WriteCheck> {
    await waitCaughtUp(sides.live, sides.idle, o.timeoutMs);
    const [a, b] = [await rowsOf(sides.live, prefix, o.table), await rowsOf(sides.idle, prefix, o.table)];
    return compareWrites(load, sides.live.color === "blue" ? { blue: a, green: b } : { blue: b, green: a });
}
