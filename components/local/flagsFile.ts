/**
 * The served flagd file on one machine: written whole (a temporary file renamed into place, so an
 * app following the file never reads half of it) and read back. Plain Node, no Pulumi: the local
 * FlagsFile resource's provider and the cutover's flag steps (`cutover/flagsFile.ts`) both call it,
 * so the file has one writer.
 */
import * as fs from "fs";
import * as path from "path";

/** The temporary files of `file` (`.<name>.<pid>.<ms>.tmp`), beside it: the pid of their writer, by name. */
function temporaries(file: string): { name: string; pid: number }[] {
    const base = path.basename(file);
    const prefix = `.${base}.`;
    let names: string[];
    try {
        names = fs.readdirSync(path.dirname(file));
    } catch {
        return [];
    }
    return names
        .filter((n) => n.startsWith(prefix) && n.endsWith(".tmp"))
        .map((n) => ({ name: n, pid: Number(n.slice(prefix.length).split(".")[0]) }))
        .filter((t) => Number.isInteger(t.pid) && t.pid > 0);
}

const alive = (pid: number): boolean => {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM";
    }
};

/**
 * Writes `text` to `file` atomically and durably: a temporary file beside it, written and fsynced,
 * renamed over it, then the folder fsynced (so the rename itself survives a crash). Creates the
 * folder when missing. Temporaries left by a writer that was killed (its pid gone) are removed.
 * @example writeFlagsFile("/srv/app/flags/flags.flagd.json", flagdText(flags))
 */
export function writeFlagsFile(file: string, text: string): void {
    const dir = path.dirname(file);
    fs.mkdirSync(dir, { recursive: true });
    for (const t of temporaries(file)) {
        if (t.pid !== process.pid && !alive(t.pid)) fs.rmSync(path.join(dir, t.name), { force: true });
    }
    const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
    const fd = fs.openSync(tmp, "w", 0o644);
    try {
        fs.writeFileSync(fd, text);
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
    try {
        fs.renameSync(tmp, file);
    } catch (e) {
        fs.rmSync(tmp, { force: true });
        throw e;
    }
    const dfd = fs.openSync(dir, "r");
    try {
        fs.fsyncSync(dfd);
    } finally {
        fs.closeSync(dfd);
    }
}

/** The served file's text, or undefined when there is none. */
export function readFlagsFile(file: string): string | undefined {
    try {
        return fs.readFileSync(file, "utf8");
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw e;
    }
}
