/**
 * Backups of a local stack's database: a named, immutable, consistent snapshot taken while the
 * server runs (the local twin of an RDS snapshot).
 */
import * as path from "path";
import { outputs, StackTarget, UserError } from "./run";
import * as ops from "../components/local/ops";

export interface StackSnapshotOptions {
    /** Snapshot name. @default "<stack>-<UTC time>" */
    readonly name?: string;
}

/** A compact UTC time for names, e.g. 20261124T083500Z. */
export function utcStamp(d: Date = new Date()): string {
    return d.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

/** Takes a snapshot of a local blue-green stack's database, without stopping it. */
export async function snapshotStack(target: StackTarget, opts: StackSnapshotOptions = {}): Promise<ops.SnapshotMeta & { dir: string }> {
    const out = await outputs(target);
    if (out.platform?.value !== "local" || out.snapshotRoot === undefined) {
        throw new UserError(
            `stack "${target.stackName}" is not a running local blue-green stack (no snapshotRoot output): run \`switchyard up ${target.stackName}\` first`,
        );
    }
    const name = opts.name ?? `${target.stackName}-${utcStamp()}`;
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
        throw new UserError(`snapshot name "${name}" is not valid: use letters, digits, '-', '_' and '.'`);
    }
    const snapshotRoot = out.snapshotRoot.value as string;
    const dir = path.join(snapshotRoot, name);
    const meta = await ops.takeSnapshot({ dataDir: out.dataDir.value as string, port: out.databasePort.value as number, snapshotDir: dir, name });
    return { ...meta, dir };
}
