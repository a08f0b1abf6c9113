/**
 * Switchyard's own bookkeeping for a stack, kept durably beside the stack's state in the backend:
 * for a file backend `<dir>/.pulumi/switchyard/<project>/<stack>/`, written atomically (a temporary
 * file, fsync, rename, fsync of the folder), so a kill at any instant leaves the old record or the
 * new one, never half of one. Other backends keep them under the project's switchyard home.
 */
import * as fs from "fs";
import * as path from "path";
import { switchyardHome } from "../components/config";
import { fileBackendDir } from "./recover";

/** The folder of a stack's records. */
export function recordsDir(backendUrl: string, projectRoot: string, project: string, stack: string): string {
    const dir = fileBackendDir(backendUrl);
    return dir ? path.join(dir, ".pulumi", "switchyard", project, stack) : path.join(switchyardHome(projectRoot), "records", project, stack);
}

/** A storage fault named for the user: where, and why (a full or read-only disk). */
export class StorageError extends Error {
    constructor(
        message: string,
        readonly code?: string,
    ) {
        super(message);
        this.name = "StorageError";
    }
}

const CAUSES: Record<string, string> = {
    ENOSPC: "no space left on device",
    EROFS: "read-only file system",
    EDQUOT: "disk quota exceeded",
    EACCES: "permission denied",
    EPERM: "operation not permitted",
};

function storageError(e: unknown, file: string): Error {
    const code = (e as NodeJS.ErrnoException).code;
    if (code && CAUSES[code]) {
        return new StorageError(`cannot write ${file}: ${CAUSES[code]} (${code}); free space there or make it writable, then retry`, code);
    }
    return e as Error;
}

/** JSON records of one stack. */
export class RecordStore {
    constructor(readonly dir: string) {}

    read<T>(name: string): T | undefined {
        const file = path.join(this.dir, `${name}.json`);
        try {
            return JSON.parse(fs.readFileSync(file, "utf8")) as T;
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code === "ENOENT") {
                return undefined;
            }
            throw new Error(`record ${file} cannot be read: ${(e as Error).message}`);
        }
    }

    /** Writes a record atomically and durably. */
    write(name: string, value: unknown): void {
        const file = path.join(this.dir, `${name}.json`);
        const tmp = `${file}.${process.pid}.tmp`;
        try {
            fs.mkdirSync(this.dir, { recursive: true });
            const fd = fs.openSync(tmp, "w");
            try {
                fs.writeFileSync(fd, JSON.stringify(value, null, 2) + "\n");
                fs.fsyncSync(fd);
            } finally {
                fs.closeSync(fd);
            }
            fs.renameSync(tmp, file);
            syncDir(this.dir);
        } catch (e) {
            fs.rmSync(tmp, { force: true });
            throw storageError(e, file);
        }
    }

    remove(name: string): void {
        const file = path.join(this.dir, `${name}.json`);
        if (!fs.existsSync(file)) {
            return; // nothing recorded yet (a stack that never ran a cutover): nothing to remove
        }
        try {
            fs.rmSync(file, { force: true });
            syncDir(this.dir);
        } catch (e) {
            throw storageError(e, file);
        }
    }
}

function syncDir(dir: string): void {
    const fd = fs.openSync(dir, "r");
    try {
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
}
