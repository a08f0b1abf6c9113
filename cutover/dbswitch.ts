/**
 * The switchover of a `replicated` local pair: one function that moves the writes from the color
 * that has them to the other, with replication running one way only before and after.
 *
 * 1. **Writes to the live color are paused at the database**: one session takes `LOCK TABLE … IN
 *    EXCLUSIVE MODE` on every replicated table, so writers wait (reads go on). A write that was
 *    still waiting when the weights changed is refused by the old side's write gate (closed just
 *    before the weights change: the app answers an error and nothing is committed anywhere), never
 *    applied on the old side after the switch. The lock belongs to the session: a switchover killed
 *    mid-way releases it with its connection, and the gate still refuses what waited.
 * 2. **Lag reaches zero**: a marker row written on the live side after the lock is seen on the
 *    other side, so every commit before it was applied there.
 * 3. **Sequences are carried over** (`setval` on the new side from the old side's values).
 * 4. A slot for the way back is created on the new side, the forward subscription is stopped, and
 *    **the weights go 0/100 in one runtime call** to HAProxy. The write pause ends here.
 * 5. **Replication is reversed**: the old side subscribes to the new one through that slot, with a
 *    publication listing the old side's columns (a column new on the new side does not break it).
 *
 * The revert is the same function in the other direction.
 *
 * @example
 * const r = await switchDatabases({ socketPath, from: blue, to: green });
 * console.log(`writes paused ${r.pauseMs} ms, ${r.refusedWrites} refused`);
 */
import { readWeights, runtimeCommand, setIdle } from "../components/local/ops/haproxy";
import {
    connect,
    createSlot,
    DbSide,
    judgeLag,
    LagLimit,
    LagReading,
    MARKER_TABLE,
    preparePublication,
    readLag,
    readSchema,
    replicationNames,
    schemaProblems,
    installWriteGate,
    setWriteGate,
    writeGateOpen,
    subscribe,
    unsubscribe,
    dropSlot,
    waitStreaming,
    appTables,
} from "../components/local/ops/replication";

export interface DbSwitchOptions {
    /** HAProxy's admin socket. */
    readonly socketPath: string;
    /** The color that takes the writes now (the source of the replication). */
    readonly from: DbSide;
    /** The color that takes them after. */
    readonly to: DbSide;
    /** The most lag the switchover starts with (the gate). @default DEFAULT_LAG_LIMIT */
    readonly lagLimit?: LagLimit;
    /** Longest wait for the lock and for the marker: past it the switchover is abandoned, nothing changed. @default 5000 */
    readonly pauseTimeoutMs?: number;
    /** Called at each step, e.g. to print it or record it. */
    readonly onStep?: (step: string, detail?: Record<string, unknown>) => void;
    /** For tests: called at each named step, e.g. to kill the process there. */
    readonly beforeStep?: (step: DbSwitchStep) => Promise<void> | void;
}

export type DbSwitchStep = "lock" | "marker" | "sequences" | "reverse-slot" | "weights" | "release" | "reverse";

export interface DbSwitchResult {
    /** Milliseconds from asking for the lock to the weights changed: writes waited this long at most. */
    readonly pauseMs: number;
    /** Of which: milliseconds until the other side had applied everything (lag zero). */
    readonly catchUpMs: number;
    /** Writes that were waiting when the weights changed and were refused (nothing committed). */
    readonly refusedWrites: number;
    /** Sequences carried over, with the value set. */
    readonly sequences: Record<string, number>;
    /** The lag when the switchover started. */
    readonly lagBefore: LagReading;
    /** The columns the way back carries, by table. */
    readonly reverseColumns: Record<string, string[]>;
    /** Milliseconds from the way back's subscription to its stream running (after the pause). */
    readonly reverseStartMs: number;
}

/** A switchover refused before it changed anything: the lag gate or the schema check. */
export class DbSwitchRefused extends Error {
    constructor(message: string) {
        super(message);
        this.name = "DbSwitchRefused";
    }
}

/**
 * Checks what a switchover needs before it pauses anything: replication streams from `from` to
 * `to` within the lag limit, and the schemas are compatible (a change applied to one side alone is
 * additive). Throws {@link DbSwitchRefused} naming the lag or the change.
 */
export async function checkSwitchable(from: DbSide, to: DbSide, lagLimit?: LagLimit): Promise<LagReading> {
    const lag = await readLag(from, to.color);
    const verdict = judgeLag(lag, lagLimit);
    if (!verdict.ok) throw new DbSwitchRefused(`switchover from ${from.color} to ${to.color} refused: ${verdict.message}`);
    const [a, b] = await Promise.all([from, to].map(async (s) => {
        const c = await connect(s);
        try {
            return await readSchema(c);
        } finally {
            await c.end();
        }
    }));
    // The old color (blue) is the base: the candidate's schema must be a superset of it.
    const [base, changed] = from.color === "blue" ? [a, b] : [b, a];
    const problems = schemaProblems(base, changed, { base: "blue", changed: "green" });
    // A table made on the source after the replica is in no publication: its rows never reached `to`.
    const { publication } = replicationNames(from.color, to.color);
    const c = await connect(from);
    try {
        const published = new Set((await c.query("SELECT schemaname || '.' || tablename AS t FROM pg_publication_tables WHERE pubname = $1", [publication])).rows.map((r) => r.t));
        for (const t of appTables(a).filter((t) => b[t])) {
            if (!published.has(t)) problems.push(`table ${t} of ${from.color} is not in the publication ${publication}: its rows do not replicate to ${to.color} (made after the replica?); make ${to.color}'s database again`);
        }
    } finally {
        await c.end();
    }
    if (problems.length) {
        throw new DbSwitchRefused(`switchover from ${from.color} to ${to.color} refused: a change would break replication: ${problems.join("; ")}`);
    }
    return lag;
}

export async function switchDatabases(o: DbSwitchOptions): Promise<DbSwitchResult> {
    const { from, to } = o;
    const step = async (s: DbSwitchStep, detail?: Record<string, unknown>) => {
        await o.beforeStep?.(s);
        o.onStep?.(s, detail);
    };
    const timeout = o.pauseTimeoutMs ?? 5000;
    const lagBefore = await checkSwitchable(from, to, o.lagLimit);
    const forward = replicationNames(from.color, to.color);
    const back = replicationNames(to.color, from.color);
    // The way back's publication on `to`, with the columns `from` has (before the pause).
    const reverseColumns = await preparePublication(to, from);
    const tables = Object.keys(reverseColumns).filter((t) => !t.endsWith(`.${MARKER_TABLE}`));
    for (const s of [from, to]) {
        const c = await connect(s);
        await installWriteGate(c).finally(() => c.end());
    }

    const holder = await connect(from, "switchyard switchover");
    const src = await connect(from);
    const dst = await connect(to);
    let locked = false;
    let switched = false;
    try {
        await step("lock", { tables });
        const t0 = performance.now();
        await holder.query("BEGIN");
        await holder.query(`SET LOCAL lock_timeout = ${Math.round(timeout)}`);
        await holder.query(`LOCK TABLE ${tables.map((t) => t.split(".").map((p) => `"${p.replace(/"/g, '""')}"`).join(".")).join(", ")} IN EXCLUSIVE MODE`);
        locked = true;
        const holderPid = (await holder.query("SELECT pg_backend_pid() AS pid")).rows[0].pid as number;

        await step("marker");
        const token = `${from.color}->${to.color} ${new Date().toISOString()} ${process.pid}`;
        await src.query(`INSERT INTO "${MARKER_TABLE}" (token) VALUES ($1)`, [token]);
        for (;;) {
            const r = await dst.query(`SELECT 1 FROM "${MARKER_TABLE}" WHERE token = $1`, [token]);
            if (r.rows.length) break;
            if (performance.now() - t0 > timeout) {
                const lag = await readLag(from, to.color);
                throw new Error(`${to.color} did not catch up with ${from.color} within ${timeout} ms (${judgeLag(lag).message}): switchover abandoned, ${from.color} keeps the writes`);
            }
            await new Promise((r) => setTimeout(r, 1));
        }
        const catchUpMs = performance.now() - t0;

        await step("sequences");
        const seqs = await src.query("SELECT schemaname || '.' || sequencename AS s, last_value::text AS v FROM pg_sequences WHERE last_value IS NOT NULL");
        const sequences: Record<string, number> = {};
        for (const row of seqs.rows) {
            const name = (row.s as string).split(".").map((p) => `"${p.replace(/"/g, '""')}"`).join(".");
            await dst.query("SELECT setval($1::regclass, $2::bigint, true)", [name, row.v]);
            sequences[row.s] = Number(row.v);
        }

        await step("reverse-slot");
        // From here on every commit on `to` is in the slot; nothing reaches `to` from `from` any more.
        await createSlot(dst, back.slot);
        await dst.query(`ALTER SUBSCRIPTION "${forward.subscription}" DISABLE`);

        // The new side takes writes; the old one refuses them from now on, including the writes
        // waiting for the lock (even if this process dies before it releases the lock).
        await setWriteGate(dst, true);
        await setWriteGate(src, false);

        await step("weights");
        const answer = (await runtimeCommand(o.socketPath, `set server app/${to.color} weight 100; set server app/${from.color} weight 0`)).trim();
        if (answer !== "") throw new Error(`HAProxy refused the weights 0/100: ${answer}`);
        switched = true;
        const pauseMs = performance.now() - t0;

        await step("release");
        // The writes that waited are refused by the closed gate once the lock goes.
        const refused = await src.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", [holderPid]);
        await holder.query("COMMIT");
        locked = false;

        await step("reverse");
        await setIdle(o.socketPath, from.color);
        await unsubscribe(dst, from.color, to.color);
        await dropSlot(from, forward.slot);
        await subscribe(to, from);
        const reverseStartMs = await waitStreaming(to, from.color);
        o.onStep?.("done", { pauseMs, catchUpMs, reverseStartMs });
        return { pauseMs, catchUpMs, refusedWrites: refused.rows[0].n, sequences, lagBefore, reverseColumns, reverseStartMs };
    } catch (e) {
        if (!switched) {
            // The weights did not change: `from` keeps the writes, the way back is undone, the forward stream resumes.
            if (locked) await holder.query("ROLLBACK").catch(() => undefined);
            await dropSlot(to, back.slot).catch(() => undefined);
            await setWriteGate(src, true).catch(() => undefined);
            await setWriteGate(dst, false).catch(() => undefined);
            await dst.query(`ALTER SUBSCRIPTION "${forward.subscription}" ENABLE`).catch(() => undefined);
        }
        throw e;
    } finally {
        await Promise.all([holder, src, dst].map((c) => c.end().catch(() => undefined)));
    }
}

/** What {@link reconcileReplication} found and did. */
export interface ReconcileResult {
    /** The color the router sends the writes to. */
    readonly live: Color;
    /** What it changed, in words; empty when replication already ran from the live color only. */
    readonly did: string[];
}

type Color = DbSide["color"];

/**
 * Makes replication agree with the router, after a switchover was cut short (killed, or failed
 * after the weights changed): data flows from the color the router sends the writes to, to the
 * other, and in that direction only. The wrong way's subscription and slot are dropped; the right
 * way's subscription is created (through the slot the switchover made before the weights changed)
 * or resumed. Throws when the right way's slot is gone (the idle side would need a new replica).
 */
export async function reconcileReplication(o: { socketPath: string; blue: DbSide; green: DbSide }): Promise<ReconcileResult> {
    const w = await readWeights(o.socketPath);
    if (w.blue > 0 && w.green > 0) {
        throw new Error(`the router sends writes to both colors (weights ${w.blue}/${w.green}): a replicated pair is never split; set the weights to 100/0 or 0/100 first`);
    }
    const live: Color = w.green > 0 ? "green" : "blue";
    const idle: Color = live === "blue" ? "green" : "blue";
    const side = { blue: o.blue, green: o.green };
    const did: string[] = [];
    const right = replicationNames(live, idle);
    const wrong = replicationNames(idle, live);
    const liveConn = await connect(side[live]);
    const idleConn = await connect(side[idle]);
    try {
        if (!(await writeGateOpen(liveConn))) {
            await setWriteGate(liveConn, true);
            did.push(`opened ${live}'s write gate`);
        }
        if (await writeGateOpen(idleConn)) {
            await setWriteGate(idleConn, false);
            did.push(`closed ${idle}'s write gate`);
        }
        const wrongSub = await liveConn.query("SELECT 1 FROM pg_subscription WHERE subname = $1", [wrong.subscription]);
        if (wrongSub.rows.length) {
            await unsubscribe(liveConn, idle, live);
            did.push(`dropped the subscription ${idle}→${live}`);
        }
        const wrongSlot = await idleConn.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", [wrong.slot]);
        if (wrongSlot.rows.length) {
            await dropSlot(side[idle], wrong.slot);
            did.push(`dropped the slot ${wrong.slot} on ${idle}`);
        }
        const sub = await idleConn.query("SELECT subenabled FROM pg_subscription WHERE subname = $1", [right.subscription]);
        if (sub.rows.length && !sub.rows[0].subenabled) {
            await idleConn.query(`ALTER SUBSCRIPTION "${right.subscription}" ENABLE`);
            did.push(`resumed the subscription ${live}→${idle}`);
        } else if (!sub.rows.length) {
            const slot = await liveConn.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", [right.slot]);
            if (!slot.rows.length) {
                throw new Error(`no replication from ${live} to ${idle} and no slot ${right.slot} on ${live}: ${idle}'s database must be made again from ${live}'s`);
            }
            const pub = await liveConn.query("SELECT 1 FROM pg_publication WHERE pubname = $1", [right.publication]);
            if (!pub.rows.length) await preparePublication(side[live], side[idle]);
            await subscribe(side[live], side[idle]);
            did.push(`subscribed ${idle} to ${live} from the slot ${right.slot}`);
        }
    } finally {
        await Promise.all([liveConn.end().catch(() => undefined), idleConn.end().catch(() => undefined)]);
    }
    return { live, did };
}
