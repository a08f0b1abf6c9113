/**
 * What the benches share: running a command with its output shown and time-stamped, a fresh clone of
 * the committed HEAD, and clean-up that also runs when the runner stops a bench (SIGTERM).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { program } from "../index";
import { StackTarget } from "../stack/run";
import * as readline from "readline";
import { spawn, spawnSync } from "child_process";

/** One line a command printed, with when (ms since the command started). */
export interface Line {
    readonly atMs: number;
    readonly text: string;
}

/** How a command ended. */
export interface Ran {
    readonly code: number | null;
    readonly signal: NodeJS.Signals | null;
    /** Wall time, ms. */
    readonly ms: number;
    /** stdout and stderr lines, in the order they came. */
    readonly lines: readonly Line[];
}

/**
 * Runs a command, echoing each line (prefixed) as it comes, and returns its exit, wall time and lines.
 *
 * @example const r = await runShown("bash", ["scripts/setup.sh"], { cwd: clone, prefix: "warm │ " });
 */
export function runShown(cmd: string, args: readonly string[], o: { cwd: string; env?: NodeJS.ProcessEnv; prefix?: string }): Promise<Ran> {
    const t0 = performance.now();
    const lines: Line[] = [];
    const child = spawn(cmd, args, { cwd: o.cwd, env: o.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    const onLine = (text: string) => {
        lines.push({ atMs: performance.now() - t0, text });
        process.stdout.write(`${o.prefix ?? ""}${text}\n`);
    };
    readline.createInterface({ input: child.stdout }).on("line", onLine);
    readline.createInterface({ input: child.stderr }).on("line", onLine);
    return new Promise((resolve) => {
        child.on("error", (e) => {
            onLine(`could not start ${cmd}: ${e.message}`);
            resolve({ code: null, signal: null, ms: performance.now() - t0, lines });
        });
        child.on("close", (code, signal) => resolve({ code, signal, ms: performance.now() - t0, lines }));
    });
}

/** Runs a command to its end, quietly; throws with its stderr when it fails. */
export function sh(cmd: string, args: readonly string[], cwd?: string): string {
    const r = spawnSync(cmd, args, { cwd, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.error?.message ?? r.stderr}`);
    return r.stdout;
}

/** The committed HEAD of the project at `root`: the commit a fresh clone checks out. */
export function headCommit(root: string): string {
    return sh("git", ["-C", root, "rev-parse", "HEAD"]).trim();
}

/** A fresh `git clone` of `root` at `commit` into `dir` (which must not exist). Uncommitted changes are not in it. */
export function freshClone(root: string, commit: string, dir: string): void {
    sh("git", ["clone", "--quiet", "--no-checkout", root, dir]);
    sh("git", ["-C", dir, "checkout", "--quiet", "--detach", commit]);
}

/**
 * The environment of a new shell in a fresh clone: without the variables `npm run` adds (npm_*,
 * node_modules/.bin on PATH) or BENCH_JSON, plus `extra`.
 */
export function shellEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
        if (!/^npm_/i.test(k) && k !== "BENCH_JSON" && k !== "INIT_CWD") env[k] = v;
    }
    env.PATH = (process.env.PATH ?? "")
        .split(path.delimiter)
        .filter((d) => !d.split(path.sep).includes("node_modules"))
        .join(path.delimiter);
    return { ...env, ...extra };
}

/** Removes a folder, read-only parts too (Go's module cache is read-only). */
export function removeTree(dir: string): void {
    if (!fs.existsSync(dir)) return;
    spawnSync("chmod", ["-R", "u+w", dir]);
    fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Runs `cleanup` once: at the end of `main`, or on SIGTERM/SIGINT (how the runner stops a bench past
 * its limit), after which the process exits 143. Returns `main`'s promise, cleaned up.
 */
export function withCleanup<T>(main: () => Promise<T>, cleanup: () => Promise<void> | void): Promise<T> {
    let done = false;
    const once = async () => {
        if (done) return;
        done = true;
        try {
            await cleanup();
        } catch (e) {
            process.stderr.write(`bench: clean-up failed: ${(e as Error).message}\n`);
        }
    };
    const onSignal = (sig: NodeJS.Signals) => {
        process.stderr.write(`bench: ${sig}: cleaning up\n`);
        void once().then(() => process.exit(143));
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
    return main().finally(once);
}

/** Exit code of a bench: 0, or 1 after printing the error. */
export function reportFailure(e: unknown): void {
    process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
}

/**
 * A throwaway project with one local pair (stack `pair`) on ports base..base+4, its state and home
 * in the project's folder (set in this process's environment), for the benches that drive a pair.
 */
export function benchPairProject(prefix: string, base: number, traffic: { blue: number; green: number }): { root: string; target: StackTarget } {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: switchyard-bench\nruntime: nodejs\nstackConfigDir: stacks\n");
    fs.mkdirSync(path.join(root, "stacks"));
    fs.mkdirSync(path.join(root, "state"));
    const config = {
        "switchyard:platform": "local",
        "switchyard:role": "blue-green",
        "switchyard:name": "bench",
        "switchyard:traffic": traffic,
        "switchyard:colors": { blue: { version: "1.0.0" }, green: { version: "1.1.0" } },
        "switchyard:app": { command: `node ${path.resolve(__dirname, "..", "examples", "app", "server.js")}`, environment: { MIGRATE_ON_START: "1" }, healthCheck: { path: "/healthz", intervalSeconds: 1 } },
        "switchyard:database": { mode: "shared", name: "bench" },
        "switchyard:local": { ports: { router: base, test: base + 1, blue: base + 2, green: base + 3, database: base + 4 } },
    };
    fs.writeFileSync(path.join(root, "stacks", "Pulumi.pair.yaml"), YAML.stringify({ config }));
    process.env.PULUMI_BACKEND_URL = `file://${path.join(root, "state")}`;
    process.env.SWITCHYARD_HOME = path.join(root, "home");
    return { root, target: { stackName: "pair", root, program, onOutput: () => undefined, onNotice: () => undefined } };
}
