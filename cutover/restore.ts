/**
 * `switchyard restore`: brings a blue-green stack's database back from a backup snapshot, for when
 * data, not code, went wrong. A fresh snapshot of the current data is taken first and named, so the
 * restore itself can be undone. Locally the snapshot is thin-cloned into place on the same path and
 * port: the apps keep their connection settings. On AWS a fresh manual RDS snapshot is taken first,
 * then the snapshot is restored to a new instance beside the old one and the apps are pointed at it,
 * through the stack (`switchyard:database.restoreFrom` and `up`; see restoreAws.ts).
 *
 * Each stage is an event ({@link RestoreEvent}: started, snapshot, restored, failed) a webhook can
 * send (cutover/listeners.ts).
 *
 * It holds the stack's cutover lock: no cutover moves traffic while the database is swapped.
 */
import * as path from "path";
import * as ops from "../components/local/ops";
import { UserError } from "../stack/errors";
import { parseSnapshotName } from "../stack/names";
import { findComponent } from "../stack/pairs";
import { openStack, projectEnv, projectOf, StackTarget } from "../stack/run";
import { snapshotStack, utcStamp } from "../stack/snapshot";
import { checkStateStorage } from "../stack/storage";
import { AutomationStackStore, lockCutover } from "./stackState";
import { checkRestoreFrom } from "../components/aws/restoreFrom";
import type { RDSClient } from "@aws-sdk/client-rds";
import type { WaitOptions } from "../components/aws/rdsApi";
import { RestoreEvent } from "./restoreEvents";

export type { RestoreEvent } from "./restoreEvents";

/**
 * Parses `--snapshot`: a local snapshot's name (see `switchyard snapshot`) or an RDS snapshot
 * identifier or ARN (AWS). Which one the stack takes is checked once its platform is known.
 *
 * @example parseRestoreSnapshot("rds:shop-prod-2026-11-30-03-10") // "rds:shop-prod-2026-11-30-03-10"
 */
export function parseRestoreSnapshot(text: string, flag = "--snapshot"): string {
    return checkRestoreFrom(text, flag) === undefined ? text : parseSnapshotName(text, flag);
}

export interface RestoreOptions {
    /** Name of the snapshot to restore (as `switchyard snapshot` named it). Required. */
    readonly snapshot: string;
    /** The operator's yes: a restore replaces the live database's data. Without it nothing happens. */
    readonly confirm?: boolean;
    /** The pair, when the stack has several. @default the stack's only pair */
    readonly pair?: string;
    /** Name of the snapshot taken first. @default "pre-restore-<stack>-<UTC time>" */
    readonly preRestoreName?: string;
    /** Told of each stage. */
    readonly onProgress?: (line: string) => void;
    /** Told of each stage as an event (for a webhook): started, snapshot, restored or failed. */
    readonly onEvent?: (e: RestoreEvent) => void;
    /** AWS: the RDS client of the pre-restore snapshot. @default the SDK's default region, credentials and endpoint */
    readonly rds?: RDSClient;
    /** AWS: how long and how often to wait for the pre-restore snapshot. @default an hour, every 15 s */
    readonly wait?: WaitOptions;
}

export interface RestoreResult {
    readonly stack: string;
    /** The snapshot restored. */
    readonly snapshot: string;
    /** The snapshot of the data from before the restore. */
    readonly preRestore: string;
    readonly platform: "local" | "aws";
    /** Local: how the snapshot was cloned. */
    readonly method?: ops.CloneMethod;
    /** Local: time the clone took, with the database still serving. */
    readonly cloneMs?: number;
    /** Local: time the database was down. */
    readonly downtimeMs?: number;
    /** AWS: the instance serving now, restored from the snapshot. */
    readonly database?: string;
    /** AWS: the instance that served before, kept (protected) until removed by hand. */
    readonly replaced?: string;
    /** What a restore cut short earlier left, and what was done with it. */
    readonly recovered?: string;
}

/**
 * Restores the stack's database from a snapshot, after taking one of the current data.
 *
 * @example
 * const r = await restore({ stackName: "local" }, { snapshot: "local-20261130T100000Z", confirm: true });
 * console.log(`restored; the data from before is in snapshot ${r.preRestore}`);
 */
export async function restore(target: StackTarget, o: RestoreOptions): Promise<RestoreResult> {
    const name = parseRestoreSnapshot(String(o.snapshot ?? ""), "--snapshot");
    if (o.confirm !== true) {
        throw new UserError(
            `restoring stack "${target.stackName}" from snapshot ${name} replaces its database's data with the snapshot's; nothing was changed. ` +
                `Run it again with --yes to go ahead (a snapshot of the current data is taken first).`,
        );
    }
    const say = o.onProgress ?? (() => undefined);
    const emit = (e: Omit<RestoreEvent, "type" | "at" | "snapshot">) => o.onEvent?.({ type: "restore", at: new Date().toISOString(), snapshot: name, ...e });
    const store = new AutomationStackStore(target, o.pair);
    checkStateStorage(projectEnv(projectOf(target)).PULUMI_BACKEND_URL);
    const release = lockCutover(store.dir, target.stackName);
    try {
        const stack = await openStack(target);
        const pair = await findComponent(stack, "pair", target.stackName, o.pair);
        const out = pair.outputs;
        if (pair.platform === "aws") {
            const { restoreAws } = await import("./restoreAws");
            let pre: string | undefined;
            emit({ stage: "started", platform: "aws" });
            try {
                const r = await restoreAws({
                    stack,
                    stackName: target.stackName,
                    outputs: out,
                    snapshot: name,
                    preRestoreName: o.preRestoreName,
                    rds: o.rds,
                    wait: o.wait,
                    say,
                    onOutput: target.onOutput,
                    onSnapshot: (n) => {
                        pre = n;
                        emit({ stage: "snapshot", platform: "aws", preRestore: n });
                    },
                });
                emit({ stage: "restored", platform: "aws", preRestore: r.preRestore, database: r.database, reason: `${r.replaced} kept, protected, until removed by hand` });
                return { stack: target.stackName, snapshot: name, preRestore: r.preRestore, platform: "aws", database: r.database, replaced: r.replaced };
            } catch (e) {
                emit({ stage: "failed", platform: "aws", reason: (e as Error).message.split("\n")[0], ...(pre ? { preRestore: pre } : {}) });
                throw e;
            }
        }
        if (pair.platform !== "local" || typeof out.snapshotRoot !== "string" || typeof out.dataDir !== "string" || typeof out.databasePort !== "number") {
            throw new UserError(`pair "${pair.name}" of stack "${target.stackName}" is neither a local pair with snapshots nor an AWS pair (${pair.type}): it has no restore`);
        }
        parseSnapshotName(name, "--snapshot");
        if (o.preRestoreName !== undefined) parseSnapshotName(o.preRestoreName, "pre-restore name");
        const dir = path.join(out.snapshotRoot, name);
        try {
            ops.readSnapshot(dir);
        } catch {
            const have = ops.listSnapshots(out.snapshotRoot).map((s) => s.name);
            throw new UserError(`stack "${target.stackName}" has no snapshot named ${name}: ${have.length ? `it has ${have.join(", ")}` : "it has none; take one with `switchyard snapshot`"}`);
        }
        emit({ stage: "started", platform: "local" });
        let pre: string | undefined;
        try {
            const recovered = await ops.finishInterruptedRestore(out.dataDir, out.databasePort);
            if (recovered) say(recovered);
            const taken = new Set(ops.listSnapshots(out.snapshotRoot).map((s) => s.name));
            const base = o.preRestoreName ?? `pre-restore-${target.stackName}-${utcStamp()}`;
            let candidate = base;
            for (let n = 2; taken.has(candidate); n++) candidate = `${base}-${n}`;
            say(`taking a snapshot of the current data first: ${candidate}`);
            await snapshotStack(target, { name: candidate, pair: o.pair });
            pre = candidate;
            emit({ stage: "snapshot", platform: "local", preRestore: pre });
            const r = await ops.swapInSnapshot({ snapshotDir: dir, dataDir: out.dataDir, port: out.databasePort, onProgress: say });
            const how = `${r.method === "reflink" ? "thin clone" : "copy"} in ${r.cloneMs} ms, database down ${r.downtimeMs} ms`;
            say(`restored ${name}: ${how}; the data from before is in snapshot ${pre}`);
            emit({ stage: "restored", platform: "local", preRestore: pre, reason: how });
            return { stack: target.stackName, snapshot: name, preRestore: pre, platform: "local", ...r, ...(recovered ? { recovered } : {}) };
        } catch (e) {
            emit({ stage: "failed", platform: "local", reason: (e as Error).message.split("\n")[0], ...(pre ? { preRestore: pre } : {}) });
            throw e;
        }
    } finally {
        release();
    }
}
