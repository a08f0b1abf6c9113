/**
 * The cutover's step for a `replicated` pair (`switchyard:database.mode: replicated`): one atomic
 * switchover of the databases and the router, never a gradual shift of weights (both colors would
 * take writes, each into its own database, while replication runs one way only).
 *
 * The driver (`run.ts`) goes through a small port, {@link DatabaseSwitch}: the local one moves the
 * writes with `switchDatabases` (write pause, lag zero, sequences, weights 0/100 in one runtime
 * call, replication reversed) and puts replication in agreement with the router with
 * `reconcileReplication`; {@link NOP_DATABASE_SWITCH} does nothing (a pair that shares its database,
 * or a test of the driver alone).
 *
 * @example
 * const db = localDatabaseSwitch(state.outputs); // undefined unless databaseMode is "replicated"
 * if (db) port.databases = db;
 */
import { DbSide, judgeLag } from "../components/local/ops/replication";
import { checkReplicatedSteps } from "../components/local/ops/replicationPlan";
import { DbSwitchRefused, reconcileReplication, switchDatabases } from "./dbswitch";
import type { Color, SwitchoverReport } from "./types";

export type { SwitchoverReport };

/** Moves the writes of a pair whose colors each have their own database. */
export interface DatabaseSwitch {
    /**
     * Moves the writes from `from` to `to`, the router's weights 0/100 included. Refused with
     * {@link DbSwitchRefused} (the lag in its message) before anything moves when the lag gate or
     * the schema check fails.
     */
    switchover(from: Color, to: Color): Promise<SwitchoverReport>;
    /** Makes replication run from the color the router sends writes to, one way only; returns what it changed, in words. */
    reconcile(): Promise<string[]>;
}

/** A switch that does nothing: a pair whose colors share one database. */
export const NOP_DATABASE_SWITCH: DatabaseSwitch = {
    switchover: async (from, to) => ({ from, to, pauseMs: 0, refusedWrites: 0, lag: "none (one shared database)" }),
    reconcile: async () => [],
};

/** The pair's database mode, as its outputs say (`databaseMode`, absent for a shared database). */
export function databaseModeOf(outputs: Record<string, unknown>): string | undefined {
    return typeof outputs.databaseMode === "string" ? outputs.databaseMode : undefined;
}

/**
 * The steps refused for a pair's database mode, with why; undefined when they may run.
 * @example replicatedStepsProblem("replicated", [10, 100]) // "cutover steps 10, 100 are refused for database mode \"replicated\": …"
 */
export function replicatedStepsProblem(mode: string | undefined, steps: readonly number[]): string | undefined {
    return mode === "replicated" ? checkReplicatedSteps(steps) : undefined;
}

/** A color's server from its `postgres://…@127.0.0.1:<port>/<database>` URL. */
function sideOf(color: Color, url: unknown, key: string): DbSide {
    if (typeof url !== "string") throw new Error(`the pair exports no ${key}: run \`switchyard up\` with database mode "replicated" first`);
    const u = new URL(url);
    return { color, port: Number(u.port || 5432), database: decodeURIComponent(u.pathname.replace(/^\//, "")) };
}

/** A `replicated` pair's router socket and its two database servers, from its outputs; undefined for any other mode. */
export function replicatedSidesOf(outputs: Record<string, unknown>): { socketPath: string; blue: DbSide; green: DbSide } | undefined {
    if (databaseModeOf(outputs) !== "replicated") return undefined;
    return {
        socketPath: outputs.adminSocket as string,
        blue: sideOf("blue", outputs.databaseUrl, "databaseUrl"),
        green: sideOf("green", outputs.greenDatabaseUrl, "greenDatabaseUrl"),
    };
}

/** The local switch of a `replicated` pair, from its outputs; undefined for any other mode. */
export function localDatabaseSwitch(outputs: Record<string, unknown>, o: { lagLimit?: { maxBytes?: number; maxMs?: number } } = {}): DatabaseSwitch | undefined {
    if (databaseModeOf(outputs) !== "replicated") return undefined;
    const socketPath = outputs.adminSocket as string;
    const side = { blue: sideOf("blue", outputs.databaseUrl, "databaseUrl"), green: sideOf("green", outputs.greenDatabaseUrl, "greenDatabaseUrl") };
    return {
        async switchover(from, to) {
            const r = await switchDatabases({ socketPath, from: side[from], to: side[to], ...(o.lagLimit ? { lagLimit: o.lagLimit } : {}) });
            return { from, to, pauseMs: Math.round(r.pauseMs), refusedWrites: r.refusedWrites, lag: judgeLag(r.lagBefore, o.lagLimit).message };
        },
        async reconcile() {
            return (await reconcileReplication({ socketPath, blue: side.blue, green: side.green })).did;
        },
    };
}

export { DbSwitchRefused };
