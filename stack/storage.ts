/**
 * Room and write access on the storage under a `file://` state backend, checked before an operation
 * writes there.
 *
 * Pulumi's file backend is not safe on a full disk. A save writes the new state to a temporary file
 * and renames it over the old one, and a write cut short by ENOSPC is still renamed: the stack's state
 * file is left truncated ("failed to load checkpoint: unexpected end of JSON input"). A lock written
 * on a full disk leaves an empty temporary file in the locks folder that every later update then
 * fails to parse. So an operation that writes state must not start without room for it: each save
 * writes the state about three times (the new file, its backup, its history copy).
 */
import * as fs from "fs";
import * as path from "path";
import { fileBackendDir } from "./recover";
import { StorageError } from "./records";

/** Free bytes an operation needs at least, however small the state. */
export const MIN_FREE_BYTES = 1 << 20;

/** Pure: the free bytes an update of a stack whose largest state file has `stateBytes` needs. */
export function bytesNeeded(stateBytes: number): number {
    return Math.max(MIN_FREE_BYTES, 4 * stateBytes);
}

const mib = (n: number) => `${(n / (1 << 20)).toFixed(1)} MiB`;

/**
 * Pure: what keeps an operation from writing to a backend, or undefined when nothing does.
 *
 * @param url the backend, as the user knows it
 * @param free bytes free on its filesystem (for this user)
 * @param stateBytes size of the largest state file there (0 when none yet)
 * @param access the error code of a write-access check of the folder, if it failed (EROFS, EACCES)
 */
export function storageProblem(url: string, free: number, stateBytes: number, access?: string): StorageError | undefined {
    if (access === "EROFS") {
        return new StorageError(`the state backend ${url} is on a read-only file system (EROFS): make it writable, then run the command again`, "EROFS");
    }
    if (access) {
        return new StorageError(`the state backend ${url} cannot be written (${access}): give this user write access to it, then run the command again`, access);
    }
    const needed = bytesNeeded(stateBytes);
    if (free < needed) {
        return new StorageError(
            `the state backend ${url} has no room for this operation's writes: no space left on device (ENOSPC): ` +
                `${mib(free)} free, ${mib(needed)} needed (four times its largest state file); free space there, then run the command again`,
            "ENOSPC",
        );
    }
    return undefined;
}

/** Size of the largest file under dir (0 when there is none). */
function largestFile(dir: string): number {
    let largest = 0;
    let entries: fs.Dirent[];
    try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
        return 0;
    }
    for (const e of entries) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) {
            largest = Math.max(largest, largestFile(p));
        } else if (e.isFile()) {
            largest = Math.max(largest, fs.statSync(p).size);
        }
    }
    return largest;
}

/**
 * Throws a StorageError naming the backend and the cause (EROFS, EACCES, ENOSPC) when an operation
 * could not write its state there; nothing for a backend that is not a `file://` folder.
 *
 * @example
 * checkStateStorage(process.env.PULUMI_BACKEND_URL ?? "file:///srv/state"); // before an up
 */
export function checkStateStorage(url: string): void {
    const dir = fileBackendDir(url);
    if (!dir) {
        return;
    }
    // The nearest folder that exists: a new backend is created inside it.
    let at = dir;
    while (!fs.existsSync(at) && path.dirname(at) !== at) {
        at = path.dirname(at);
    }
    let access: string | undefined;
    try {
        fs.accessSync(at, fs.constants.W_OK);
    } catch (e) {
        access = (e as NodeJS.ErrnoException).code ?? "EACCES";
    }
    const st = fs.statfsSync(at);
    // root may use the blocks a filesystem keeps in reserve; anyone else may not.
    const free = (process.getuid?.() === 0 ? st.bfree : st.bavail) * st.bsize;
    const problem = storageProblem(url, free, largestFile(path.join(dir, ".pulumi", "stacks")), access);
    if (problem) {
        throw problem;
    }
}
