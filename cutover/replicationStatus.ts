/**
 * Where a `replicated` pair's replication stands, for `switchyard status`: which way data flows
 * (blue → green, green → blue, or "none"/"both" when a switchover was cut short), the lag of that
 * stream, and each color's write gate (closed on the idle color; closed on the live one only when a
 * switchover was killed between closing it and moving the weights, so that color refuses every write
 * until `resume` or `revert` puts replication in agreement with the router).
 *
 * {@link judgeReplication} is pure; {@link readReplicationStatus} reads the router and both servers.
 *
 * @example
 * const sides = replicatedSidesOf(outputs); // undefined unless databaseMode is "replicated"
 * if (sides) console.log(formatReplication(await readReplicationStatus({ ...sides, stack: "local-replicated" })));
 */
import { readWeights } from "../components/local/ops/haproxy";
import { connect, DbSide, judgeLag, LagLimit, LagReading, otherColor, readLag, readReplicationState, writeGateOpen } from "../components/local/ops/replication";
import type { Color, TrafficWeights } from "./types";

/** Which way replication runs: from the color named first to the other; "none" or "both" only after a cut-short switchover. */
export type ReplicationDirection = "blue → green" | "green → blue" | "none" | "both";

/** A replicated pair's replication as `status` reports it. */
export interface ReplicationStatus {
    /** Which way data flows: the enabled subscriptions. */
    readonly direction: ReplicationDirection;
    /** The color the router sends writes to ("both" when its weights are split, which a replicated pair never is). */
    readonly live: Color | "both";
    /** Subscriptions that exist but are disabled, as "blue→green" (a switchover cut short after it stopped the forward stream). */
    readonly paused: readonly string[];
    /** The lag of the stream that runs (or, with none, of the live color's slot toward the idle one); absent with both ways running. */
    readonly lag?: LagReading & { readonly message: string };
    /** Each color's write gate: "closed" refuses every write but replication's. */
    readonly writeGates: Readonly<Record<Color, "open" | "closed">>;
    /** What disagrees with the router, each with its remedy; empty when replication runs from the live color only and only the idle color's gate is closed. */
    readonly problems: readonly string[];
}

/** The facts {@link judgeReplication} judges. */
export interface ReplicationFacts {
    readonly weights: TrafficWeights;
    /** Enabled subscriptions, "blue→green". */
    readonly streams: readonly string[];
    /** Disabled subscriptions. */
    readonly paused: readonly string[];
    readonly gateOpen: Readonly<Record<Color, boolean>>;
}

/**
 * Pure: the direction, the live color and the problems, each naming its remedy for `stack`.
 * @example judgeReplication({ weights: { blue: 100, green: 0 }, streams: [], paused: ["blue→green"], gateOpen: { blue: false, green: true } }, "local")
 * // { direction: "none", live: "blue", problems: ["blue's write gate is closed: …", "no replication runs …", …] }
 */
export function judgeReplication(f: ReplicationFacts, stack: string): Pick<ReplicationStatus, "direction" | "live" | "problems"> {
    const direction: ReplicationDirection =
        f.streams.length > 1 ? "both" : f.streams.length === 0 ? "none" : f.streams[0] === "blue→green" ? "blue → green" : "green → blue";
    const live: Color | "both" = f.weights.blue > 0 && f.weights.green > 0 ? "both" : f.weights.green > 0 ? "green" : "blue";
    const fix = `\`switchyard resume ${stack}\` or \`switchyard revert ${stack}\` puts replication in agreement with the router first`;
    const problems: string[] = [];
    if (live === "both") {
        problems.push(`the router sends writes to both colors (weights ${f.weights.blue}/${f.weights.green}): a replicated pair is never split; set the weights to 100/0 or 0/100`);
        return { direction, live, problems };
    }
    const idle = otherColor(live);
    if (!f.gateOpen[live]) {
        problems.push(`${live}'s write gate is closed: ${live} refuses every write the router sends it (a switchover was cut short after closing it); ${fix}`);
    }
    if (f.gateOpen[idle]) {
        problems.push(`${idle}'s write gate is open: a write reaching ${idle} directly would be lost at the next switchover; ${fix}`);
    }
    if (direction === "none") {
        problems.push(`no replication runs${f.paused.length ? ` (${f.paused.join(", ")} paused)` : ""}: writes to ${live} do not reach ${idle}; ${fix}`);
    } else if (direction === "both") {
        problems.push(`replication runs both ways (${f.streams.join(", ")}): ${fix}`);
    } else if (!direction.startsWith(live)) {
        problems.push(`replication runs ${direction} but the router sends writes to ${live}: ${fix}`);
    }
    return { direction, live, problems };
}

/**
 * Reads a replicated pair's replication: the router's weights, each side's subscriptions and write
 * gate, and the lag of the stream from the live color.
 */
export async function readReplicationStatus(o: { socketPath: string; blue: DbSide; green: DbSide; stack: string; lagLimit?: LagLimit }): Promise<ReplicationStatus> {
    const weights = await readWeights(o.socketPath);
    const state = await readReplicationState(o.blue, o.green);
    const gateOpen = { blue: true, green: true };
    for (const s of [o.blue, o.green]) {
        const c = await connect(s, "switchyard status");
        try {
            gateOpen[s.color] = await writeGateOpen(c);
        } finally {
            await c.end().catch(() => undefined);
        }
    }
    const judged = judgeReplication({ weights, streams: state.streams, paused: state.paused, gateOpen }, o.stack);
    const from: Color | undefined = judged.direction === "both" ? undefined : judged.direction === "none" ? (judged.live === "both" ? undefined : judged.live) : judged.direction.startsWith("blue") ? "blue" : "green";
    const side = { blue: o.blue, green: o.green };
    const lag = from ? await readLag(side[from], otherColor(from)) : undefined;
    return {
        ...judged,
        paused: state.paused,
        ...(lag ? { lag: { ...lag, message: judgeLag(lag, o.lagLimit).message } } : {}),
        writeGates: { blue: gateOpen.blue ? "open" : "closed", green: gateOpen.green ? "open" : "closed" },
    };
}

/**
 * Pure: the status lines of a replicated pair's replication.
 * @example formatReplication(s) // ["replication:      blue → green, green is 0 bytes behind blue: within the limit", "write gates:      blue open, green closed"]
 */
export function formatReplication(s: ReplicationStatus): string[] {
    const lag = s.lag ? (s.lag.slotExists ? s.lag.message : `no slot for ${s.lag.from} → ${s.lag.to}`) : "lag not read (both ways)";
    return [
        `replication:      ${s.direction}${s.paused.length ? ` (paused: ${s.paused.join(", ")})` : ""}; ${lag}`,
        `write gates:      blue ${s.writeGates.blue}, green ${s.writeGates.green}${s.live !== "both" && s.writeGates[s.live] === "closed" ? ` (${s.live} is live and refuses writes)` : ""}`,
    ];
}
