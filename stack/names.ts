/**
 * Names that become parts of file names (a stack's config file, lock and record folders, a snapshot's
 * folder): one rule, checked before a name is ever joined into a path.
 */
import { UserError } from "./errors";

/** A value as a message quotes it: JSON (so whitespace and control characters show), cut when long. */
export function shown(v: unknown): string {
    if (typeof v === "string") {
        return v.length > 60 ? `${JSON.stringify(v.slice(0, 40))}… (${v.length} characters)` : JSON.stringify(v);
    }
    if (Array.isArray(v) && v.length > 12) {
        return `[${v.slice(0, 8).map((x) => JSON.stringify(x)).join(", ")}, …] (${v.length} elements)`;
    }
    try {
        return JSON.stringify(v) ?? String(v);
    } catch {
        return String(v);
    }
}

/** The longest stack or snapshot name (Pulumi's own limit for a stack name). */
export const MAX_NAME_LENGTH = 100;

/**
 * Checks a name that becomes part of a file name (a stack's config file, a lock file, a snapshot's
 * folder): letters, digits, `-`, `_` and `.`; never empty, never `..`, never `/`, never starting with
 * `.` or `-`. Returns a message, or undefined.
 */
export function checkFileName(kind: string, name: unknown): string | undefined {
    const fix = `use letters, digits, '-', '_' and '.' ('.' and '-' not first), at most ${MAX_NAME_LENGTH} characters`;
    if (typeof name !== "string" || name === "") {
        return `${kind} is ${shown(name)}: it is empty; ${fix}`;
    }
    if (name.length > MAX_NAME_LENGTH) {
        return `${kind} ${shown(name)} is too long (${name.length} characters); ${fix}`;
    }
    if (name.includes("/") || name.includes("\\")) {
        return `${kind} ${shown(name)} holds a path separator, but it names a file, never a path; ${fix}`;
    }
    if (name.startsWith(".") || name.includes("..")) {
        return `${kind} ${shown(name)} starts with '.' or holds '..'; ${fix}`;
    }
    if (name.startsWith("-")) {
        return `${kind} ${shown(name)} starts with '-' (it would read as an option); ${fix}`;
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
        const odd = [...new Set([...name].filter((c) => !/[A-Za-z0-9_.-]/.test(c)))].map((c) => JSON.stringify(c)).join(" ");
        return `${kind} ${shown(name)} holds ${odd}; ${fix}`;
    }
    return undefined;
}

/** Parses a snapshot name (a folder under the stack's snapshot root). `latest` is reserved. */
export function parseSnapshotName(text: string, flag = "--name"): string {
    const problem = checkFileName(`${flag} (snapshot name)`, text);
    if (problem) {
        throw new UserError(problem);
    }
    if (text === "latest") {
        throw new UserError(`${flag} is ${shown(text)}: that name is reserved: a sandbox's \`snapshot: "latest"\` means the newest snapshot; choose another name`);
    }
    return text;
}

