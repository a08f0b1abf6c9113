/**
 * The demo's last section: a `replicated` pair (stack `local-replicated`: each color its own
 * PostgreSQL server, green's restored from blue's snapshot and kept in sync by logical replication)
 * switching over under steady writes through the app, then reverting; every acknowledged id is then
 * looked for in both databases, and a row lost or duplicated fails the demo.
 *
 * @example
 * await demoReplicated({ stackName: "local-replicated", project }); // throws when a row was lost or duplicated
 */
import { DbSide } from "../components/local/ops/replication";
import { sleep } from "../components/local/ops/proc";
import * as cut from "../cutover";
import { checkWrites } from "../cutover/dbswitchCheck";
import { startWriteLoad } from "../cutover/dbswitchLoad";
import { replicatedSidesOf } from "../cutover/switchStep";
import * as run from "./run";

export interface DemoReplicatedOptions {
    /** Writes per second through the router (bounded by `durationMs`). @default 300 */
    readonly rate?: number;
    /** The write load stops after this long at the latest. @default 120000 */
    readonly durationMs?: number;
    /** The ids' prefix. @default `demo<seed>` (printed) */
    readonly prefix?: string;
}

const say = (s: string) => process.stdout.write(`\n== ${s}\n`);
const line = (s: string) => process.stdout.write(`${s}\n`);

/** Brings the replicated pair up, switches it over and back under writes, and counts rows lost and duplicated. */
export async function demoReplicated(target: run.StackTarget, o: DemoReplicatedOptions = {}): Promise<void> {
    const quiet: run.StackTarget = { ...target, onOutput: () => undefined };
    say(`up ${target.stackName}: a replicated pair, blue's and green's own PostgreSQL servers, green's restored from blue's snapshot and kept in sync by logical replication`);
    const up = await run.up(target);
    const outputs = Object.fromEntries(Object.entries(up.outputs).map(([k, v]) => [k, v.value])) as Record<string, unknown>;
    const sides = replicatedSidesOf(outputs);
    if (!sides) throw new Error(`stack ${target.stackName} is not a replicated pair (switchyard:database.mode is not "replicated")`);
    const url = outputs.url as string;
    const session = { write: (l: string) => void line(`  ${l}`), warn: (l: string) => void line(`  ${l}`) };
    const showReplication = async () => {
        const st = await cut.status(quiet);
        for (const l of st.replication ? cut.formatReplication(st.replication) : [`replication: could not be read (${st.replicationUnread})`]) line(`  ${l}`);
        return st;
    };

    const before = await showReplication();
    if (before.intent || before.weightsServed.green > 0) {
        // An earlier run was cut short: back to blue first (a revert puts replication in agreement with the router).
        line("  an earlier run left green live or a switchover unfinished: revert first");
        await cut.runSession(quiet, { ...session, handleSigint: false }, "reverted", (drive) => cut.revert(quiet, drive));
    }

    const seed = Date.now() % 100_000;
    const prefix = o.prefix ?? `demo${seed}`;
    const rate = o.rate ?? 300;
    say(`switchover under ${rate} writes/s through ${url} (ids ${prefix}-1, ${prefix}-2, …): one cutover step, then a revert`);
    const writes = startWriteLoad(url, { rate, connections: 10, prefix, durationMs: o.durationMs ?? 120_000 });
    const pauses: Record<string, number> = {};
    const switchovers: cut.Listener = {
        onEvent: (e) => void (e.type === "switchover" && (pauses[`${e.from}→${e.to}`] = e.pauseMs)),
        close: async () => undefined,
    };
    const gate = { intervalMs: 1500, minRequests: 5, windowsPerStep: 1, maxLatencyMs: 3000 };
    let load;
    try {
        await sleep(1500);
        const sw = await cut.runSession(quiet, { ...session, listeners: [switchovers] }, "promoted", (drive) => cut.cutover(quiet, { gate, pretest: false, backup: false }, drive));
        if (!sw.ok) throw new Error(`the replicated pair's cutover ended ${sw.checkpoint.phase}: ${sw.checkpoint.reason ?? ""}`);
        await showReplication();
        await sleep(1500);
        const rv = await cut.runSession(quiet, { ...session, listeners: [switchovers] }, "reverted", (drive) => cut.revert(quiet, drive));
        if (!rv.ok) throw new Error(`the replicated pair's revert ended ${rv.checkpoint.phase}: ${rv.checkpoint.reason ?? ""}`);
        await showReplication();
        await sleep(1000);
    } finally {
        load = await writes.stop();
    }

    const live: DbSide = sides.blue;
    const c = await checkWrites(load, { live, idle: sides.green }, prefix);
    const sent = load.acked.length + load.failed.length + load.unknown.length;
    line(
        `writes: ${sent} sent, ${load.acked.length} acknowledged (${load.rps.toFixed(0)}/s), ${load.failed.length} refused by the old color's write gate ` +
            `(nothing committed), ${load.unknown.length} unanswered; slowest acknowledged write ${load.maxLatencyMs.toFixed(0)} ms`,
    );
    const unexpected = load.errors.filter((e) => !/writes are refused here/.test(e));
    if (unexpected.length) line(`writes failed otherwise too: ${unexpected.join("; ")}`);
    line(`write pause: switchover ${pauses["blue→green"] ?? "?"} ms, revert ${pauses["green→blue"] ?? "?"} ms`);
    line(
        `every acknowledged id looked for in both databases (blue ${c.rows.blue} rows, green ${c.rows.green} rows of the run): ` +
            `rows lost: ${c.lost}, duplicated: ${c.duplicated}`,
    );
    if (!c.ok) {
        line(`NOT CONSISTENT: ${c.refusedButCommitted} refused writes committed, ${c.idMismatches} rows with another id on green; ${c.examples.join("; ")}`);
        throw new Error(`the replicated pair lost ${c.lost} rows and duplicated ${c.duplicated} (${c.examples.join("; ")})`);
    }
}
