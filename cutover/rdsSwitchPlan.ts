/**
 * The judgements of an AWS pair's database switchover (database mode `rds-blue-green` with an RDS
 * blue/green deployment), apart from any AWS call: which plans it takes, the lag gate's verdict on
 * the green instance's `ReplicaLag`, the switchover timeout from the stack's config, and what a
 * described deployment status means while the switchover runs. Pure: `rdsSwitch.ts` does the I/O.
 *
 * @example
 * judgeReplicaLag({ instance: "shop-db-green-abcdef", seconds: 120, at: new Date() }, 30).ok // false
 */
import { SWITCHOVER_TIMEOUT_KEY } from "../components/configKeys";
import { parseDuration } from "./watch";

/** The database mode whose cutover is one RDS switchover. */
export const RDS_BLUE_GREEN = "rds-blue-green";

/**
 * A pair's database mode as the cutover sees it: its `databaseMode` output (a local `replicated`
 * pair), else `rds-blue-green` when the AWS pair exports a blue/green deployment
 * (`rdsBlueGreenDeploymentId`: mode `rds-blue-green` with `database.blueGreen`); undefined for a
 * database the colors share and nothing switches over.
 */
export function cutoverDatabaseMode(outputs: Record<string, unknown>): string | undefined {
    if (typeof outputs.databaseMode === "string") return outputs.databaseMode;
    return deploymentIdOf(outputs) !== undefined ? RDS_BLUE_GREEN : undefined;
}

/** The pair's RDS blue/green deployment identifier ("bgd-…"), if it exports one. */
export function deploymentIdOf(outputs: Record<string, unknown>): string | undefined {
    const id = outputs.rdsBlueGreenDeploymentId;
    return typeof id === "string" && id !== "" ? id : undefined;
}

/**
 * Why a plan is refused for an `rds-blue-green` pair, or undefined when it is one step to 100.
 * @example checkRdsBlueGreenSteps([10, 100]) // 'cutover steps 10, 100 are refused for database mode "rds-blue-green": …'
 */
export function checkRdsBlueGreenSteps(steps: readonly number[] | undefined): string | undefined {
    if (steps === undefined || (steps.length === 1 && steps[0] === 100)) return undefined;
    const split = steps.filter((s) => s > 0 && s < 100);
    return (
        `cutover steps ${steps.join(", ")} are refused for database mode "${RDS_BLUE_GREEN}": the database moves in one RDS switchover ` +
        `(SwitchoverBlueGreenDeployment), for every connection at once, and RDS has no switchback; at ${split.join(", ") || "a split"}% ` +
        "the new color would be judged against the old database, and the switchover would then move all traffic's database in one go; " +
        "an rds-blue-green pair switches over in one step (steps: [100])"
    );
}

// ---------------------------------------------------------------------------------------------
// The lag gate.
// ---------------------------------------------------------------------------------------------

/**
 * The most replica lag, in seconds, the switchover starts with. RDS's own guardrail allows a lag it
 * can catch up within the switchover timeout; this gate is stricter, so the writes' pause stays short.
 */
export const DEFAULT_MAX_REPLICA_LAG_SECONDS = 30;

/** How far back the gate looks for the green instance's latest `ReplicaLag` datapoint. */
export const REPLICA_LAG_LOOKBACK_MS = 5 * 60_000;

/** The green instance's replica lag as CloudWatch last reported it; `seconds` undefined: no datapoint. */
export interface ReplicaLagReading {
    /** The green (target) instance's identifier, the metric's `DBInstanceIdentifier`. */
    readonly instance: string;
    readonly seconds?: number;
    /** When the datapoint was taken. */
    readonly at?: Date;
}

/**
 * The latest datapoint of a GetMetricData result (whatever order it came in). Pure.
 * @example latestDatapoint([t1, t2], [5, 0]) // { value: 0, at: t2 } when t2 > t1
 */
export function latestDatapoint(timestamps: readonly Date[] = [], values: readonly number[] = []): { value: number; at: Date } | undefined {
    let best: { value: number; at: Date } | undefined;
    timestamps.forEach((at, i) => {
        const value = values[i];
        if (value === undefined || !Number.isFinite(value)) return;
        if (best === undefined || at.getTime() > best.at.getTime()) best = { value, at };
    });
    return best;
}

/**
 * The lag gate's verdict: a switchover starts only with a datapoint of the last few minutes at or
 * under `maxSeconds`. No datapoint is a refusal (the lag is unknown, not zero).
 */
export function judgeReplicaLag(r: ReplicaLagReading, maxSeconds = DEFAULT_MAX_REPLICA_LAG_SECONDS): { ok: boolean; message: string } {
    const metric = `ReplicaLag (AWS/RDS, DBInstanceIdentifier ${r.instance})`;
    if (r.seconds === undefined) {
        return {
            ok: false,
            message:
                `no replica lag was reported for the green instance ${r.instance}: CloudWatch has no ${metric} datapoint in the last ` +
                `${REPLICA_LAG_LOOKBACK_MS / 60_000} minutes; the switchover waits until green's lag is known`,
        };
    }
    const at = r.at ? ` at ${r.at.toISOString().slice(11, 19)} UTC` : "";
    const lag = `the green instance ${r.instance} is ${formatSeconds(r.seconds)} behind blue (${metric}${at}; limit ${formatSeconds(maxSeconds)})`;
    return r.seconds > maxSeconds
        ? { ok: false, message: `${lag}: the switchover waits until it catches up` }
        : { ok: true, message: `${lag}: within the limit` };
}

const formatSeconds = (s: number) => `${Number.isInteger(s) ? s : s.toFixed(1)} s`;

// ---------------------------------------------------------------------------------------------
// The switchover timeout.
// ---------------------------------------------------------------------------------------------

/** RDS's SwitchoverTimeout bounds, in seconds. */
export const SWITCHOVER_TIMEOUT_RANGE = { min: 30, max: 3600 } as const;

/** RDS's own default SwitchoverTimeout, in seconds. */
export const DEFAULT_SWITCHOVER_TIMEOUT_SECONDS = 300;

/**
 * The switchover timeout in whole seconds from `switchyard:cutover` (its `switchoverTimeout`: a
 * number of seconds or a duration such as "90s" or "5m"), or an error naming the key and the value.
 *
 * @example switchoverTimeoutOf({ switchoverTimeout: "2m" }) // 120
 * @example switchoverTimeoutOf({ switchoverTimeout: 10 })   // 'switchyard:cutover.switchoverTimeout: 10 s is …'
 */
export function switchoverTimeoutOf(declared: unknown): number | string {
    const d = (declared && typeof declared === "object" ? declared : {}) as Record<string, unknown>;
    const v = d.switchoverTimeout;
    if (v === undefined) return DEFAULT_SWITCHOVER_TIMEOUT_SECONDS;
    let seconds: number;
    if (typeof v === "number") {
        seconds = v;
    } else {
        const ms = parseDuration(v, SWITCHOVER_TIMEOUT_KEY);
        if (typeof ms === "string") return ms;
        seconds = ms / 1000;
    }
    const { min, max } = SWITCHOVER_TIMEOUT_RANGE;
    if (!Number.isInteger(seconds) || seconds < min || seconds > max) {
        return `${SWITCHOVER_TIMEOUT_KEY}: ${JSON.stringify(v)} is not a whole number of seconds from ${min} to ${max} (RDS's SwitchoverTimeout range)`;
    }
    return seconds;
}

// ---------------------------------------------------------------------------------------------
// A switchover in progress.
// ---------------------------------------------------------------------------------------------

/** Deployment states in which no switchover can complete. */
export const SWITCHOVER_FAILED_STATES: readonly string[] = ["SWITCHOVER_FAILED", "INVALID_CONFIGURATION", "PROVISIONING_FAILED", "DELETING"];

/** What one look at a deployment during its switchover says. */
export type SwitchoverProgress = { readonly done: true } | { readonly done: false; readonly failed?: string; readonly state?: string };

/**
 * Reads a deployment's status while its switchover runs. `AVAILABLE` after the switchover was seen
 * in progress, or once the timeout has passed, means RDS rolled it back (nothing moved); before that
 * it is the moment before RDS starts. Pure.
 *
 * @param elapsedMs since the SwitchoverBlueGreenDeployment call
 */
export function switchoverProgress(
    b: { status?: string; statusDetails?: string } | undefined,
    o: { seenInProgress: boolean; elapsedMs: number; timeoutSeconds: number },
): SwitchoverProgress {
    if (b === undefined) return { done: false, failed: "the deployment no longer exists" };
    const status = b.status ?? "UNKNOWN";
    const details = b.statusDetails ? ` (${b.statusDetails})` : "";
    if (status === "SWITCHOVER_COMPLETED") return { done: true };
    if (SWITCHOVER_FAILED_STATES.includes(status)) return { done: false, failed: `its status is ${status}${details}` };
    if (status === "AVAILABLE" && (o.seenInProgress || o.elapsedMs > o.timeoutSeconds * 1000)) {
        return {
            done: false,
            failed: `it is AVAILABLE again${details}: RDS rolled the switchover back (it did not complete within SwitchoverTimeout ${o.timeoutSeconds} s, or a guardrail stopped it), nothing moved`,
        };
    }
    return { done: false, state: status };
}

/**
 * The identifier of a DB instance from its ARN (`arn:aws:rds:<region>:<account>:db:<identifier>`).
 * @example instanceIdOfArn("arn:aws:rds:us-east-1:123456789012:db:shop-db-green-abcdef") // "shop-db-green-abcdef"
 */
export function instanceIdOfArn(arn: string): string {
    const m = /^arn:aws[a-z-]*:rds:[^:]*:[^:]*:db:([^:]+)$/.exec(arn);
    if (!m) throw new Error(`${JSON.stringify(arn)} is not a DB instance ARN (arn:aws:rds:<region>:<account>:db:<identifier>): the blue/green deployment's target is not an instance (a cluster?)`);
    return m[1];
}
