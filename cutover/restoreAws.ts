/**
 * `switchyard restore` on AWS: a fresh manual snapshot of the database in service is taken first
 * through the RDS API and named, then the stack's `switchyard:database.restoreFrom` is set to the
 * snapshot to restore and `up` runs: the program creates a new instance from it beside the old one
 * and points the apps' DATABASE_URL at it (see components/aws/restoreFrom.ts). The old instance is
 * kept, protected, until the operator removes it.
 */
import { RDSClient } from "@aws-sdk/client-rds";
import { Stack } from "@pulumi/pulumi/automation";
import { RESTORE_FROM_KEY, checkRestoreFrom } from "../components/aws/restoreFrom";
import { CONFIG_KEYS } from "../components/types";
import { SnapshotSummary, WaitOptions, createSnapshot, describeSnapshot, listSnapshots, waitForSnapshot } from "../components/aws/rdsApi";
import { UserError } from "../stack/errors";
import { awsHint } from "./aws";

/** Tag of the snapshot a restore takes first. */
export const PRE_RESTORE_TAG = { "switchyard:purpose": "pre-restore" } as const;

/**
 * Name of the snapshot a restore takes first: `<database>-pre-restore-<yyyymmddhhmmss>` in UTC.
 *
 * @example preRestoreSnapshotName("shop-prod", new Date("2026-11-30T16:05:07Z")) // "shop-prod-pre-restore-20261130160507"
 */
export function preRestoreSnapshotName(databaseIdentifier: string, at: Date): string {
    const stamp = at.toISOString().replace(/[-:T]/g, "").slice(0, 14);
    return `${databaseIdentifier}-pre-restore-${stamp}`;
}

/**
 * Takes a manual snapshot of an instance, tagged {@link PRE_RESTORE_TAG}, and waits until it is
 * available. A name already taken is refused: a snapshot is never overwritten.
 *
 * @example await takePreRestoreSnapshot(rds, "shop-prod", preRestoreSnapshotName("shop-prod", new Date()))
 */
export async function takePreRestoreSnapshot(client: RDSClient, databaseIdentifier: string, name: string, wait?: WaitOptions): Promise<SnapshotSummary> {
    if ((await describeSnapshot(client, name)) !== undefined) {
        throw new UserError(`a snapshot named ${name} exists already: the pre-restore snapshot needs a new name`);
    }
    try {
        await createSnapshot(client, databaseIdentifier, name, { ...PRE_RESTORE_TAG });
    } catch (e) {
        throw new Error(`snapshot of database ${databaseIdentifier} before the restore failed: CreateDBSnapshot ${name}: ${(e as Error).message}${awsHint(e, "rds:CreateDBSnapshot", "check the stack's databaseIdentifier output and the region")}`);
    }
    return waitForSnapshot(client, name, wait);
}

/** The snapshot `switchyard:database` (its JSON text) says the database serves from, if any. */
export function restoreFromOf(databaseConfig: string | undefined): string | undefined {
    try {
        const v = databaseConfig === undefined ? undefined : (JSON.parse(databaseConfig) as { restoreFrom?: unknown }).restoreFrom;
        return typeof v === "string" ? v : undefined;
    } catch {
        return undefined;
    }
}

/** What an AWS restore needs. */
export interface AwsRestoreOptions {
    /** The stack (its config is set and `up` run). */
    readonly stack: Stack;
    /** The stack's name, for messages. */
    readonly stackName: string;
    /** The pair's outputs: `databaseIdentifier` is the instance in service. */
    readonly outputs: Record<string, unknown>;
    /** The RDS snapshot to restore (identifier or ARN). */
    readonly snapshot: string;
    /** Name of the snapshot taken first. @default "<database>-pre-restore-<UTC time>" */
    readonly preRestoreName?: string;
    /** @default a client for the SDK's default region, credentials and endpoint */
    readonly rds?: RDSClient;
    /** How long and how often to wait for the pre-restore snapshot. @default an hour, every 15 s */
    readonly wait?: WaitOptions;
    /** @default () => new Date() */
    readonly now?: () => Date;
    /** Told of each stage. */
    readonly say?: (line: string) => void;
    /** Called once the pre-restore snapshot is available, with its name. */
    readonly onSnapshot?: (name: string) => void;
    /** Where the engine's output goes. @default kept, its end shown on a failure */
    readonly onOutput?: (text: string) => void;
}

export interface AwsRestoreResult {
    readonly preRestore: string;
    /** The instance that served before (kept, protected). */
    readonly replaced: string;
    /** The instance serving now, restored from the snapshot. */
    readonly database: string;
}

/**
 * Checks the snapshot, takes the pre-restore snapshot, then sets `switchyard:database.restoreFrom`
 * and runs `up`. Refuses (a UserError, nothing changed) a bad name, a snapshot that does not exist or
 * is not available.
 *
 * @example
 * const r = await restoreAws({ stack, stackName: "prod", outputs: pair.outputs, snapshot: "shop-prod-pre-cutover-20261130101500" });
 */
export async function restoreAws(o: AwsRestoreOptions): Promise<AwsRestoreResult> {
    const say = o.say ?? (() => undefined);
    const problem = checkRestoreFrom(o.snapshot, "--snapshot");
    if (problem) throw new UserError(problem);
    const db = o.outputs.databaseIdentifier;
    if (typeof db !== "string" || db === "") {
        throw new UserError(`stack "${o.stackName}" has no databaseIdentifier output: run \`switchyard up ${o.stackName}\` first`);
    }
    const rds = o.rds ?? new RDSClient({});
    const wanted = await describeSnapshot(rds, o.snapshot).catch((e) => {
        throw new Error(`DescribeDBSnapshots ${o.snapshot} failed: ${(e as Error).message}${awsHint(e, "rds:DescribeDBSnapshots", "check the region")}`);
    });
    if (wanted === undefined) {
        const have = (await listSnapshots(rds, db).catch(() => [])).filter((s) => s.status === "available").map((s) => s.identifier);
        throw new UserError(
            `there is no RDS snapshot named ${o.snapshot}; nothing was changed. ${have.length ? `Database ${db} has ${have.slice(-10).join(", ")}` : `Database ${db} has none available`}`,
        );
    }
    if (wanted.status !== "available") {
        throw new UserError(`RDS snapshot ${o.snapshot} is ${wanted.status}, not available: wait for it, then run the restore again; nothing was changed`);
    }
    const serving = restoreFromOf((await o.stack.getAllConfig())[CONFIG_KEYS.database]?.value);
    if (serving === o.snapshot) {
        throw new UserError(
            `stack "${o.stackName}" was restored from snapshot ${o.snapshot} already (${RESTORE_FROM_KEY}); nothing was changed. ` +
                `To restore it again, copy the snapshot under a new name (aws rds copy-db-snapshot) and restore the copy`,
        );
    }
    const pre = o.preRestoreName ?? preRestoreSnapshotName(db, (o.now ?? (() => new Date()))());
    const problemPre = checkRestoreFrom(pre, "the pre-restore snapshot name");
    if (problemPre) throw new UserError(problemPre);
    say(`taking a snapshot of database ${db} first: ${pre}`);
    await takePreRestoreSnapshot(rds, db, pre, o.wait);
    o.onSnapshot?.(pre);
    say(`setting ${RESTORE_FROM_KEY} to ${o.snapshot} and running up: a new instance from it, beside ${db}`);
    await o.stack.setAllConfig({ [RESTORE_FROM_KEY]: { value: o.snapshot } }, true);
    let log = "";
    try {
        await o.stack.up({ onOutput: o.onOutput ?? ((s) => (log += s)) });
    } catch (e) {
        throw new Error(
            `up of stack "${o.stackName}" restoring ${o.snapshot} failed: ${(e as Error).message}${log ? `\n${log.slice(-2000)}` : ""}\n` +
                `The data from before is in snapshot ${pre}. ${RESTORE_FROM_KEY} is left set: run \`switchyard up ${o.stackName}\` to finish the restore, ` +
                `or remove the key (pulumi config rm --path '${RESTORE_FROM_KEY}') and run up to stay on ${db}.`,
        );
    }
    const out = await o.stack.outputs();
    const now = out.databaseIdentifier?.value;
    const database = typeof now === "string" ? now : "(see the stack's databaseIdentifier output)";
    say(`database ${database} serves, restored from ${o.snapshot}; ${db} is kept (protected) until you remove it`);
    return { preRestore: pre, replaced: db, database };
}
