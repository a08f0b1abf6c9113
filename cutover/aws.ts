/**
 * The AWS adapter of the cutover: ELBv2 listeners for the weights really served, CloudWatch metrics
 * and target health for the samples, the test listener for the pre-traffic probe, and an RDS
 * snapshot for the backup. Every change of weights goes through the stack (config + `up`), never
 * straight to the listener, so the engine's state and the load balancer agree.
 *
 * The read-back matters: Argo Rollouts users were told "completed" while the ALB still sent traffic
 * to the old target group. {@link AwsCutoverPort.servedWeights} reads what the listener applies.
 *
 * CloudWatch publishes Application Load Balancer metrics once a minute, a minute or so late: on AWS
 * use a gate interval of at least 60 s (`intervalMs: 60000`); shorter windows usually see no
 * datapoints, count as inconclusive, and revert the cutover after `inconclusiveLimit` of them.
 */
import { CloudWatchClient, GetMetricDataCommand, MetricDataQuery, MetricDataResult } from "@aws-sdk/client-cloudwatch";
import {
    DescribeListenersCommand,
    DescribeTargetHealthCommand,
    ModifyListenerCommand,
    ElasticLoadBalancingV2Client,
    Action as ListenerAction,
    TargetHealthDescription,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { CreateDBSnapshotCommand, RDSClient, waitUntilDBSnapshotAvailable } from "@aws-sdk/client-rds";
import { COLORS, idleColor, MAX_WEIGHT, otherColor } from "../components/types";
import { UserError } from "../stack/run";
import { probe } from "./probe";
import { pause } from "./run";
import { StackBackedPort, StackStore } from "./stackState";
import { Color, CutoverPort, Sample, TrafficWeights } from "./types";
import { FlagsPort } from "./flags";

// ---------------------------------------------------------------------------------------------
// Stack outputs.
// ---------------------------------------------------------------------------------------------

/** The outputs of an AWS blue-green stack the cutover reads (see components/aws/program.ts). */
export interface AwsCutoverOutputs {
    /** The main listener, which forwards to both colors' target groups by weight. */
    readonly listenerArn: string;
    /** Target group of each color. */
    readonly targetGroupArns: Readonly<Record<Color, string>>;
    /** The test listener, which forwards only to the idle color. */
    readonly testListenerArn?: string;
    /** URL of the test listener, e.g. "http://shop-alb-123.us-east-1.elb.amazonaws.com:8080". */
    readonly testUrl?: string;
    /** RDS instance identifier of the stack's database. */
    readonly databaseIdentifier?: string;
}

const optionalString = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

// The parts of an Elastic Load Balancing ARN: partition, region, 12-digit account, then the resource.
const ARN_PREFIX = "arn:aws(?:-cn|-us-gov)?:elasticloadbalancing:[a-z]{2}(?:-[a-z]+)+-\\d+:\\d{12}";
/** A load balancer or target group name: 1 to 32 letters, digits and hyphens, no hyphen first or last. */
const ELB_NAME = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?";
const HEX16 = "[0-9a-f]{16}";

/** `arn:aws:elasticloadbalancing:<region>:<12 digits>:targetgroup/<name>/<16 hex>` */
export const TARGET_GROUP_ARN = new RegExp(`^${ARN_PREFIX}:targetgroup/${ELB_NAME}/${HEX16}$`);
/** `arn:aws:elasticloadbalancing:<region>:<12 digits>:listener/app/<load balancer>/<16 hex>/<16 hex>` */
export const LISTENER_ARN = new RegExp(`^${ARN_PREFIX}:listener/app/${ELB_NAME}/${HEX16}/${HEX16}$`);

const ARN_FORMS = {
    targetGroup: { re: TARGET_GROUP_ARN, form: "arn:aws:elasticloadbalancing:<region>:<12-digit account>:targetgroup/<name>/<16 hex digits>", what: "a target group ARN" },
    listener: {
        re: LISTENER_ARN,
        form: "arn:aws:elasticloadbalancing:<region>:<12-digit account>:listener/app/<load balancer>/<16 hex digits>/<16 hex digits>",
        what: "an Application Load Balancer listener ARN",
    },
} as const;

/**
 * Checks an ARN read from a stack output before anything is written with it (a malformed target group
 * ARN would otherwise be written into the listener, and read back as agreeing). Returns a message
 * naming the output, or undefined.
 */
export function checkOutputArn(kind: keyof typeof ARN_FORMS, output: string, value: string, stack = "the stack"): string | undefined {
    const f = ARN_FORMS[kind];
    if (f.re.test(value)) {
        return undefined;
    }
    return (
        `${stack}'s ${output} output is ${JSON.stringify(value)}, not ${f.what} (${f.form}); nothing was changed. ` +
        `The output is not what a Switchyard blue-green program exports: run \`switchyard refresh\` and \`switchyard up\` on ${stack}, and check the program's outputs`
    );
}

/**
 * Picks and checks the cutover's outputs among a stack's outputs (plain values, as
 * `StackStore.readState()` returns them). Throws a UserError naming the missing or malformed output,
 * before any AWS call.
 *
 * @param stack the stack's name, for the messages
 */
export function awsCutoverOutputs(outputs: Record<string, unknown>, stack = "the stack"): AwsCutoverOutputs {
    const fix = `the AWS cutover needs the outputs of a blue-green stack (switchyard:role blue-green): run \`switchyard up\` on ${stack} first`;
    const listenerArn = optionalString(outputs.listenerArn);
    if (listenerArn === undefined) {
        throw new UserError(`${stack} has no listenerArn output: ${fix}`);
    }
    const groups = (outputs.targetGroupArns ?? {}) as Partial<Record<Color, unknown>>;
    const blue = optionalString(groups.blue);
    const green = optionalString(groups.green);
    if (blue === undefined || green === undefined) {
        throw new UserError(`${stack} has no targetGroupArns output with both { blue, green }: ${fix}`);
    }
    const testListenerArn = optionalString(outputs.testListenerArn);
    const problem =
        checkOutputArn("listener", "listenerArn", listenerArn, stack) ??
        checkOutputArn("targetGroup", "targetGroupArns.blue", blue, stack) ??
        checkOutputArn("targetGroup", "targetGroupArns.green", green, stack) ??
        (testListenerArn === undefined ? undefined : checkOutputArn("listener", "testListenerArn", testListenerArn, stack)) ??
        (blue === green ? `${stack}'s targetGroupArns output gives blue and green the same target group ${blue}; nothing was changed. Each color has its own: run \`switchyard up\` on ${stack}` : undefined) ??
        (testListenerArn === listenerArn ? `${stack}'s testListenerArn output is its listenerArn ${listenerArn}; nothing was changed. The test listener is a listener of its own: run \`switchyard up\` on ${stack}` : undefined);
    if (problem) {
        throw new UserError(problem);
    }
    return {
        listenerArn,
        targetGroupArns: { blue, green },
        testListenerArn,
        testUrl: optionalString(outputs.testUrl),
        databaseIdentifier: optionalString(outputs.databaseIdentifier),
    };
}

// ---------------------------------------------------------------------------------------------
// Pure helpers: ARNs, listener weights, metrics, names.
// ---------------------------------------------------------------------------------------------

/**
 * The `TargetGroup` dimension of a target group's CloudWatch metrics: the part of its ARN from
 * `targetgroup/`.
 *
 * @example targetGroupDimension("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop-blue/0123456789abcdef")
 *          // "targetgroup/shop-blue/0123456789abcdef"
 */
export function targetGroupDimension(arn: string): string {
    const m = /:(targetgroup\/[^/]+\/[^/]+)$/.exec(arn);
    if (!m) {
        throw new Error(`${JSON.stringify(arn)} is not a target group ARN (arn:aws:elasticloadbalancing:…:targetgroup/<name>/<id>): check the stack's targetGroupArns output`);
    }
    return m[1];
}

/**
 * The `LoadBalancer` dimension of an Application Load Balancer's CloudWatch metrics, `app/<name>/<id>`,
 * from the ARN of the load balancer or of one of its listeners.
 *
 * @example loadBalancerDimension("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2")
 *          // "app/shop/50dc6c495c0c9188"
 */
export function loadBalancerDimension(arn: string): string {
    const m = /:(?:loadbalancer|listener)\/(app\/[^/]+\/[^/]+)(?:\/[^/]+)?$/.exec(arn);
    if (!m) {
        throw new Error(
            `${JSON.stringify(arn)} is not the ARN of an Application Load Balancer or of its listener ` +
                `(arn:aws:elasticloadbalancing:…:listener/app/<name>/<id>/<id>): check the stack's listenerArn output`,
        );
    }
    return m[1];
}

/** Which color a target group ARN belongs to, if any. */
function colorOfGroup(arn: string | undefined, groups: Readonly<Record<Color, string>>): Color | undefined {
    return COLORS.find((c) => groups[c] === arn);
}

/** The target groups and weights of a listener's forward action; a plain forward weighs 100. */
function forwardedGroups(actions: readonly ListenerAction[]): { arn?: string; weight: number }[] {
    const forward = actions.find((a) => a.Type === "forward");
    const tuples = forward?.ForwardConfig?.TargetGroups ?? [];
    if (tuples.length > 0) {
        return tuples.map((t) => ({ arn: t.TargetGroupArn, weight: t.Weight ?? 1 }));
    }
    return forward?.TargetGroupArn !== undefined ? [{ arn: forward.TargetGroupArn, weight: MAX_WEIGHT }] : [];
}

/** Scales ALB weights (0..999) to 0..100 when one exceeds 100, keeping the sum's shares. */
function scaleWeights(raw: TrafficWeights): TrafficWeights {
    if (raw.blue <= MAX_WEIGHT && raw.green <= MAX_WEIGHT) {
        return raw;
    }
    const blue = Math.round((raw.blue * MAX_WEIGHT) / (raw.blue + raw.green));
    return { blue, green: MAX_WEIGHT - blue };
}

/**
 * The weights a listener applies per color, from its default actions (DescribeListeners). Weights as
 * Switchyard writes them (0..100) come back unchanged; larger ALB weights are scaled to 0..100.
 *
 * @throws when the listener has no forward action, forwards to a target group of neither color, or
 *         gives every group weight 0
 */
export function listenerWeights(listenerArn: string, actions: readonly ListenerAction[], groups: Readonly<Record<Color, string>>): TrafficWeights {
    const forwarded = forwardedGroups(actions);
    if (forwarded.length === 0) {
        const kinds = actions.map((a) => a.Type).join(", ") || "none";
        throw new UserError(
            `listener ${listenerArn} has no weighted forward action (its default actions: ${kinds}): ` +
                "Switchyard's listener forwards to both colors' target groups; run `switchyard up` to restore it",
        );
    }
    const weights: Record<Color, number> = { blue: 0, green: 0 };
    for (const g of forwarded) {
        const color = colorOfGroup(g.arn, groups);
        if (color === undefined) {
            throw new UserError(
                `listener ${listenerArn} forwards to target group ${g.arn}, which is neither blue's (${groups.blue}) nor green's (${groups.green}): ` +
                    "the listener was changed outside Switchyard or the stack's outputs are stale; run `switchyard refresh` and `switchyard up`",
            );
        }
        weights[color] += g.weight;
    }
    if (weights.blue + weights.green <= 0) {
        throw new UserError(`listener ${listenerArn} gives both target groups weight 0 and serves no one: run \`switchyard up\` to restore the weights`);
    }
    return scaleWeights(weights);
}

/**
 * A listener's default actions with its forward action's weights replaced, everything else (order,
 * stickiness, other actions) kept. Pure.
 *
 * @throws when the listener has no forward action to change
 */
export function withWeights(listenerArn: string, actions: readonly ListenerAction[], groups: Readonly<Record<Color, string>>, weights: TrafficWeights): ListenerAction[] {
    const i = actions.findIndex((a) => a.Type === "forward");
    if (i < 0) {
        throw new UserError(`listener ${listenerArn} has no forward action to set weights on: run \`switchyard up\` to restore it`);
    }
    const forward = actions[i];
    const next: ListenerAction = {
        ...forward,
        TargetGroupArn: undefined,
        ForwardConfig: { ...forward.ForwardConfig, TargetGroups: COLORS.map((c) => ({ TargetGroupArn: groups[c], Weight: weights[c] })) },
    };
    return actions.map((a, j) => (j === i ? next : a));
}

/** CloudWatch period for a window: ALB metrics have one-minute resolution. */
export function metricPeriodSeconds(windowMs: number): number {
    return Math.max(60, Math.ceil(windowMs / 60_000) * 60);
}

/** Query ids of {@link metricQueries}, one per metric. */
export const METRIC_IDS = { requests: "requests", targetErrors: "target5xx", connectionErrors: "connectionErrors", latency: "latency" } as const;

/**
 * The GetMetricData queries for one target group (namespace AWS/ApplicationELB): RequestCount,
 * HTTPCode_Target_5XX_Count and TargetConnectionErrorCount as sums, TargetResponseTime as average.
 * TargetConnectionErrorCount counts requests the ALB could not deliver (refused, reset): they become
 * ELB 502s, which the target's own 5XX count misses.
 */
export function metricQueries(targetGroup: string, loadBalancer: string, periodSeconds: number): MetricDataQuery[] {
    const dimensions = [
        { Name: "TargetGroup", Value: targetGroup },
        { Name: "LoadBalancer", Value: loadBalancer },
    ];
    const query = (Id: string, MetricName: string, Stat: string): MetricDataQuery => ({
        Id,
        MetricStat: { Metric: { Namespace: "AWS/ApplicationELB", MetricName, Dimensions: dimensions }, Period: periodSeconds, Stat },
        ReturnData: true,
    });
    return [
        query(METRIC_IDS.requests, "RequestCount", "Sum"),
        query(METRIC_IDS.targetErrors, "HTTPCode_Target_5XX_Count", "Sum"),
        query(METRIC_IDS.connectionErrors, "TargetConnectionErrorCount", "Sum"),
        query(METRIC_IDS.latency, "TargetResponseTime", "Average"),
    ];
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** Datapoints of one query, keyed by timestamp (ms). */
function datapoints(results: readonly MetricDataResult[], id: string): Map<number, number> {
    const points = new Map<number, number>();
    for (const r of results.filter((x) => x.Id === id)) {
        (r.Values ?? []).forEach((v, i) => {
            const t = r.Timestamps?.[i]?.getTime() ?? i;
            points.set(t, (points.get(t) ?? 0) + v);
        });
    }
    return points;
}

/** Mean response time in ms: the per-period averages (seconds) weighted by their request counts. */
function meanLatencyMs(latency: Map<number, number>, requests: Map<number, number>): number | undefined {
    if (latency.size === 0) {
        return undefined;
    }
    const entries = [...latency.entries()];
    const weighted = entries.every(([t]) => (requests.get(t) ?? 0) > 0);
    const weightOf = (t: number) => (weighted ? requests.get(t)! : 1);
    const total = sum(entries.map(([t]) => weightOf(t)));
    return (sum(entries.map(([t, seconds]) => seconds * weightOf(t))) / total) * 1000;
}

/**
 * A Sample from the results of {@link metricQueries} (pages already concatenated). No datapoints
 * means no requests: the ALB publishes nothing for a quiet minute.
 *
 * @throws when CloudWatch answered a query with InternalError or Forbidden
 */
export function sampleFromMetrics(color: Color, windowMs: number, results: readonly MetricDataResult[], healthy: boolean): Sample {
    const failed = results.find((r) => r.StatusCode === "InternalError" || r.StatusCode === "Forbidden");
    if (failed) {
        const why = (failed.Messages ?? []).map((m) => m.Value).join("; ");
        const hint = failed.StatusCode === "Forbidden" ? "; the caller lacks cloudwatch:GetMetricData: grant it to the credentials in use" : "";
        throw new Error(`CloudWatch answered ${failed.StatusCode} for ${color}'s ${failed.Label ?? failed.Id} metric${why ? `: ${why}` : ""}${hint}`);
    }
    const requests = datapoints(results, METRIC_IDS.requests);
    const errors = sum([...datapoints(results, METRIC_IDS.targetErrors).values(), ...datapoints(results, METRIC_IDS.connectionErrors).values()]);
    const latencyMs = meanLatencyMs(datapoints(results, METRIC_IDS.latency), requests);
    return { color, requests: sum([...requests.values()]), errors, ...(latencyMs === undefined ? {} : { latencyMs }), healthy, windowMs };
}

/** Whether a target group can serve: at least one of its targets is `healthy`. */
export function anyHealthy(targets: readonly TargetHealthDescription[]): boolean {
    return targets.some((t) => t.TargetHealth?.State === "healthy");
}

/**
 * Name of the pre-cutover backup snapshot: `<database>-pre-cutover-<yyyymmddhhmmss>` in UTC.
 *
 * @example backupSnapshotName("shop-prod", new Date("2025-03-04T05:06:07Z")) // "shop-prod-pre-cutover-20250304050607"
 */
export function backupSnapshotName(databaseIdentifier: string, at: Date): string {
    const stamp = at.toISOString().replace(/[-:T]/g, "").slice(0, 14);
    return `${databaseIdentifier}-pre-cutover-${stamp}`;
}

const messageOf = (e: unknown): string => (e instanceof Error ? `${e.name !== "Error" ? `${e.name}: ` : ""}${e.message}` : String(e));

/** What an AWS call's failure can be caused by, from the SDK error's name, status and code. */
export type AwsFailureCause = "permission" | "credentials" | "not-found" | "network" | "throttled" | "other";

const CREDENTIAL_ERRORS = ["CredentialsProviderError", "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException", "InvalidSignatureException", "IncompleteSignature", "MissingAuthenticationToken"];
const PERMISSION_ERRORS = ["AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess", "AuthorizationError", "Forbidden"];
const NETWORK_CODES = ["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH"];

/** Classifies an AWS SDK failure, so a message hints only at what can be its cause. Pure. */
export function awsFailureCause(e: unknown): AwsFailureCause {
    const err = e as { name?: string; code?: string; Code?: string; $metadata?: { httpStatusCode?: number }; cause?: { code?: string } };
    const name = err?.name ?? err?.Code ?? "";
    if (CREDENTIAL_ERRORS.includes(name)) return "credentials";
    if (PERMISSION_ERRORS.includes(name)) return "permission";
    if (/NotFound(?:Exception|Fault)?$/.test(name)) return "not-found";
    if (/Throttl|TooManyRequests|RequestLimitExceeded/.test(name)) return "throttled";
    if (NETWORK_CODES.includes(err?.code ?? "") || NETWORK_CODES.includes(err?.cause?.code ?? "") || name === "TimeoutError") return "network";
    if (err?.$metadata?.httpStatusCode === 403) return "permission";
    return "other";
}

/**
 * The hint a failed AWS call's message ends with: the permission only when a permission can be the
 * cause, the output or region when the resource was not found, and so on. Pure.
 *
 * @param permission the IAM action the call needs, e.g. "elasticloadbalancing:ModifyListener"
 * @param notFound what to check when the resource was not found
 */
export function awsHint(e: unknown, permission: string, notFound: string): string {
    switch (awsFailureCause(e)) {
        case "permission":
            return `; the caller lacks ${permission}: grant it to the credentials in use`;
        case "credentials":
            return "; the AWS credentials are missing, invalid or expired: check AWS_PROFILE or AWS_ACCESS_KEY_ID and friends";
        case "not-found":
            return `; ${notFound}`;
        case "network":
            return "; AWS could not be reached: check the network and the region (AWS_REGION)";
        case "throttled":
            return "; AWS throttled the call: wait and run the command again";
        default:
            return "";
    }
}

/** The state and reason of a waiter's failure (its message is JSON), else the message. */
function waiterFailure(e: unknown): string {
    try {
        const r = JSON.parse((e as Error).message) as { state?: string; reason?: unknown };
        return [r.state, typeof r.reason === "string" ? r.reason : JSON.stringify(r.reason)].filter(Boolean).join(": ");
    } catch {
        return messageOf(e);
    }
}

// ---------------------------------------------------------------------------------------------
// The port.
// ---------------------------------------------------------------------------------------------

/** SDK clients, a clock and limits of an {@link AwsCutoverPort}; every one has a default. */
export interface AwsCutoverOptions {
    /** The stack's name, for messages. @default "the stack" */
    readonly stackName?: string;
    /** @default a client for the SDK's default region and credentials */
    readonly elbv2?: ElasticLoadBalancingV2Client;
    /** @default a client for the SDK's default region and credentials */
    readonly cloudwatch?: CloudWatchClient;
    /** @default a client for the SDK's default region and credentials */
    readonly rds?: RDSClient;
    /** Wall clock: the end of a metric window and the backup's timestamp. @default () => new Date() */
    readonly now?: () => Date;
    /** Requests of the pre-traffic probe. @default 20 */
    readonly pretestRequests?: number;
    /** Per-request timeout of the probe, in milliseconds. @default 5000 */
    readonly pretestTimeoutMs?: number;
    /** Longest wait for the backup snapshot to be available, in seconds. @default 3600 */
    readonly backupMaxWaitSeconds?: number;
    /** Shortest pause between checks of the backup snapshot, in seconds. @default 15 */
    readonly backupPollSeconds?: number;
    /**
     * The flagd file's S3 object, set at once for a flag step and read back (`S3Flags`). CloudWatch
     * has no per-flag metrics: a flag step's window judges the new color's whole traffic.
     * @default none (flag steps are refused)
     */
    readonly flags?: FlagsPort;
}

/**
 * The cutover's port on AWS. Weights and checkpoints go through the stack; the load balancer, its
 * metrics and the database are read and snapshotted through the AWS SDK.
 *
 * @example
 * const store = new AutomationStackStore({ stackName: "prod" });
 * const state = await store.readState();
 * const port = new AwsCutoverPort(store, state.outputs, { stackName: "prod" });
 * await port.servedWeights(); // { blue: 90, green: 10 }
 */
export class AwsCutoverPort extends StackBackedPort implements CutoverPort {
    readonly platform = "aws";
    /** CloudWatch publishes ALB metrics once a minute: shorter windows would see nothing. */
    readonly gateDefaults = { intervalMs: 60_000 };
    /** The outputs the port reads, checked. */
    readonly outputs: AwsCutoverOutputs;
    private readonly elbv2: ElasticLoadBalancingV2Client;
    private readonly cloudwatch: CloudWatchClient;
    private readonly rds: RDSClient;
    private readonly now: () => Date;
    readonly flags?: FlagsPort;

    /**
     * @param store the stack's weights and checkpoint
     * @param outputs the stack's outputs: listenerArn and targetGroupArns, and for the pretest and
     *        backup testUrl, testListenerArn and databaseIdentifier
     * @throws UserError when listenerArn or targetGroupArns is missing
     */
    constructor(
        store: StackStore,
        outputs: Record<string, unknown>,
        private readonly options: AwsCutoverOptions = {},
    ) {
        super(store);
        this.outputs = awsCutoverOutputs(outputs, options.stackName);
        this.elbv2 = options.elbv2 ?? new ElasticLoadBalancingV2Client({});
        this.cloudwatch = options.cloudwatch ?? new CloudWatchClient({});
        this.rds = options.rds ?? new RDSClient({});
        this.now = options.now ?? (() => new Date());
        this.flags = options.flags;
    }

    /** The weights the main listener applies, read from ELBv2. */
    async servedWeights(): Promise<TrafficWeights> {
        const { listenerArn, targetGroupArns } = this.outputs;
        return listenerWeights(listenerArn, await this.listenerActions(listenerArn), targetGroupArns);
    }

    /**
     * Waits `windowMs`, then reads the color's target group metrics over that window from CloudWatch
     * and its target health from ELBv2.
     */
    async sample(color: Color, windowMs: number, signal?: AbortSignal): Promise<Sample> {
        await pause(windowMs, signal);
        const end = this.now();
        const start = new Date(end.getTime() - windowMs);
        const group = this.outputs.targetGroupArns[color];
        const [results, healthy] = await Promise.all([this.metrics(group, start, end, windowMs, signal), this.groupHealthy(group, signal)]);
        return sampleFromMetrics(color, windowMs, results, healthy);
    }

    /**
     * Sends `pretestRequests` GETs to the test URL (the gate judges their success rate). When the stack
     * names its test listener, first checks that it forwards to `color`, so the probe never
     * measures the wrong color.
     */
    async pretest(color: Color): Promise<Sample> {
        const { testUrl, testListenerArn, targetGroupArns } = this.outputs;
        if (testUrl === undefined) {
            throw new UserError(`${this.stackName} has no testUrl output, so ${color} cannot be probed before it gets traffic: run \`switchyard up\` on it, or cut over without the pretest`);
        }
        if (testListenerArn !== undefined) {
            const w = listenerWeights(testListenerArn, await this.listenerActions(testListenerArn), targetGroupArns);
            if (w[color] === 0 || w[otherColor(color)] > 0) {
                throw new UserError(
                    `test listener ${testListenerArn} forwards to ${JSON.stringify(w)}, not to ${color} alone: the probe would not measure ${color}; ` +
                        `run \`switchyard up\` so the test listener reaches the idle color`,
                );
            }
        }
        return probe(testUrl, color, { requests: this.options.pretestRequests ?? 20, timeoutMs: this.options.pretestTimeoutMs });
    }

    /** Takes an RDS snapshot of the stack's database, waits until it is available, and returns its name. */
    async backup(): Promise<string> {
        const db = this.outputs.databaseIdentifier;
        if (db === undefined) {
            throw new UserError(`${this.stackName} has no databaseIdentifier output, so there is no database to back up: run \`switchyard up\` on it, or cut over without the backup`);
        }
        const name = backupSnapshotName(db, this.now());
        try {
            await this.rds.send(
                new CreateDBSnapshotCommand({ DBInstanceIdentifier: db, DBSnapshotIdentifier: name, Tags: [{ Key: "switchyard:purpose", Value: "pre-cutover" }] }),
            );
        } catch (e) {
            throw new Error(
                `backup of database ${db} failed: CreateDBSnapshot ${name}: ${messageOf(e)}${awsHint(e, "rds:CreateDBSnapshot", "check the stack's databaseIdentifier output and the region")}`,
            );
        }
        await this.waitAvailable(db, name);
        return name;
    }

    private get stackName(): string {
        return this.options.stackName ?? "the stack";
    }

    private async waitAvailable(db: string, name: string): Promise<void> {
        const maxWaitTime = this.options.backupMaxWaitSeconds ?? 3600;
        const minDelay = Math.min(this.options.backupPollSeconds ?? 15, maxWaitTime / 2);
        try {
            await waitUntilDBSnapshotAvailable({ client: this.rds, maxWaitTime, minDelay, maxDelay: Math.max(minDelay, 60) }, { DBSnapshotIdentifier: name });
        } catch (e) {
            throw new Error(
                `backup snapshot ${name} of database ${db} did not become available within ${maxWaitTime} s (${waiterFailure(e)}): ` +
                    "look at its status in the RDS console (aws rds describe-db-snapshots), then resume the cutover",
            );
        }
    }

    /**
     * ELBv2 ModifyListener, at once: the main listener's weights, and the test listener on the idle
     * color. Used to revert ahead of the stack's `up`.
     */
    async applyNow(weights: TrafficWeights): Promise<void> {
        const { listenerArn, testListenerArn, targetGroupArns } = this.outputs;
        const set = async (arn: string, w: TrafficWeights) => {
            const actions = withWeights(arn, await this.listenerActions(arn), targetGroupArns, w);
            try {
                await this.elbv2.send(new ModifyListenerCommand({ ListenerArn: arn, DefaultActions: actions }));
            } catch (e) {
                throw new Error(
                    `cannot set weights on listener ${arn}: ${messageOf(e)}${awsHint(e, "elasticloadbalancing:ModifyListener", "check the stack's listener and target group outputs and the region")}`,
                );
            }
        };
        await set(listenerArn, weights);
        if (testListenerArn !== undefined) {
            const idle = idleColor(weights);
            await set(testListenerArn, { ...weights, [idle]: MAX_WEIGHT, [otherColor(idle)]: 0 } as TrafficWeights);
        }
    }

    private async listenerActions(listenerArn: string): Promise<ListenerAction[]> {
        let listeners;
        try {
            listeners = (await this.elbv2.send(new DescribeListenersCommand({ ListenerArns: [listenerArn] }))).Listeners ?? [];
        } catch (e) {
            throw new Error(
                `cannot read listener ${listenerArn}: ${messageOf(e)}${awsHint(e, "elasticloadbalancing:DescribeListeners", "check the stack's listenerArn output and the region; run `switchyard refresh` and `switchyard up` on it")}`,
            );
        }
        if (listeners.length === 0) {
            throw new UserError(`listener ${listenerArn} does not exist: run \`switchyard refresh\` and \`switchyard up\` on ${this.stackName}`);
        }
        return listeners[0].DefaultActions ?? [];
    }

    private async metrics(group: string, start: Date, end: Date, windowMs: number, signal?: AbortSignal): Promise<MetricDataResult[]> {
        const queries = metricQueries(targetGroupDimension(group), loadBalancerDimension(this.outputs.listenerArn), metricPeriodSeconds(windowMs));
        const results: MetricDataResult[] = [];
        let token: string | undefined;
        do {
            const page = await this.cloudwatch
                .send(new GetMetricDataCommand({ MetricDataQueries: queries, StartTime: start, EndTime: end, NextToken: token }), { abortSignal: signal })
                .catch((e: unknown) => {
                    throw new Error(`cannot read the metrics of target group ${group}: ${messageOf(e)}${awsHint(e, "cloudwatch:GetMetricData", "check the region")}`);
                });
            results.push(...(page.MetricDataResults ?? []));
            token = page.NextToken;
        } while (token);
        return results;
    }

    private async groupHealthy(group: string, signal?: AbortSignal): Promise<boolean> {
        try {
            const r = await this.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: group }), { abortSignal: signal });
            return anyHealthy(r.TargetHealthDescriptions ?? []);
        } catch (e) {
            throw new Error(
                `cannot read the target health of target group ${group}: ${messageOf(e)}${awsHint(e, "elasticloadbalancing:DescribeTargetHealth", "check the stack's targetGroupArns output and the region")}`,
            );
        }
    }
}
