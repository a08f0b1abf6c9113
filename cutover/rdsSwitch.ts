/**
 * The AWS {@link DatabaseSwitch} of a pair in database mode `rds-blue-green` with an RDS blue/green
 * deployment (its `rdsBlueGreenDeploymentId` output). The deployment was created in one update (the
 * green copy, replicating from blue); the cutover's one step switches it over:
 *
 * 1. **The lag gate**: the green (target) instance's `ReplicaLag` (namespace AWS/RDS, dimension
 *    DBInstanceIdentifier) as CloudWatch last reported it in the last few minutes. Over the limit, or
 *    no datapoint at all, the switchover is refused ({@link DbSwitchRefused}, the lag in its message)
 *    and nothing moves.
 * 2. **SwitchoverBlueGreenDeployment** with its timeout (`switchyard:cutover.switchoverTimeout`,
 *    30–3,600 s), then a wait until the deployment is SWITCHOVER_COMPLETED; a failed state
 *    (SWITCHOVER_FAILED, INVALID_CONFIGURATION, …) or a rollback is named, nothing moved.
 * 3. **The router**: all traffic to the new color at once (ELBv2 ModifyListener); the stack's `up`
 *    records it afterwards.
 *
 * **No switchback.** After a switchover nothing replicates back to the old instance (RDS renames it
 * `<name>-old1`): switching the database back would lose the writes made since. A revert therefore
 * moves the router only; the database stays the switched-over instance, which has every write, and
 * the `switchover` event says so (`databaseMoved: false`). Both colors reach the database through
 * the same endpoint name, which RDS moves to the new instance.
 *
 * @example
 * const db = rdsDatabaseSwitch(state.outputs, { route: (w) => port.applyNow(w), switchoverTimeoutSeconds: 300 });
 * if (db) port.databases = db;
 */
import { CloudWatchClient, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { RDSClient } from "@aws-sdk/client-rds";
import { BlueGreenSummary, describeBlueGreen, switchoverBlueGreen, waitFor } from "../components/aws/rdsApi";
import { DbSwitchRefused } from "./dbswitch";
import {
    deploymentIdOf,
    DEFAULT_MAX_REPLICA_LAG_SECONDS,
    DEFAULT_SWITCHOVER_TIMEOUT_SECONDS,
    instanceIdOfArn,
    judgeReplicaLag,
    latestDatapoint,
    REPLICA_LAG_LOOKBACK_MS,
    ReplicaLagReading,
    switchoverProgress,
} from "./rdsSwitchPlan";
import type { DatabaseSwitch, SwitchoverReport } from "./switchStep";
import type { Color, TrafficWeights } from "./types";

/** How the switch reaches AWS and the router. */
export interface RdsSwitchOptions {
    /** Sets the router's weights at once (the AWS port's `applyNow`: ELBv2 ModifyListener). */
    readonly route: (weights: TrafficWeights) => Promise<void>;
    /** @default a client for the SDK's default region and credentials */
    readonly rds?: RDSClient;
    /** @default a client for the SDK's default region and credentials */
    readonly cloudwatch?: CloudWatchClient;
    /** The most replica lag the switchover starts with, in seconds. @default DEFAULT_MAX_REPLICA_LAG_SECONDS (30) */
    readonly maxLagSeconds?: number;
    /** RDS's SwitchoverTimeout, 30–3,600 s (`switchyard:cutover.switchoverTimeout`). @default 300 */
    readonly switchoverTimeoutSeconds?: number;
    /**
     * Why a switchover may not start (a bad `switchyard:cutover.switchoverTimeout`): refused before
     * any AWS call; a revert, which never switches over, still runs. @default none
     */
    readonly refusal?: string;
    /** Milliseconds between looks at the deployment while it switches over. @default 5000 */
    readonly pollMs?: number;
    /** Wall clock: the end of the lag gate's look-back. @default () => new Date() */
    readonly now?: () => Date;
}

/** Reads the green instance's latest `ReplicaLag` datapoint of the last few minutes (Maximum per minute). */
export async function readReplicaLag(cloudwatch: CloudWatchClient, instance: string, now: Date): Promise<ReplicaLagReading> {
    const r = await cloudwatch.send(
        new GetMetricDataCommand({
            StartTime: new Date(now.getTime() - REPLICA_LAG_LOOKBACK_MS),
            EndTime: now,
            ScanBy: "TimestampDescending",
            MetricDataQueries: [
                {
                    Id: "lag",
                    MetricStat: {
                        Metric: { Namespace: "AWS/RDS", MetricName: "ReplicaLag", Dimensions: [{ Name: "DBInstanceIdentifier", Value: instance }] },
                        Period: 60,
                        Stat: "Maximum",
                    },
                },
            ],
        }),
    );
    const result = r.MetricDataResults?.find((x) => x.Id === "lag");
    const last = latestDatapoint(result?.Timestamps, result?.Values);
    return last ? { instance, seconds: last.value, at: last.at } : { instance };
}

const allOn = (c: Color): TrafficWeights => (c === "blue" ? { blue: 100, green: 0 } : { blue: 0, green: 100 });

/** What stays true after a switchover, in words. */
function noSwitchback(id: string, b: BlueGreenSummary): string {
    const old = b.source ? instanceIdOfArn(b.source) : "the old instance";
    return `RDS has no switchback: since the switchover of blue/green deployment ${id} nothing replicates back to ${old}, so switching the database back would lose the writes made since`;
}

/**
 * The switch of an AWS pair whose outputs name an RDS blue/green deployment; undefined for any other
 * pair (a shared database: the weights move alone).
 */
export function rdsDatabaseSwitch(outputs: Record<string, unknown>, o: RdsSwitchOptions): DatabaseSwitch | undefined {
    const id = deploymentIdOf(outputs);
    if (id === undefined) return undefined;
    const rds = o.rds ?? new RDSClient({});
    const cloudwatch = o.cloudwatch ?? new CloudWatchClient({});
    const timeoutSeconds = o.switchoverTimeoutSeconds ?? DEFAULT_SWITCHOVER_TIMEOUT_SECONDS;
    const pollMs = o.pollMs ?? 5000;
    const now = o.now ?? (() => new Date());

    const describe = async (): Promise<BlueGreenSummary> => {
        const b = await describeBlueGreen(rds, id);
        if (b === undefined) {
            throw new DbSwitchRefused(`the pair's RDS blue/green deployment ${id} does not exist (deleted?): nothing to switch over; run \`switchyard refresh\` and \`switchyard up\``);
        }
        return b;
    };

    /** Waits until a switchover under way has completed; throws naming a failed state or a rollback. */
    const untilSwitched = async (seenInProgress: boolean): Promise<BlueGreenSummary> => {
        const t0 = Date.now();
        let seen = seenInProgress;
        return waitFor(
            `the switchover of RDS blue/green deployment ${id}`,
            async () => {
                const b = await describeBlueGreen(rds, id);
                seen ||= b?.status === "SWITCHOVER_IN_PROGRESS";
                const p = switchoverProgress(b, { seenInProgress: seen, elapsedMs: Date.now() - t0, timeoutSeconds });
                return p.done ? { done: true, value: b! } : p;
            },
            // RDS rolls back past its timeout: a little longer, to see how it ended.
            { timeoutMs: (timeoutSeconds + 120) * 1000, intervalMs: pollMs },
        );
    };

    return {
        async switchover(from: Color, to: Color): Promise<SwitchoverReport> {
            let b = await describe();
            if (b.status === "SWITCHOVER_IN_PROGRESS") {
                // A switchover cut short (the cutover killed inside it): see it through, then the router.
                b = await untilSwitched(true);
            }
            if (b.status === "SWITCHOVER_COMPLETED") {
                // Switched over already (a resume after a kill before the router moved, or a revert):
                // the database stays where it is, the router alone moves.
                await o.route(allOn(to));
                return {
                    from,
                    to,
                    pauseMs: 0,
                    refusedWrites: 0,
                    lag: "not read (switched over already)",
                    databaseMoved: false,
                    detail:
                        `router only, the database NOT moved: deployment ${id} is SWITCHOVER_COMPLETED already, and ${noSwitchback(id, b)}; ` +
                        `${to} uses the switched-over instance, which has every write`,
                };
            }
            if (o.refusal !== undefined) throw new DbSwitchRefused(`switchover from ${from} to ${to} refused: ${o.refusal}; nothing moved`);
            if (b.status !== "AVAILABLE") {
                throw new DbSwitchRefused(
                    `switchover from ${from} to ${to} refused: RDS blue/green deployment ${id} is ${b.status ?? "in an unknown state"}${b.statusDetails ? ` (${b.statusDetails})` : ""}, not AVAILABLE; nothing moved`,
                );
            }
            if (!b.target) throw new DbSwitchRefused(`switchover from ${from} to ${to} refused: RDS blue/green deployment ${id} names no target instance; nothing moved`);
            const green = instanceIdOfArn(b.target);
            const verdict = judgeReplicaLag(await readReplicaLag(cloudwatch, green, now()), o.maxLagSeconds ?? DEFAULT_MAX_REPLICA_LAG_SECONDS);
            if (!verdict.ok) throw new DbSwitchRefused(`switchover from ${from} to ${to} refused: ${verdict.message}`);

            const t0 = performance.now();
            await switchoverBlueGreen(rds, id, { switchoverTimeoutSeconds: timeoutSeconds, wait: false });
            const done = await untilSwitched(false);
            const pauseMs = Math.round(performance.now() - t0);
            await o.route(allOn(to));
            const prod = done.target ? instanceIdOfArn(done.target) : green;
            return {
                from,
                to,
                pauseMs,
                refusedWrites: 0,
                lag: verdict.message,
                detail:
                    `RDS blue/green deployment ${id} switched over in ${(pauseMs / 1000).toFixed(1)} s (SwitchoverTimeout ${timeoutSeconds} s; ` +
                    `RDS held writes for at most that long): green's instance is production as ${prod}; replication has stopped: ${noSwitchback(id, done)}`,
            };
        },
        async reconcile(): Promise<string[]> {
            const b = await describeBlueGreen(rds, id);
            if (b?.status === "SWITCHOVER_IN_PROGRESS") {
                const done = await untilSwitched(true);
                return [`waited for the switchover of RDS blue/green deployment ${id} cut short: SWITCHOVER_COMPLETED; ${noSwitchback(id, done)}`];
            }
            if (b?.status === "SWITCHOVER_COMPLETED") return [`none since the switchover of RDS blue/green deployment ${id}: ${noSwitchback(id, b)}`];
            return [];
        },
    };
}
