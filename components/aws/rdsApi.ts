/**
 * The few Amazon RDS API calls Switchyard makes outside the AWS provider: snapshots, restores, and
 * RDS blue/green deployments (@pulumi/aws 7.48 has no resource for the latter; its `blueGreenUpdate`
 * on `aws.rds.Instance` switches over in the same update, which Switchyard refuses).
 *
 * A blue/green deployment is created in one update (see RdsBlueGreenDeployment) and switched over
 * later, as a separate and explicit call: {@link switchoverBlueGreen}.
 *
 * Every function takes an `RDSClient`, so callers choose credentials, region and endpoint.
 */
import {
    CreateBlueGreenDeploymentCommand,
    CreateDBSnapshotCommand,
    DBInstance,
    DBSnapshot,
    DeleteBlueGreenDeploymentCommand,
    DescribeBlueGreenDeploymentsCommand,
    DescribeDBInstancesCommand,
    DescribeDBSnapshotsCommand,
    RDSClient,
    RestoreDBInstanceFromDBSnapshotCommand,
    SwitchoverBlueGreenDeploymentCommand,
    BlueGreenDeployment as SdkBlueGreenDeployment,
} from "@aws-sdk/client-rds";

/** Where and how to reach the RDS API. */
export interface RdsConnection {
    /** AWS region, e.g. "us-east-1". Default: the SDK's (AWS_REGION, profile). */
    readonly region?: string;
    /** Endpoint override, e.g. "http://127.0.0.1:5000" for a local AWS stand-in. Default: AWS's. */
    readonly endpoint?: string;
}

/** An RDS client for the given region and endpoint; credentials come from the SDK's default chain. */
export function rdsClient(conn: RdsConnection = {}): RDSClient {
    return new RDSClient({
        ...(conn.region ? { region: conn.region } : {}),
        ...(conn.endpoint ? { endpoint: conn.endpoint } : {}),
    });
}

/** How long to wait, and how often to look. */
export interface WaitOptions {
    /** Give up after this many milliseconds. @default 3_600_000 (one hour) */
    readonly timeoutMs?: number;
    /** Milliseconds between checks. @default 15_000 */
    readonly intervalMs?: number;
}

/** One probe of a wait: done with a value, failed with a reason, or not yet (with the current state). */
export type Probe<T> = { done: true; value: T } | { done: false; failed?: string; state?: string };

/** Polls `probe` until it is done; throws when it fails or the time is up. */
export async function waitFor<T>(what: string, probe: () => Promise<Probe<T>>, opts: WaitOptions = {}): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? 3_600_000;
    const intervalMs = opts.intervalMs ?? 15_000;
    const deadline = Date.now() + timeoutMs;
    let last: string | undefined;
    for (;;) {
        const p = await probe();
        if (p.done) {
            return p.value;
        }
        if (p.failed !== undefined) {
            throw new Error(`${what} failed: ${p.failed}`);
        }
        last = p.state ?? last;
        if (Date.now() + intervalMs > deadline) {
            throw new Error(`${what}: gave up after ${timeoutMs} ms${last ? ` (last state: ${last})` : ""}`);
        }
        await new Promise((r) => setTimeout(r, intervalMs));
    }
}

// ---------------------------------------------------------------------------------------------
// Snapshots.
// ---------------------------------------------------------------------------------------------

/** What Switchyard needs to know about a DB snapshot. */
export interface SnapshotSummary {
    readonly identifier: string;
    readonly instanceIdentifier?: string;
    readonly arn?: string;
    /** When the snapshot was taken. */
    readonly createdAt?: Date;
    /** "creating", "available", "failed", ... */
    readonly status?: string;
    /** "automated", "manual", "shared", "public" or "awsbackup". */
    readonly type?: string;
    readonly engine?: string;
    readonly engineVersion?: string;
}

/** Snapshot types a restore may start from: the instance's own automated and manual snapshots. */
export const RESTORABLE_SNAPSHOT_TYPES: readonly string[] = ["automated", "manual"];

function snapshotSummary(s: DBSnapshot): SnapshotSummary {
    return {
        identifier: s.DBSnapshotIdentifier ?? "",
        instanceIdentifier: s.DBInstanceIdentifier,
        arn: s.DBSnapshotArn,
        createdAt: s.SnapshotCreateTime,
        status: s.Status,
        type: s.SnapshotType,
        engine: s.Engine,
        engineVersion: s.EngineVersion,
    };
}

/**
 * Picks the snapshot to restore: the most recent available automated or manual snapshot, of the
 * given instance when one is named. Snapshots still being created, failed ones, shared, public and
 * AWS Backup ones, and those without a creation time are skipped. Equal times are broken by the
 * greater identifier, so the choice never depends on the listing order. Pure.
 */
export function pickLatestSnapshot(
    snapshots: readonly SnapshotSummary[],
    opts: { readonly instanceIdentifier?: string } = {},
): SnapshotSummary | undefined {
    let best: SnapshotSummary | undefined;
    for (const s of snapshots) {
        if (s.status !== "available" || s.createdAt === undefined || Number.isNaN(s.createdAt.getTime())) {
            continue;
        }
        if (s.type !== undefined && !RESTORABLE_SNAPSHOT_TYPES.includes(s.type)) {
            continue;
        }
        if (opts.instanceIdentifier !== undefined && s.instanceIdentifier !== opts.instanceIdentifier) {
            continue;
        }
        if (
            best === undefined ||
            s.createdAt.getTime() > best.createdAt!.getTime() ||
            (s.createdAt.getTime() === best.createdAt!.getTime() && s.identifier > best.identifier)
        ) {
            best = s;
        }
    }
    return best;
}

/** Lists an instance's snapshots (automated and manual), following pagination. */
export async function listSnapshots(client: RDSClient, instanceIdentifier: string): Promise<SnapshotSummary[]> {
    const out: SnapshotSummary[] = [];
    let marker: string | undefined;
    do {
        const page = await client.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: instanceIdentifier, Marker: marker }));
        out.push(...(page.DBSnapshots ?? []).map(snapshotSummary));
        marker = page.Marker;
    } while (marker);
    return out;
}

/** The latest available snapshot of an instance, or undefined if it has none. */
export async function latestSnapshot(client: RDSClient, instanceIdentifier: string): Promise<SnapshotSummary | undefined> {
    return pickLatestSnapshot(await listSnapshots(client, instanceIdentifier), { instanceIdentifier });
}

/** One snapshot by identifier, or undefined if there is none. */
export async function describeSnapshot(client: RDSClient, snapshotIdentifier: string): Promise<SnapshotSummary | undefined> {
    try {
        const r = await client.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: snapshotIdentifier }));
        const s = r.DBSnapshots?.[0];
        return s ? snapshotSummary(s) : undefined;
    } catch (e) {
        if ((e as { name?: string }).name === "DBSnapshotNotFoundFault") {
            return undefined;
        }
        throw e;
    }
}

/** Takes a manual snapshot of an instance; returns at once (see {@link waitForSnapshot}). */
export async function createSnapshot(
    client: RDSClient,
    instanceIdentifier: string,
    snapshotIdentifier: string,
    tags: Record<string, string> = {},
): Promise<SnapshotSummary> {
    const r = await client.send(
        new CreateDBSnapshotCommand({
            DBInstanceIdentifier: instanceIdentifier,
            DBSnapshotIdentifier: snapshotIdentifier,
            Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
        }),
    );
    return snapshotSummary(r.DBSnapshot ?? {});
}

/** Waits until a snapshot is available; fails if it fails or disappears. */
export function waitForSnapshot(client: RDSClient, snapshotIdentifier: string, opts?: WaitOptions): Promise<SnapshotSummary> {
    return waitFor(
        `snapshot ${snapshotIdentifier}`,
        async () => {
            const s = await describeSnapshot(client, snapshotIdentifier);
            if (s === undefined) {
                return { done: false, failed: "it does not exist" };
            }
            if (s.status === "available") {
                return { done: true, value: s };
            }
            if (s.status === "failed" || s.status === "deleted") {
                return { done: false, failed: `its status is ${s.status}` };
            }
            return { done: false, state: s.status };
        },
        opts,
    );
}

// ---------------------------------------------------------------------------------------------
// Instances.
// ---------------------------------------------------------------------------------------------

/** What Switchyard needs to know about a DB instance. */
export interface InstanceSummary {
    readonly identifier: string;
    readonly arn?: string;
    readonly status?: string;
    readonly engine?: string;
    readonly engineVersion?: string;
    readonly publiclyAccessible?: boolean;
    readonly address?: string;
    readonly port?: number;
}

function instanceSummary(d: DBInstance): InstanceSummary {
    return {
        identifier: d.DBInstanceIdentifier ?? "",
        arn: d.DBInstanceArn,
        status: d.DBInstanceStatus,
        engine: d.Engine,
        engineVersion: d.EngineVersion,
        publiclyAccessible: d.PubliclyAccessible,
        address: d.Endpoint?.Address,
        port: d.Endpoint?.Port,
    };
}

/** One instance by identifier or ARN, or undefined if there is none. */
export async function describeInstance(client: RDSClient, identifier: string): Promise<InstanceSummary | undefined> {
    try {
        const r = await client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier }));
        const d = r.DBInstances?.[0];
        return d ? instanceSummary(d) : undefined;
    } catch (e) {
        if ((e as { name?: string }).name === "DBInstanceNotFoundFault" || (e as { name?: string }).name === "DBInstanceNotFound") {
            return undefined;
        }
        throw e;
    }
}

/** Waits until an instance is available. */
export function waitForInstance(client: RDSClient, identifier: string, opts?: WaitOptions): Promise<InstanceSummary> {
    return waitFor(
        `DB instance ${identifier}`,
        async () => {
            const d = await describeInstance(client, identifier);
            if (d === undefined) {
                return { done: false, state: "not found yet" };
            }
            if (d.status === "available") {
                return { done: true, value: d };
            }
            if (d.status === "failed" || d.status === "incompatible-restore" || d.status === "deleting") {
                return { done: false, failed: `its status is ${d.status}` };
            }
            return { done: false, state: d.status };
        },
        opts,
    );
}

/** A restore of a snapshot into a new instance. */
export interface RestoreArgs {
    readonly instanceIdentifier: string;
    readonly snapshotIdentifier: string;
    /** @default the snapshot's */
    readonly instanceClass?: string;
    readonly subnetGroupName?: string;
    readonly vpcSecurityGroupIds?: string[];
    readonly parameterGroupName?: string;
    readonly tags?: Record<string, string>;
}

/**
 * Restores a snapshot into a new instance that is never publicly accessible; returns at once (see
 * {@link waitForInstance}).
 */
export async function restoreFromSnapshot(client: RDSClient, args: RestoreArgs): Promise<InstanceSummary> {
    const r = await client.send(
        new RestoreDBInstanceFromDBSnapshotCommand({
            DBInstanceIdentifier: args.instanceIdentifier,
            DBSnapshotIdentifier: args.snapshotIdentifier,
            DBInstanceClass: args.instanceClass,
            DBSubnetGroupName: args.subnetGroupName,
            VpcSecurityGroupIds: args.vpcSecurityGroupIds,
            DBParameterGroupName: args.parameterGroupName,
            PubliclyAccessible: false,
            CopyTagsToSnapshot: true,
            Tags: Object.entries(args.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
        }),
    );
    return instanceSummary(r.DBInstance ?? {});
}

// ---------------------------------------------------------------------------------------------
// Blue/green deployments.
// ---------------------------------------------------------------------------------------------

/** What Switchyard needs to know about an RDS blue/green deployment. */
export interface BlueGreenSummary {
    readonly identifier: string;
    readonly name?: string;
    /** ARN of the blue (source) instance; after switchover, of the old instance. */
    readonly source?: string;
    /** ARN of the green (target) instance; after switchover, of the new production instance. */
    readonly target?: string;
    /** "PROVISIONING", "AVAILABLE", "SWITCHOVER_IN_PROGRESS", "SWITCHOVER_COMPLETED", ... */
    readonly status?: string;
    readonly statusDetails?: string;
}

function blueGreenSummary(b: SdkBlueGreenDeployment): BlueGreenSummary {
    return {
        identifier: b.BlueGreenDeploymentIdentifier ?? "",
        name: b.BlueGreenDeploymentName,
        source: b.Source,
        target: b.Target,
        status: b.Status,
        statusDetails: b.StatusDetails,
    };
}

/** The green copy to create. */
export interface CreateBlueGreenArgs {
    /** Name of the deployment, unique in the account and region. */
    readonly name: string;
    /** ARN of the blue (production) instance. */
    readonly sourceArn: string;
    /** Engine version of the green copy, e.g. "16.4" for a major upgrade. @default the source's */
    readonly targetEngineVersion?: string;
    /** Parameter group of the green copy (required by RDS for a major version upgrade). @default the source's */
    readonly targetParameterGroupName?: string;
    /** Instance class of the green copy. @default the source's */
    readonly targetInstanceClass?: string;
    readonly tags?: Record<string, string>;
}

/** Creates a blue/green deployment (the green copy replicating from blue). Does not switch over. */
export async function createBlueGreen(client: RDSClient, args: CreateBlueGreenArgs): Promise<BlueGreenSummary> {
    const r = await client.send(
        new CreateBlueGreenDeploymentCommand({
            BlueGreenDeploymentName: args.name,
            Source: args.sourceArn,
            TargetEngineVersion: args.targetEngineVersion,
            TargetDBParameterGroupName: args.targetParameterGroupName,
            TargetDBInstanceClass: args.targetInstanceClass,
            Tags: Object.entries(args.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
        }),
    );
    return blueGreenSummary(r.BlueGreenDeployment ?? {});
}

/** One blue/green deployment, or undefined if there is none. */
export async function describeBlueGreen(client: RDSClient, identifier: string): Promise<BlueGreenSummary | undefined> {
    try {
        const r = await client.send(new DescribeBlueGreenDeploymentsCommand({ BlueGreenDeploymentIdentifier: identifier }));
        const b = r.BlueGreenDeployments?.[0];
        return b ? blueGreenSummary(b) : undefined;
    } catch (e) {
        if ((e as { name?: string }).name === "BlueGreenDeploymentNotFoundFault") {
            return undefined;
        }
        throw e;
    }
}

const BLUE_GREEN_FAILED = ["INVALID_CONFIGURATION", "SWITCHOVER_FAILED", "PROVISIONING_FAILED", "DELETING"];

/** Waits until a blue/green deployment reaches `status`; fails on a failed or deleting state. */
export function waitForBlueGreen(client: RDSClient, identifier: string, status: string, opts?: WaitOptions): Promise<BlueGreenSummary> {
    return waitFor(
        `blue/green deployment ${identifier} reaching ${status}`,
        async () => {
            const b = await describeBlueGreen(client, identifier);
            if (b === undefined) {
                return { done: false, failed: "it does not exist" };
            }
            if (b.status === status) {
                return { done: true, value: b };
            }
            if (b.status !== undefined && BLUE_GREEN_FAILED.includes(b.status)) {
                return { done: false, failed: `its status is ${b.status}${b.statusDetails ? ` (${b.statusDetails})` : ""}` };
            }
            return { done: false, state: b.status };
        },
        opts,
    );
}

/** Options of a switchover. */
export interface SwitchoverOptions extends WaitOptions {
    /**
     * Seconds RDS may take to switch over before it rolls back (RDS's SwitchoverTimeout).
     * @default 300
     */
    readonly switchoverTimeoutSeconds?: number;
    /** Wait until the switchover has completed. @default true */
    readonly wait?: boolean;
}

/**
 * Switches a blue/green deployment over: green becomes production and takes over blue's endpoint.
 * This is the separate, explicit step after the update that created the deployment; nothing in a
 * `pulumi up` calls it. Refuses unless the deployment is AVAILABLE (green caught up with blue).
 *
 * After the switchover the stack's `aws.rds.Instance` still tracks the old instance (renamed with
 * an `-old1` suffix by RDS): remove the blue/green target from the stack's configuration, then
 * `pulumi refresh`, or re-import the new instance, before the next update.
 *
 * @example await switchoverBlueGreen(rdsClient({ region: "us-east-1" }), "bgd-abc123")
 */
export async function switchoverBlueGreen(client: RDSClient, identifier: string, opts: SwitchoverOptions = {}): Promise<BlueGreenSummary> {
    const before = await describeBlueGreen(client, identifier);
    if (before === undefined) {
        throw new Error(`blue/green deployment ${identifier} does not exist`);
    }
    if (before.status !== "AVAILABLE") {
        throw new Error(
            `blue/green deployment ${identifier} is ${before.status ?? "in an unknown state"}, not AVAILABLE: ` +
                "switch over only once the green copy is available and caught up",
        );
    }
    await client.send(
        new SwitchoverBlueGreenDeploymentCommand({
            BlueGreenDeploymentIdentifier: identifier,
            SwitchoverTimeout: opts.switchoverTimeoutSeconds ?? 300,
        }),
    );
    if (opts.wait === false) {
        return (await describeBlueGreen(client, identifier)) ?? before;
    }
    return waitForBlueGreen(client, identifier, "SWITCHOVER_COMPLETED", opts);
}

/**
 * Deletes a blue/green deployment. The green instance is deleted with it only when the deployment
 * never switched over (then green is an abandoned copy); after a switchover it is production and is
 * always kept.
 */
export async function deleteBlueGreen(client: RDSClient, identifier: string): Promise<void> {
    const b = await describeBlueGreen(client, identifier);
    if (b === undefined) {
        return;
    }
    await client.send(
        new DeleteBlueGreenDeploymentCommand({
            BlueGreenDeploymentIdentifier: identifier,
            DeleteTarget: b.status !== "SWITCHOVER_COMPLETED" && b.status !== "SWITCHOVER_IN_PROGRESS",
        }),
    );
}
