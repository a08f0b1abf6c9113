/**
 * What a killed engine leaves behind, and how it is cleared: a lock file of the file backend whose
 * owner is gone, and operations left pending in the state by an `up` that never finished.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { isAlive } from "../components/local/ops/proc";
import { UserError } from "./errors";

/** The folder of a `file://` backend URL, or undefined for any other backend. */
export function fileBackendDir(url: string): string | undefined {
    const m = /^file:\/\/(.+)$/.exec(url);
    return m ? path.resolve(m[1]) : undefined;
}

/** A lock file of the file backend (`.pulumi/locks/organization/<project>/<stack>/<id>.json`). */
export interface EngineLock {
    readonly file: string;
    readonly pid: number;
    readonly hostname: string;
    readonly username?: string;
    readonly timestamp?: string;
}

/** The folder of a stack's locks in a file backend: `.pulumi/locks/organization/<project>/<stack>`. */
function lockDirOf(backendDir: string, project: string, stack: string): string {
    return path.join(backendDir, ".pulumi", "locks", "organization", project, stack);
}

/** The locks held on a stack of a file backend. */
export function engineLocks(backendDir: string, project: string, stack: string): EngineLock[] {
    const dir = lockDirOf(backendDir, project, stack);
    if (!fs.existsSync(dir)) {
        return [];
    }
    const locks: EngineLock[] = [];
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith(".json"))) {
        const file = path.join(dir, f);
        try {
            const c = JSON.parse(fs.readFileSync(file, "utf8")) as { pid?: number; hostname?: string; username?: string; timestamp?: string };
            locks.push({ file, pid: Number(c.pid), hostname: String(c.hostname ?? ""), username: c.username, timestamp: c.timestamp });
        } catch {
            // A lock file cut short by a kill while it was written: no owner can be named, so none is alive.
            locks.push({ file, pid: 0, hostname: os.hostname() });
        }
    }
    return locks;
}

/** Pure: which locks may be cleared (same host, owner not alive) and which must be waited for. */
export function judgeLocks(locks: readonly EngineLock[], host: string, alive: (pid: number) => boolean): { stale: EngineLock[]; held: EngineLock[] } {
    const stale: EngineLock[] = [];
    const held: EngineLock[] = [];
    for (const l of locks) {
        (l.hostname === host && !(l.pid > 0 && alive(l.pid)) ? stale : held).push(l);
    }
    return { stale, held };
}

/**
 * Clears the locks whose owner process is gone (same host, pid not alive), and refuses with a
 * UserError naming the owner when one is alive or on another host. Returns one message per lock cleared.
 */
export function clearStaleLocks(backendDir: string, project: string, stack: string): string[] {
    const { stale, held } = judgeLocks(engineLocks(backendDir, project, stack), os.hostname(), isAlive);
    if (held.length > 0) {
        const l = held[0];
        throw new UserError(
            l.hostname === os.hostname()
                ? `stack "${stack}" is locked by a running engine (pid ${l.pid}${l.username ? `, user ${l.username}` : ""}, since ${l.timestamp ?? "?"}): wait for it to finish`
                : `stack "${stack}" is locked by an engine on host ${l.hostname} (pid ${l.pid}): wait for it, or, if that host's process is gone, delete ${l.file}`,
        );
    }
    clearLockTempFiles(backendDir, project, stack);
    return stale.map((l) => {
        fs.rmSync(l.file, { force: true });
        return `cleared a stale engine lock on stack "${stack}" left by pid ${l.pid || "?"} (no longer running on this host${l.timestamp ? `; taken ${l.timestamp}` : ""})`;
    });
}

/**
 * Removes the half-written copies (`<id>.json.<n>.tmp`) that the file backend leaves beside a lock
 * when it is killed while writing one, or when the disk fills as it writes one: the engine reads every
 * file of the folder as a lock, so an empty one fails every later operation with "unexpected end of
 * JSON input". They hold no lock. Empty ones go at once; others younger than `minAgeMs` are left,
 * since an engine starting right now may still be renaming its own.
 */
export function clearLockTempFiles(backendDir: string, project: string, stack: string, minAgeMs = 10_000, now = Date.now()): string[] {
    const dir = lockDirOf(backendDir, project, stack);
    if (!fs.existsSync(dir)) {
        return [];
    }
    const removed: string[] = [];
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith(".tmp"))) {
        const file = path.join(dir, f);
        try {
            const st = fs.statSync(file);
            // An empty one holds nothing to finish (the disk was full as the lock was written), and
            // the engine reads every file of the folder as a lock: "unexpected end of JSON input".
            if (st.size === 0 || now - st.mtimeMs >= minAgeMs) {
                fs.rmSync(file, { force: true });
                removed.push(file);
            }
        } catch {
            // Gone already: nothing to clear.
        }
    }
    return removed;
}

/**
 * Repairs what a full disk leaves of a stack's files when it cuts an update short (the engine then
 * fails every later operation with "unexpected end of JSON input"):
 * - a state file cut short is restored from the copy the file backend keeps beside it
 *   (`<stack>.json.bak`, the state before that update), else from the newest checkpoint in the
 *   stack's history that reads; the next `up` converges on the program again;
 * - an attributes file cut short (`*.attrs`, the storage layer's metadata of a file) is removed: the
 *   file it describes reads without it.
 * Returns one message per repair; nothing when every file reads, or when no good copy exists.
 */
export function repairCutState(backendDir: string, project: string, stack: string): string[] {
    const stacksDir = path.join(backendDir, ".pulumi", "stacks", project);
    const historyDir = path.join(backendDir, ".pulumi", "history", project, stack);
    const messages: string[] = [];
    for (const dir of [stacksDir, historyDir]) {
        for (const f of listDir(dir).filter((n) => n.endsWith(".attrs") && (dir === historyDir || n.startsWith(`${stack}.json`)))) {
            const attrs = path.join(dir, f);
            if (!readsAsJson(attrs)) {
                fs.rmSync(attrs, { force: true });
                messages.push(`removed ${attrs}: it was cut short (a full disk during an update)`);
            }
        }
    }
    const file = path.join(stacksDir, `${stack}.json`);
    if (!fs.existsSync(file) || readsAsJson(file)) {
        return messages;
    }
    const history = listDir(historyDir)
        .filter((n) => n.endsWith(".checkpoint.json"))
        .sort()
        .reverse()
        .map((n) => path.join(historyDir, n));
    const good = [`${file}.bak`, ...history].find((c) => fs.existsSync(c) && readsAsJson(c));
    if (good === undefined) {
        return messages;
    }
    const tmp = `${file}.${process.pid}.restore`;
    fs.copyFileSync(good, tmp);
    const fd = fs.openSync(tmp, "r");
    try {
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    fs.rmSync(`${file}.attrs`, { force: true });
    messages.push(
        `restored the state of stack "${stack}" from ${good.endsWith(".bak") ? "its backup copy" : `its last recorded checkpoint (${path.basename(good)})`}: ` +
            "the state file was cut short (a full disk during an update); the next up converges on the program",
    );
    return messages;
}

function listDir(dir: string): string[] {
    try {
        return fs.readdirSync(dir);
    } catch {
        return [];
    }
}

function readsAsJson(file: string): boolean {
    try {
        JSON.parse(fs.readFileSync(file, "utf8"));
        return true;
    } catch {
        return false;
    }
}

interface PendingOperation {
    readonly type?: string;
    readonly resource?: { readonly urn?: string };
}

/**
 * Drops the operations an interrupted `up` left pending in the state, so the next update neither
 * fails nor warns. Each one is named in the returned messages. The resources they were acting on are
 * then read afresh by the next `up`, which converges them on the program.
 */
export async function clearPendingOperations(stack: Stack): Promise<string[]> {
    const state = await stack.exportStack();
    const deployment = state.deployment as { pending_operations?: PendingOperation[] } | undefined;
    const pending = deployment?.pending_operations ?? [];
    if (pending.length === 0) {
        return [];
    }
    delete deployment!.pending_operations;
    await stack.importStack(state);
    return pending.map((p) => `cleared an operation left pending by an interrupted update: ${p.type ?? "?"} of ${p.resource?.urn?.split("::").pop() ?? "?"}`);
}
