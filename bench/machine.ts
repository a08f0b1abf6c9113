/**
 * The machine a bench ran on, as bench/RESULTS.md records it: cores, memory, CPU, kernel, and the
 * versions of Node, HAProxy, PostgreSQL and the Pulumi CLI; and the commit measured.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { pgBinDir } from "../components/local/ops/postgres";
import { pulumiCliDir } from "../stack/env";

/** What bench/RESULTS.md says about the machine. A version that could not be read is "not found". */
export interface Machine {
    readonly cores: number;
    /** Total memory in bytes. */
    readonly memoryBytes: number;
    readonly cpu: string;
    /** e.g. "Linux 6.1.0-28-amd64 (Debian GNU/Linux 12 (bookworm))". */
    readonly kernel: string;
    readonly node: string;
    readonly haproxy: string;
    readonly postgres: string;
    readonly pulumi: string;
    /** The commit measured, short, with "+ uncommitted changes" when the tree is dirty. */
    readonly commit: string;
}

const NOT_FOUND = "not found";

/** First line of a command's output matched by `re` (its first group), or "not found". */
function versionOf(cmd: string, args: string[], re: RegExp): string {
    const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 10_000, env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" } });
    const m = `${r.stdout ?? ""}${r.stderr ?? ""}`.match(re);
    return m ? m[1] : NOT_FOUND;
}

function haproxyBin(): string {
    for (const d of [...(process.env.PATH ?? "").split(path.delimiter), "/usr/sbin", "/usr/bin", "/sbin"]) {
        const p = path.join(d, "haproxy");
        if (d && fs.existsSync(p)) return p;
    }
    return "haproxy";
}

function tryOr(fn: () => string): string {
    try {
        return fn();
    } catch {
        return NOT_FOUND;
    }
}

function distro(): string {
    try {
        return fs.readFileSync("/etc/os-release", "utf8").match(/^PRETTY_NAME="?([^"\n]*)"?/m)?.[1] ?? "";
    } catch {
        return "";
    }
}

/** Reads the machine and the commit of the project at `root`. */
export function readMachine(root: string): Machine {
    const cpus = os.cpus();
    const git = (...args: string[]) => spawnSync("git", ["-C", root, ...args], { encoding: "utf8" }).stdout?.trim() ?? "";
    const sha = git("rev-parse", "--short=10", "HEAD");
    const dirty = git("status", "--porcelain", "--untracked-files=no") !== "";
    const d = distro();
    return {
        cores: cpus.length,
        memoryBytes: os.totalmem(),
        cpu: cpus[0]?.model.trim() ?? "unknown",
        kernel: `${os.type()} ${os.release()}${d ? ` (${d})` : ""}`,
        node: process.version,
        haproxy: versionOf(haproxyBin(), ["-v"], /HAProxy version (\S+)/),
        postgres: tryOr(() => versionOf(path.join(pgBinDir(), "postgres"), ["--version"], /\(PostgreSQL\) (\S+)/)),
        pulumi: tryOr(() => versionOf(path.join(pulumiCliDir(), "pulumi"), ["version"], /^(v\S+)/m)),
        commit: sha ? `${sha}${dirty ? " + uncommitted changes" : ""}` : NOT_FOUND,
    };
}
