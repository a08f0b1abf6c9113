/**
 * Flag-step bench: a breach during a flag step on a real local pair (PostgreSQL, two app processes
 * evaluating `new-checkout` from the stack's flagd file, HAProxy, the engine), under load from
 * 2,000 distinct users (one in ten internal) at `--rate` requests/s (default 1,000) from autocannon.
 *
 * Each run: `flag:new-checkout=internal` (passes), then `flag:new-checkout=10`, where the apps fail
 * every flagged request; the gate halts, and the revert turns the flag off before the weights.
 * Measured per run:
 * - verdict → the flag file serving the flag off (read back by the cutover);
 * - verdict → the last answer any user got with the flag on (what the apps served, seen by the load);
 * - flag on at 10% (read back) → verdict;
 * and after every run, the flag's stage in the stack's config, its state and the served file (all off).
 *
 *   npm run bench:flags [-- --runs 5 --rate 1000 --seed N]
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import * as run from "../stack/run";
import * as cut from "../cutover";
import { parseFlagsHeader, servedRollouts } from "../components/flags";
import { startLoad } from "../cutover/traffic";
import { rng } from "../cutover/simulate";
import { Figure, writeBenchResult } from "./result";
import { benchPairProject } from "./support";

const BASE = 21700;
const FLAG = "new-checkout";
const arg = (name: string, d: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : d);
const RUNS = arg("--runs", 5);
const RATE = arg("--rate", 1000);
const SEED = arg("--seed", Date.now() % 2 ** 31);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const at = (e: { at: string }) => Date.parse(e.at);
const log = (s: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);

async function main(): Promise<void> {
    const started = Date.now();
    const { root, target } = benchPairProject("switchyard-bench-flags-", BASE, { blue: 100, green: 0 });
    // The pair declares the flag (off), as a user's stack would.
    const stackFile = path.join(root, "stacks", "Pulumi.pair.yaml");
    const doc = YAML.parse(fs.readFileSync(stackFile, "utf8"));
    doc.config["switchyard:flags"] = { [FLAG]: {} };
    fs.writeFileSync(stackFile, YAML.stringify(doc));
    const figures: Figure[] = [];
    const notes: string[] = [`seed ${SEED} (\`--seed ${SEED}\` replays which user sends each request); ${os.cpus().length} cores; ${RATE} requests/s from 2,000 users, one in ten internal`];
    const setFlaggedFailRate = (rate: number) =>
        Promise.all(
            [BASE + 2, BASE + 3].map(async (port) => {
                const r = await fetch(`http://127.0.0.1:${port}/admin/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ flaggedFailRate: rate }) });
                if (r.status !== 200) throw new Error(`the app on ${port} answered ${r.status} to its fault endpoint`);
            }),
        );
    /** The flag's stage in the stack's config file, its state and the served file. */
    const stageEverywhere = async (): Promise<string> => {
        const config = YAML.parse(fs.readFileSync(stackFile, "utf8")).config["switchyard:flags"]?.[FLAG]?.rollout ?? "off";
        const res = (await run.stateResources(await run.openStack(target))).find((r) => r.type === "pulumi-nodejs:dynamic/switchyard-local:FlagsFile");
        const state = (res?.outputs.flags as Record<string, { rollout?: unknown }> | undefined)?.[FLAG]?.rollout ?? "off";
        const served = servedRollouts(fs.readFileSync(res?.outputs.path as string, "utf8"))[FLAG];
        return `config ${config}, state ${state}, file ${served}`;
    };
    try {
        log("bringing up a local pair with flag new-checkout…");
        const up = await run.up(target);
        const url = up.outputs.url.value as string;
        const next = rng(SEED);
        const offRead: number[] = [];
        const lastOn: number[] = [];
        const toVerdict: number[] = [];
        const flaggedShare: number[] = [];
        const consistent: string[] = [];
        for (let i = 0; i < RUNS; i++) {
            let lastOnAt = 0;
            let flagged = 0;
            let answered = 0;
            const l = startLoad(url, {
                connections: 16,
                rate: RATE,
                durationMs: 600_000,
                headers: () => {
                    const u = Math.floor(next() * 2000);
                    return { "x-user-id": `user-${u}`, ...(u % 10 === 0 ? { "x-user-group": "internal" } : {}) };
                },
                onAnswer: (a) => {
                    const h = a.headers?.["x-flags"];
                    answered++;
                    if (parseFlagsHeader(typeof h === "string" ? h : undefined)[FLAG] === "on") {
                        flagged++;
                        lastOnAt = performance.timeOrigin + a.at;
                    }
                },
            });
            const events: cut.CutoverEvent[] = [];
            let cp: cut.Checkpoint;
            try {
                cp = await cut.cutover(
                    target,
                    { steps: [{ flag: FLAG, stage: "internal" }, { flag: FLAG, stage: 10 }, 100], gate: { intervalMs: 2000 }, pretest: false, backup: false },
                    {
                        onEvent: (e) => {
                            events.push(e);
                            if (e.type === "step" && e.flag?.stage === 10) void setFlaggedFailRate(1);
                        },
                    },
                );
                // Answers still in flight at the revert arrive within a few ms; wait well past the apps' file poll.
                await new Promise((r) => setTimeout(r, 1500));
            } finally {
                await l.stop();
                await setFlaggedFailRate(0);
            }
            const on10 = events.find((e) => e.type === "flag" && e.stage === 10);
            const verdict = events.find((e) => e.type === "verdict" && e.verdict.outcome === "fail");
            const off = events.find((e) => e.type === "flag" && e.stage === "off");
            if (cp.phase !== "reverted" || !on10 || !verdict || !off) throw new Error(`run ${i + 1} ended ${cp.phase}: ${cp.reason}`);
            offRead.push(at(off) - at(verdict));
            lastOn.push(Math.max(0, lastOnAt - at(verdict)));
            toVerdict.push(at(verdict) - at(on10));
            flaggedShare.push(flagged / Math.max(1, answered));
            const where = await stageEverywhere();
            consistent.push(where);
            log(
                `run ${i + 1}/${RUNS}: flag on at 10% → verdict ${toVerdict[i]} ms; verdict → flag off read back ${offRead[i]} ms, → last answer served on ${lastOn[i].toFixed(0)} ms; ` +
                    `${(100 * flaggedShare[i]).toFixed(1)}% of ${answered} answers served on; after: ${where}`,
            );
        }
        const allOff = consistent.every((c) => c === "config off, state off, file off");
        figures.push(
            { measure: `breach at flag:${FLAG}=10: verdict → flag file serves it off, read back (worst of ${RUNS}; median ${median(offRead)} ms)`, value: Math.max(...offRead), unit: "ms", goal: "≤ 1000 ms", met: Math.max(...offRead) <= 1000 },
            { measure: `verdict → last answer served with the flag on, as users saw it (worst of ${RUNS}; median ${median(lastOn).toFixed(0)} ms; the apps poll the file every 100 ms)`, value: +Math.max(...lastOn).toFixed(0), unit: "ms", goal: "≤ 1000 ms", met: Math.max(...lastOn) <= 1000 },
            { measure: `flag on at 10% (read back) → verdict, every flagged request failing (worst of ${RUNS}; median ${median(toVerdict)} ms)`, value: Math.max(...toVerdict), unit: "ms", goal: "≤ 1000 ms", met: Math.max(...toVerdict) <= 1000 },
            { measure: `runs ending with the flag off in config, state and the served file`, value: consistent.filter((c) => c === "config off, state off, file off").length, unit: `of ${RUNS}`, goal: `${RUNS}`, met: allOff },
        );
    } finally {
        log("tearing the pair down…");
        await run.destroy(target).catch((e) => log(`destroy failed: ${(e as Error).message}`));
        fs.rmSync(root, { recursive: true, force: true });
    }
    writeBenchResult({
        name: "flags",
        title: "Flag steps",
        command: `npm run bench:flags -- --runs ${RUNS} --rate ${RATE} --seed ${SEED}`,
        startedAt: new Date(started).toISOString(),
        durationMs: Date.now() - started,
        figures,
        notes,
    });
}

main().catch((e) => {
    process.stderr.write(`bench:flags failed: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
});
