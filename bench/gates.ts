/**
 * Gate bench: the goals of the streaming gate, measured on a real local pair (PostgreSQL, two app
 * processes, HAProxy, the engine) under load from autocannon through HAProxy, and on the pure core.
 *
 * - breach: green failing 20% of requests at step 10%, 1,000 requests/s; error onset (the router
 *   serving the step) → verdict; the failed requests clients saw; verdict → the last answer from green;
 * - false reverts: a green at 99.9% against a 99% gate, 1,000 simulated cutovers and `--real` real ones;
 * - a healthy cutover at `--rate` requests/s (default 10,000): failed requests, p99 against the same
 *   load with no cutover, and each step's critical path (step decided → router set and read back).
 *
 *   npm run bench:gates [-- --runs 5 --real 20 --rate 10000 --seed N]
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn } from "child_process";
import * as run from "../stack/run";
import * as cut from "../cutover";
import { readWeights } from "../components/local/ops/haproxy";
import { startLoad, LoadResult } from "../cutover/traffic";
import { rng, simulate } from "../cutover/simulate";
import { Figure, writeBenchResult } from "./result";
import { benchPairProject } from "./support";

const BASE = 21600;
const arg = (name: string, d: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : d);
const RUNS = arg("--runs", 5);
const REAL = arg("--real", 20);
const RATE = arg("--rate", 10_000);
const SEED = arg("--seed", Date.now() % 2 ** 31);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const at = (e: { at: string }) => Date.parse(e.at);
const log = (s: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);

/** Load from a process of its own (bench/loadproc.ts); `stop()` ends it and gives its counts. */
function externalLoad(url: string, rate: number, connections: number, maxMs: number): { stop: () => Promise<LoadResult> } {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "loadproc.ts"), url, String(rate), String(connections), String(maxMs)], {
        cwd: path.resolve(__dirname, ".."),
        stdio: ["pipe", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const done = new Promise<LoadResult>((resolve, reject) =>
        child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`the load process exited ${code}: ${out}`)))),
    );
    return {
        stop: () => {
            child.stdin.end();
            return done;
        },
    };
}

async function main(): Promise<void> {
    const started = Date.now();
    const { root, target } = benchPairProject("switchyard-bench-gates-", BASE, { blue: 100, green: 0 });
    const figures: Figure[] = [];
    const notes: string[] = [`seed ${SEED} (\`--seed ${SEED}\` replays the simulation); ${os.cpus().length} cores`];
    const setFaults = async (f: Record<string, number>) => {
        const r = await fetch(`http://127.0.0.1:${BASE + 3}/admin/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(f) });
        if (r.status !== 200) throw new Error(`green's fault endpoint answered ${r.status}`);
    };
    const backToBlue = async (socket: string) => {
        await setFaults({ failRate: 0, slowShare: 0, slowMs: 0 });
        if ((await readWeights(socket)).green !== 0) await cut.revert(target);
    };
    /** A cutover under autocannon load; the load's answers are timed on the epoch clock. */
    async function underLoad(url: string, req: Omit<cut.PlanRequest, "current">, rate: number, connections: number) {
        const events: cut.CutoverEvent[] = [];
        let lastGreen = 0;
        const l = startLoad(url, {
            connections,
            rate,
            durationMs: 600_000,
            onAnswer: (a) => {
                if (a.color === "green") lastGreen = performance.timeOrigin + a.at;
            },
        });
        try {
            const cp = await cut.cutover(target, req, { onEvent: (e) => events.push(e) });
            const load = await l.stop();
            return { cp, events, load, lastGreen };
        } finally {
            await l.stop();
        }
    }
    try {
        log("bringing up a local pair…");
        const up = await run.up(target);
        const url = up.outputs.url.value as string;
        const socket = up.outputs.adminSocket.value as string;

        // 1. A clear breach at step 10%, 1,000 requests/s.
        const onsetToVerdict: number[] = [];
        const clientErrors: number[] = [];
        const verdictToGone: number[] = [];
        for (let i = 0; i < RUNS; i++) {
            await setFaults({ failRate: 0.2 });
            const r = await underLoad(url, { steps: [10, 100], pretest: false, backup: false }, 1000, 32);
            await backToBlue(socket);
            const onset = r.events.find((e) => e.type === "applied" && e.served.green === 10);
            const verdict = r.events.find((e) => e.type === "verdict");
            if (r.cp.phase !== "reverted" || !onset || !verdict) throw new Error(`breach run ${i + 1} ended ${r.cp.phase}: ${r.cp.reason}`);
            onsetToVerdict.push(at(verdict) - at(onset));
            clientErrors.push(r.load.failedColors.green ?? 0);
            verdictToGone.push(Math.max(0, r.lastGreen - at(verdict)));
            log(`breach ${i + 1}/${RUNS}: onset → verdict ${onsetToVerdict[i]} ms, ${clientErrors[i]} failed requests seen, last green answer ${verdictToGone[i].toFixed(0)} ms after the verdict`);
        }
        const minimum = 0.1 * 1000 * 0.2 * 1;
        figures.push(
            { measure: `error onset → verdict, 20%-failing green at 10%, 1,000 req/s (worst of ${RUNS}; median ${median(onsetToVerdict)} ms)`, value: Math.max(...onsetToVerdict), unit: "ms", goal: "≤ 1000 ms", met: Math.max(...onsetToVerdict) <= 1000 },
            { measure: `client errors during that breach (worst of ${RUNS}; the minimum is ${minimum})`, value: +(Math.max(...clientErrors) / minimum).toFixed(2), unit: "× minimum", goal: "≤ 1.5×", met: Math.max(...clientErrors) <= 1.5 * minimum },
            { measure: `revert, verdict → last answer from the failing color, 1,000 req/s (worst of ${RUNS})`, value: +Math.max(...verdictToGone).toFixed(1), unit: "ms", goal: "≤ 50 ms", met: Math.max(...verdictToGone) <= 50 },
        );

        // 2. False reverts: simulated, then real.
        const next = rng(SEED);
        const plan = cut.makePlan({ current: { blue: 100, green: 0 }, steps: [10, 25, 50, 100], pretest: false, backup: false });
        const simulated = Array.from({ length: 1000 }, () => simulate(next, plan, 1000, { failShare: 0.001 })).filter((s) => s.phase !== "promoted").length;
        figures.push({ measure: "false reverts: green at 99.9% against a 99% gate, 1,000 simulated cutovers (1,000 req/s, steps 10/25/50/100, 5 s windows)", value: simulated, unit: "reverts", goal: "0", met: simulated === 0 });
        let realReverts = 0;
        for (let i = 0; i < REAL; i++) {
            await setFaults({ failRate: 0.001 });
            const r = await underLoad(url, { steps: [10, 50, 100], gate: { intervalMs: 3000 }, pretest: false, backup: false }, 1000, 16);
            if (r.cp.phase !== "promoted") realReverts++;
            log(`healthy-ish ${i + 1}/${REAL}: ${r.cp.phase}${r.cp.reason ? ` (${r.cp.reason})` : ""}`);
            await backToBlue(socket);
        }
        figures.push({ measure: `false reverts: green at 99.9% against a 99% gate, ${REAL} real cutovers (1,000 req/s, steps 10/50/100, 3 s windows)`, value: realReverts, unit: "reverts", goal: "0", met: realReverts === 0 });

        // 3. A healthy cutover at RATE requests/s against the same load with none.
        await setFaults({ failRate: 0 });
        log(`baseline: ${RATE} req/s for 25 s with no cutover, from a process of its own…`);
        const base = externalLoad(url, RATE, 64, 25_000);
        await new Promise((r) => setTimeout(r, 25_000));
        const baseline: LoadResult = await base.stop();
        log(`a healthy cutover under the same load…`);
        const ext = externalLoad(url, RATE, 64, 600_000);
        await new Promise((r) => setTimeout(r, 2000));
        const events: cut.CutoverEvent[] = [];
        const cp = await cut.cutover(target, { steps: [10, 25, 50, 100], pretest: false, backup: false }, { onEvent: (e) => events.push(e) });
        const h = { cp, events, load: await ext.stop() };
        const steps = h.events.filter((e) => e.type === "step");
        const applied = h.events.filter((e): e is Extract<cut.CutoverEvent, { type: "applied" }> => e.type === "applied");
        const overhead = steps.map((s, i) => (applied[i] ? at(applied[i]) - at(s) : NaN)).filter((x) => !Number.isNaN(x));
        log(`healthy cutover ${h.cp.phase}: ${h.load.total} requests (${h.load.rps.toFixed(0)}/s), ${h.load.failed} failed, p99 ${h.load.latency.p99} ms (baseline ${baseline.latency.p99} ms at ${baseline.rps.toFixed(0)}/s); step overheads ${overhead.join(", ")} ms`);
        notes.push(
            `healthy cutover: ${h.cp.phase}; ${h.load.total} requests at ${h.load.rps.toFixed(0)}/s; p50 ${h.load.latency.p50} ms, p99 ${h.load.latency.p99} ms; baseline (25 s, no cutover) ${baseline.total} requests at ${baseline.rps.toFixed(0)}/s, p50 ${baseline.latency.p50} ms, p99 ${baseline.latency.p99} ms, ${baseline.failed} failed`,
        );
        figures.push(
            { measure: `failed requests in a healthy cutover at ${RATE} req/s asked (${h.load.rps.toFixed(0)}/s served)`, value: h.load.failed, unit: "requests", goal: "0, at ≥ 10,000 req/s", met: h.load.failed === 0 && h.load.rps >= 10_000 && h.cp.phase === "promoted" },
            { measure: "p99 during a healthy cutover / the same load without one", value: +(h.load.latency.p99 / baseline.latency.p99).toFixed(2), unit: "×", goal: "≤ 1.2×", met: h.load.latency.p99 <= 1.2 * baseline.latency.p99 },
            { measure: `critical-path overhead per step, step decided → router set and read back (worst of ${overhead.length}; median ${median(overhead)} ms)`, value: Math.max(...overhead), unit: "ms", goal: "≤ 500 ms", met: Math.max(...overhead) <= 500 },
        );
        await backToBlue(socket);
    } finally {
        log("tearing the pair down…");
        await run.destroy(target).catch((e) => log(`destroy failed: ${(e as Error).message}`));
        fs.rmSync(root, { recursive: true, force: true });
    }
    writeBenchResult({
        name: "gates",
        title: "Streaming gates",
        command: `npm run bench:gates -- --runs ${RUNS} --real ${REAL} --rate ${RATE} --seed ${SEED}`,
        startedAt: new Date(started).toISOString(),
        durationMs: Date.now() - started,
        figures,
        notes,
    });
}

main().catch((e) => {
    process.stderr.write(`bench:gates failed: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
});
