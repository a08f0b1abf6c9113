/**
 * `npm run bench`: every performance figure of bench/RESULTS.md in one run.
 *
 * Runs the benches in order (setup, clone, revert, gates, flags, replication, kills, mask, demo), each as its own npm script,
 * each under a time limit and, by default, holding the e2e lock (`flock`, the same lock the end-to-end
 * tests and CI take, so no other run shares the cores or the fixed ports). Each bench reports through
 * the protocol of bench/result.ts (`BENCH_JSON`). A bench that fails, times out or is missing is
 * recorded as a gap with its exit code and last output lines, and the run goes on. At the end a dated
 * section, "## npm run bench, <date>", is appended to bench/RESULTS.md: the machine, one subsection per
 * bench, and the gaps (every missed goal, every bench that did not complete).
 *
 * @example
 * ```sh
 * npm run bench                                   # all of them (about an hour on 2 cores)
 * npm run bench -- --only gates,revert            # a subset
 * BENCH_SETUP_CASES=warm npm run bench -- --only setup --no-append
 * npm run bench -- --help
 * ```
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as readline from "readline";
import { spawn } from "child_process";
import { Command, InvalidArgumentError } from "commander";
import { readBenchResult } from "./result";
import { readMachine } from "./machine";
import { BenchOutcome, durationText, gapsOf, renderSection, statusText } from "./section";

const ROOT = path.resolve(__dirname, "..");

/** One bench the runner knows. */
export interface BenchSpec {
    /** Name for `--only` and the npm script `bench:<name>`. */
    readonly name: string;
    readonly title: string;
    /** The file that must exist for the bench to run (relative to the project root). */
    readonly file: string;
    /** Time limit in minutes, lock wait excluded. */
    readonly limitMinutes: number;
    /** What it measures, for --help. */
    readonly about: string;
}

/** The benches, in the order they run. */
export const BENCHES: readonly BenchSpec[] = [
    { name: "setup", title: "Set-up time", file: "bench/setup.ts", limitMinutes: 30, about: "warm and cold `scripts/setup.sh` in fresh clones of HEAD (cold: about 6 min)" },
    { name: "clone", title: "Clone speed", file: "bench/clone.ts", limitMinutes: 45, about: "snapshot and restore, XFS reflink and plain copy, against cp -a (root: mounts an XFS image)" },
    { name: "revert", title: "Revert speed", file: "bench/revert.ts", limitMinutes: 15, about: "runtime API first against config + up, under load" },
    { name: "gates", title: "Streaming gates", file: "bench/gates.ts", limitMinutes: 45, about: "error onset → verdict, errors during a breach, false reverts, step overhead, p99, revert" },
    { name: "flags", title: "Flag steps", file: "bench/flags.ts", limitMinutes: 20, about: "a breach at a flag step: verdict → flag off read back, → last answer served on; config, state and file after" },
    { name: "replication", title: "Replicated databases", file: "bench/replication.ts", limitMinutes: 10, about: "write pause of a switchover and a revert under writes, lag at 1,000 writes/s, rows lost" },
    { name: "kills", title: "Kill suite", file: "bench/kills.sh", limitMinutes: 30, about: "SIGKILL of cutovers at seeded instants, then resume or revert (about 10 min)" },
    { name: "mask", title: "Masking speed", file: "bench/mask.ts", limitMinutes: 20, about: "a 1 GB table masked against PostgreSQL's own CREATE TABLE … AS SELECT copy of it" },
    { name: "demo", title: "Demo wall times", file: "bench/demo.ts", limitMinutes: 25, about: "`npm run demo`, its tear-down and the package test in a fresh clone" },
];

/** The default lock the end-to-end tests and CI take on this machine. */
export const E2E_LOCK = "/tmp/switchyard-e2e.lock";
const MARK = "::switchyard-bench: lock held, bench starting::";
const TAIL_LINES = 25;
const GRACE_MS = 30_000;

export interface RunOptions {
    /** Names to run, in BENCHES order. */
    readonly only: readonly string[];
    /** Lock file taken around each bench, or undefined for none. */
    readonly lock: string | undefined;
    readonly lockWaitMinutes: number;
    /** Per-bench limit overrides in minutes. */
    readonly limits: Readonly<Record<string, number>>;
    /** Where the section is appended, or undefined to print it only. */
    readonly results: string | undefined;
    /** Folder for each bench's full log and result file. */
    readonly logDir: string;
}

/** `--only gates,revert` → ["revert", "gates"] (BENCHES order); throws on an unknown name. */
export function selectBenches(only: string | undefined): string[] {
    if (!only) return BENCHES.map((b) => b.name);
    const asked = only.split(",").map((s) => s.trim()).filter(Boolean);
    const unknown = asked.filter((n) => !BENCHES.some((b) => b.name === n));
    if (unknown.length > 0 || asked.length === 0) {
        throw new InvalidArgumentError(`unknown bench ${unknown.map((u) => `"${u}"`).join(", ") || "(none given)"}; the benches: ${BENCHES.map((b) => b.name).join(", ")}`);
    }
    return BENCHES.filter((b) => asked.includes(b.name)).map((b) => b.name);
}

/** `--limit clone=60,kills=40` → { clone: 60, kills: 40 }; throws on a bad entry. */
export function parseLimits(text: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const part of text.split(",").filter(Boolean)) {
        const m = part.match(/^([a-z]+)=(\d+(?:\.\d+)?)$/);
        if (!m || !BENCHES.some((b) => b.name === m[1]) || Number(m[2]) <= 0) {
            throw new InvalidArgumentError(`"${part}" is not <bench>=<minutes> with a known bench (${BENCHES.map((b) => b.name).join(", ")})`);
        }
        out[m[1]] = Number(m[2]);
    }
    return out;
}

/**
 * Whether a process above this one already holds `lock` through `flock <lock> …` (say the run was
 * started as `flock /tmp/switchyard-e2e.lock npm run bench`): then taking it again per bench would
 * wait forever.
 */
export function lockHeldAbove(lock: string, pid = process.ppid): boolean {
    const want = path.resolve(lock);
    for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
        try {
            const argv = fs.readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
            if (path.basename(argv[0]) === "flock" && argv.slice(1).some((a) => a && path.resolve(a) === want)) return true;
            p = Number(fs.readFileSync(`/proc/${p}/stat`, "utf8").replace(/^.*\) /s, "").split(" ")[1]);
        } catch {
            return false;
        }
    }
    return false;
}

/** A positive number of minutes. */
function minutes(text: string): number {
    const n = Number(text);
    if (!(n > 0)) throw new InvalidArgumentError(`"${text}" is not a positive number of minutes`);
    return n;
}

const say = (s: string) => process.stdout.write(`bench: ${s}\n`);
const clock = () => new Date().toISOString().slice(11, 19);

/** The child running now, so a Ctrl-C of the runner stops it too (it runs in its own process group). */
let current: { pid: number } | undefined;
let interrupted = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
    try {
        process.kill(-pid, signal);
    } catch {
        /* already gone */
    }
}

/** Runs one bench to its end; never throws. */
async function runBench(spec: BenchSpec, o: RunOptions): Promise<BenchOutcome> {
    const command = `npm run bench:${spec.name}`;
    const base = { name: spec.name, title: spec.title, command };
    if (!fs.existsSync(path.join(ROOT, spec.file))) {
        return { ...base, status: "missing", reason: `${spec.file} does not exist` };
    }
    const json = path.join(o.logDir, `${spec.name}.json`);
    const logFile = path.join(o.logDir, `${spec.name}.log`);
    fs.rmSync(json, { force: true });
    const log = fs.createWriteStream(logFile);
    const script = `echo '${MARK}' >&2; exec ${command}`;
    const [cmd, ...args] = o.lock ? ["flock", o.lock, "bash", "-c", script] : ["bash", "-c", script];
    const limitMs = (o.limits[spec.name] ?? spec.limitMinutes) * 60_000;
    const child = spawn(cmd, args, { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, BENCH_JSON: json } });
    current = { pid: child.pid! };
    const tail: string[] = [];
    let started: number | undefined;
    let stopped: "timeout" | "no-lock" | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    const stop = (why: "timeout" | "no-lock") => {
        stopped = why;
        say(`${spec.name}: ${why === "timeout" ? `time limit (${limitMs / 60_000} min) reached` : `the lock was not free within ${o.lockWaitMinutes} min`}; stopping it`);
        killGroup(child.pid!, "SIGTERM");
        graceTimer = setTimeout(() => killGroup(child.pid!, "SIGKILL"), GRACE_MS);
    };
    let timer = setTimeout(() => stop("no-lock"), o.lockWaitMinutes * 60_000);
    const waitNotice = o.lock ? setTimeout(() => say(`${spec.name}: waiting for ${o.lock} (another run holds it)…`), 3000) : undefined;
    const onLine = (line: string) => {
        if (line === MARK) {
            clearTimeout(timer);
            clearTimeout(waitNotice);
            started = Date.now();
            timer = setTimeout(() => stop("timeout"), limitMs);
            return;
        }
        process.stdout.write(`  ${spec.name} │ ${line}\n`);
        log.write(`${line}\n`);
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
    };
    readline.createInterface({ input: child.stdout! }).on("line", onLine);
    readline.createInterface({ input: child.stderr! }).on("line", onLine);
    const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
        child.on("error", (e) => {
            onLine(`could not start ${cmd}: ${e.message}`);
            resolve([null, null]);
        });
        child.on("close", (code, sig) => resolve([code, sig]));
        // A process that left the group but kept the output pipe open must not hold the run.
        child.on("exit", (code, sig) => setTimeout(() => resolve([code, sig]), 10_000).unref());
    });
    clearTimeout(timer);
    clearTimeout(waitNotice);
    clearTimeout(graceTimer);
    // A bench stopped at its limit has cleaned up and exited; whatever of its group outlived it goes now.
    if (stopped || interrupted) killGroup(child.pid!, "SIGKILL");
    current = undefined;
    await new Promise<void>((r) => log.end(r));
    const durationMs = started !== undefined ? Date.now() - started : undefined;
    let result;
    let reason: string | undefined;
    if (fs.existsSync(json)) {
        try {
            result = readBenchResult(json);
        } catch (e) {
            reason = `its result file is unreadable (${(e as Error).message})`;
        }
    } else {
        reason = "it wrote nothing to BENCH_JSON";
    }
    const common = { ...base, result, exitCode, signal, durationMs };
    if (stopped === "no-lock") return { ...base, status: "no-lock", reason: `${o.lock} was not free within ${o.lockWaitMinutes} min` };
    if (stopped === "timeout") return { ...common, status: "timeout", reason: `${limitMs / 60_000} min`, tail };
    if (exitCode !== 0) return { ...common, status: "failed", tail };
    if (!result) return { ...common, status: "no-result", reason, tail };
    return { ...common, status: "ok" };
}

/** Runs the selected benches in order; returns their outcomes (fewer when interrupted). */
export async function runAll(o: RunOptions): Promise<BenchOutcome[]> {
    const specs = BENCHES.filter((b) => o.only.includes(b.name));
    const outcomes: BenchOutcome[] = [];
    for (const [i, spec] of specs.entries()) {
        if (interrupted) break;
        const limit = o.limits[spec.name] ?? spec.limitMinutes;
        say(`[${i + 1}/${specs.length}] ${clock()} ${spec.name}: npm run bench:${spec.name} (limit ${limit} min)`);
        const out = await runBench(spec, o);
        const figures = out.result?.figures ?? [];
        const missed = figures.filter((f) => f.met === false).length;
        say(
            `[${i + 1}/${specs.length}] ${clock()} ${spec.name}: ${statusText(out)}${out.durationMs !== undefined ? ` after ${durationText(out.durationMs)}` : ""}; ` +
                `${figures.length} figure${figures.length === 1 ? "" : "s"}, ${missed} missed${out.status === "ok" ? "" : "; recorded as a gap"}`,
        );
        outcomes.push(out);
    }
    return outcomes;
}

function main(argv: string[]): Promise<number> {
    const program = new Command()
        .name("npm run bench --")
        .description("Runs the benches in order, each under a time limit and the e2e lock, and appends their figures and gaps to bench/RESULTS.md.")
        .option("--only <names>", "run only these benches (comma-separated)", selectBenches)
        .option("--limit <bench=minutes,...>", "override time limits, e.g. clone=60", parseLimits, {})
        .option("--lock <file>", "the lock taken around each bench (flock)", E2E_LOCK)
        .option("--no-lock", "take no lock (only for benches that start no server)")
        .option("--lock-wait <minutes>", "give up a bench whose lock is not free within this", minutes, 60)
        .option("--results <file>", "the file the section is appended to", path.join(ROOT, "bench", "RESULTS.md"))
        .option("--no-append", "print the section only; leave bench/RESULTS.md alone")
        .addHelpText(
            "after",
            [
                "",
                "Benches (in order; each is also `npm run bench:<name>`):",
                ...BENCHES.map((b) => `  ${b.name.padEnd(7)} ${b.about} [limit ${b.limitMinutes} min]`),
                "",
                "Each bench writes its figures to the file BENCH_JSON names (bench/result.ts). Environment passed through,",
                "e.g. BENCH_SETUP_CASES=warm (set-up: skip the cold case), BENCH_SCALES=68 (clone: one scale).",
                "Exit code: 0 when every bench ran and reported (missed goals are gaps, not errors), 1 otherwise.",
            ].join("\n"),
        );
    program.parse(argv);
    const opts = program.opts<{ only?: string[]; limit: Record<string, number>; lock: string | false; lockWait: number; results: string; append: boolean }>();
    const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-bench-"));
    const held = opts.lock !== false && lockHeldAbove(opts.lock);
    const o: RunOptions = {
        only: opts.only ?? selectBenches(undefined),
        lock: opts.lock === false || held ? undefined : opts.lock,
        lockWaitMinutes: opts.lockWait,
        limits: opts.limit,
        results: opts.append ? path.resolve(opts.results) : undefined,
        logDir,
    };
    const onSignal = (sig: NodeJS.Signals) => {
        if (interrupted) return;
        interrupted = true;
        say(`${sig}: stopping the running bench; no section will be appended`);
        if (current) killGroup(current.pid, "SIGTERM");
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);

    const date = new Date().toISOString();
    const machine = readMachine(ROOT);
    const command = ["npm run bench", ...(argv.length > 2 ? ["--", ...argv.slice(2)] : [])].join(" ");
    say(`${date}: ${o.only.join(", ")}; logs in ${logDir}`);
    if (held) say(`${opts.lock} is already held by a process above this run: no lock taken per bench`);
    say(`machine: ${machine.cores} cores, ${(machine.memoryBytes / 1024 ** 3).toFixed(1)} GiB, ${machine.cpu}; ${machine.kernel}; Node ${machine.node}, HAProxy ${machine.haproxy}, PostgreSQL ${machine.postgres}, Pulumi ${machine.pulumi}; commit ${machine.commit}`);
    return runAll(o).then((outcomes) => {
        if (interrupted) return 130;
        const section = renderSection({ date, command, machine, outcomes });
        process.stdout.write(`${section}\n`);
        if (o.results) {
            fs.appendFileSync(o.results, section);
            say(`appended "## npm run bench, ${date.slice(0, 16)}Z" to ${path.relative(process.cwd(), o.results) || o.results}`);
        }
        const gaps = gapsOf(outcomes);
        say(`${outcomes.filter((x) => x.status === "ok").length} of ${outcomes.length} benches reported; ${gaps.length} gap${gaps.length === 1 ? "" : "s"}`);
        return outcomes.every((x) => x.status === "ok") ? 0 : 1;
    });
}

if (require.main === module) {
    main(process.argv).then(
        (code) => process.exit(code),
        (e) => {
            process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`);
            process.exit(1);
        },
    );
}
