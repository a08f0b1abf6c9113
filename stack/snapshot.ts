/**
 * Backups of a local stack's database: a named, immutable, consistent snapshot taken while the
 * server runs (the local twin of an RDS snapshot).
 */
import * as path from "path";
import { openStack, StackTarget, UserError } from "./run";
import { findComponent } from "./pairs";
import { parseSnapshotName } from "./names";
import * as ops from "../components/local/ops";

export interface StackSnapshotOptions {
    /** Snapshot name. @default "<stack>-<UTC time>" */
    readonly name?: string;
    /** The pair whose database to snapshot, when the stack has several. @default the stack's only pair */
    readonly pair?: string;
}

/** A compact UTC time for names, e.g. 20261124T083500Z. */
export function utcStamp(d: Date = new Date()): string {
    return d.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

/** Takes a snapshot of a local blue-green stack's database, without stopping it. */
export async function snapshotStack(target: StackTarget, opts: StackSnapshotOptions = {}): Promise<ops.SnapshotMeta & { dir: string }> {
    const name = parseSnapshotName(opts.name ?? `${target.stackName}-${utcStamp()}`, "snapshot name");
    const pair = await findComponent(await openStack(target), "pair", target.stackName, opts.pair);
    const out = pair.outputs;
    if (pair.platform !== "local" || typeof out.snapshotRoot !== "string") {
        throw new UserError(
            `pair "${pair.name}" of stack "${target.stackName}" is not a local pair with snapshots (${pair.type}): on AWS, snapshots are RDS snapshots`,
        );
    }
    const dir = path.join(out.snapshotRoot, name);
    const meta = await ops.takeSnapshot({ dataDir: out.dataDir as string, port: out.databasePort as number, snapshotDir: dir, name });
    return { ...meta, dir };
}
