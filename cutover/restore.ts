/**
 * `switchyard restore`: brings a blue-green stack's database back from a backup snapshot, for when
 * data, not code, went wrong. A fresh snapshot of the current data is taken first and named, so the
 * restore itself can be undone. Locally the snapshot is thin-cloned into place on the same path and
 * port: the apps keep their connection settings.
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
}

export interface RestoreResult {
    readonly stack: string;
    /** The snapshot restored. */
    readonly snapshot: string;
    /** The snapshot of the data from before the restore. */
    readonly preRestore: string;
    readonly method: ops.CloneMethod;
    /** Time the clone took, with the database still serving. */
    readonly cloneMs: number;
    /** Time the database was down. */
    readonly downtimeMs: number;
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
    const name = parseSnapshotName(String(o.snapshot ?? ""), "--snapshot");
    if (o.preRestoreName !== undefined) parseSnapshotName(o.preRestoreName, "pre-restore name");
    if (o.confirm !== true) {
        throw new UserError(
            `restoring stack "${target.stackName}" from snapshot ${name} replaces its database's data with the snapshot's; nothing was changed. ` +
                `Run it again with --yes to go ahead (a snapshot of the current data is taken first).`,
        );
    }
    const say = o.onProgress ?? (() => undefined);
    const store = new AutomationStackStore(target, o.pair);
    checkStateStorage(projectEnv(projectOf(target)).PULUMI_BACKEND_URL);
    const release = lockCutover(store.dir, target.stackName);
    try {
        const pair = await findComponent(await openStack(target), "pair", target.stackName, o.pair);
        const out = pair.outputs;
        if (pair.platform !== "local" || typeof out.snapshotRoot !== "string" || typeof out.dataDir !== "string" || typeof out.databasePort !== "number") {
            throw new UserError(
                `pair "${pair.name}" of stack "${target.stackName}" is not a local pair with snapshots (${pair.type}): a restore on AWS is not built yet; ` +
                    `restore the RDS snapshot to a new instance by hand`,
            );
        }
        const dir = path.join(out.snapshotRoot, name);
        try {
            ops.readSnapshot(dir);
        } catch {
            const have = ops.listSnapshots(out.snapshotRoot).map((s) => s.name);
            throw new UserError(`stack "${target.stackName}" has no snapshot named ${name}: ${have.length ? `it has ${have.join(", ")}` : "it has none; take one with `switchyard snapshot`"}`);
        }
        const recovered = await ops.finishInterruptedRestore(out.dataDir, out.databasePort);
        if (recovered) say(recovered);
        const taken = new Set(ops.listSnapshots(out.snapshotRoot).map((s) => s.name));
        const base = o.preRestoreName ?? `pre-restore-${target.stackName}-${utcStamp()}`;
        let pre = base;
        for (let n = 2; taken.has(pre); n++) pre = `${base}-${n}`;
        say(`taking a snapshot of the current data first: ${pre}`);
        await snapshotStack(target, { name: pre, pair: o.pair });
        const r = await ops.swapInSnapshot({ snapshotDir: dir, dataDir: out.dataDir, port: out.databasePort, onProgress: say });
        say(`restored ${name}: ${r.method === "reflink" ? "thin clone" : "copy"} in ${r.cloneMs} ms, database down ${r.downtimeMs} ms; the data from before is in snapshot ${pre}`);
        return { stack: target.stackName, snapshot: name, preRestore: pre, ...r, ...(recovered ? { recovered } : {}) };
    } finally {
        release();
    }
}
