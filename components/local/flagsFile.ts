/**
 * The served flagd file on one machine: written whole (a temporary file renamed into place, so an
 * app following the file never reads half of it) and read back. Plain Node, no Pulumi: the local
 * FlagsFile resource's provider and the cutover's flag steps both call it.
 */
import * as fs from "fs";
import * as path from "path";

/**
 * Writes `text` to `file` atomically: a temporary file beside it, flushed, then renamed over it.
 * Creates the folder when missing.
 */
export function writeFlagsFile(file: string, text: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
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
