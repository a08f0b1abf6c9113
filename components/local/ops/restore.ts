/**
 * Puts a snapshot's data in place of a running server's, on the same data directory path and port,
 * so every app keeps its connection settings. The snapshot is thin-cloned beside the data directory
 * while the server still runs; the server is down only for the stop, two renames and the start.
 *
 * Kill-safe: each step is a rename, and {@link finishInterruptedRestore} (run first by every restore
 * and by the stack's `up`) takes what a kill left to one whole side:
 * - killed before the swap: the clone is removed, the old data stays (and is started again);
 * - killed between the two renames: the clone, complete (its `.ready` marker says so), is put in place;
 * - killed after the swap: the old data is removed.
 */
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { CloneMethod, cloneMethodFor, copyTree, readSnapshot } from "./clone";
import { chownToPg, serverStatus, startServer, stopServer } from "./postgres";

/** The clone being made beside the data directory. */
export const incomingOf = (dataDir: string) => `${dataDir}.incoming`;
/** Written once the clone is whole: only a ready clone is ever swapped in. */
export const readyMarkerOf = (dataDir: string) => `${dataDir}.incoming.ready`;
/** The old data, between the swap and its removal. */
export const outgoingOf = (dataDir: string) => `${dataDir}.outgoing`;

export interface SwapResult {
    readonly method: CloneMethod;
    /** Time to clone the snapshot, with the server still serving. */
    readonly cloneMs: number;
    /** Time the server was down: stop, swap and start. */
    readonly downtimeMs: number;
}

/**
 * Takes what a cut-short restore left to one whole side; returns what it did, in words, or
 * undefined when there was nothing to do. Starts the server when `port` is given and it is down.
 */
export async function finishInterruptedRestore(dataDir: string, port?: number): Promise<string | undefined> {
    const incoming = incomingOf(dataDir);
    const ready = readyMarkerOf(dataDir);
    const outgoing = outgoingOf(dataDir);
    let did: string | undefined;
    if (!fs.existsSync(dataDir)) {
        if (fs.existsSync(incoming) && fs.existsSync(ready)) {
            fs.renameSync(incoming, dataDir);
            did = "a restore was cut short during its swap: the restored data is now in place";
        } else if (fs.existsSync(outgoing)) {
            fs.renameSync(outgoing, dataDir);
            did = "a restore was cut short during its swap, before its copy was whole: the data from before it is back in place";
        } else {
            return undefined;
        }
    }
    if (fs.existsSync(outgoing)) {
        spawnSync("chmod", ["-R", "u+w", outgoing]);
        fs.rmSync(outgoing, { recursive: true, force: true });
        did ??= "a restore was cut short after its swap: the replaced data was removed";
    }
    if (fs.existsSync(incoming)) {
        spawnSync("chmod", ["-R", "u+w", incoming]);
        fs.rmSync(incoming, { recursive: true, force: true });
        did ??= "a restore was cut short before its swap: its unused copy was removed; the data is as it was";
    }
    fs.rmSync(ready, { force: true });
    if (port !== undefined && fs.existsSync(path.join(dataDir, "PG_VERSION")) && !serverStatus(dataDir).running) {
        await startServer(dataDir, port);
    }
    return did;
}

/**
 * Replaces the data of the server in `dataDir` (running on `port`) with the snapshot's, keeping the
 * path and the port. Take a backup of the current data first: this throws it away.
 */
export async function swapInSnapshot(o: { snapshotDir: string; dataDir: string; port: number; onProgress?: (line: string) => void }): Promise<SwapResult> {
    readSnapshot(o.snapshotDir);
    if (!fs.existsSync(path.join(o.dataDir, "PG_VERSION"))) {
        throw new Error(`${o.dataDir} is not a PostgreSQL data directory`);
    }
    const incoming = incomingOf(o.dataDir);
    const ready = readyMarkerOf(o.dataDir);
    const outgoing = outgoingOf(o.dataDir);
    fs.rmSync(ready, { force: true });
    spawnSync("chmod", ["-R", "u+w", incoming]);
    fs.rmSync(incoming, { recursive: true, force: true });

    const t0 = Date.now();
    o.onProgress?.(`cloning the snapshot beside the data directory (the database keeps serving)`);
    const method = await copyTree(path.join(o.snapshotDir, "data"), incoming, cloneMethodFor(path.dirname(o.dataDir)));
    spawnSync("chmod", ["-R", "u+w", incoming]);
    fs.chmodSync(incoming, 0o700);
    chownToPg(incoming);
    fs.writeFileSync(ready, `${process.pid}\n`);
    const cloneMs = Date.now() - t0;

    const t1 = Date.now();
    o.onProgress?.(`swapping: stopping the database, putting the copy in place, starting it on port ${o.port}`);
    await stopServer(o.dataDir);
    fs.renameSync(o.dataDir, outgoing);
    fs.renameSync(incoming, o.dataDir);
    fs.rmSync(ready, { force: true });
    await startServer(o.dataDir, o.port);
    const downtimeMs = Date.now() - t1;
    spawnSync("chmod", ["-R", "u+w", outgoing]);
    fs.rmSync(outgoing, { recursive: true, force: true });
    return { method, cloneMs, downtimeMs };
}
