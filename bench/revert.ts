/**
 * Revert bench: how long after a gate fails does traffic stop reaching green?
 *
 * A local pair at blue 50 / green 50 under steady load; then a revert to blue 100 two ways:
 * - runtime: HAProxy's runtime API at once (what a cutover does first), then the stack's `up`;
 * - up only: config + `up` (what a revert would cost without the fast path).
 * For each: time until HAProxy reads back blue 100, and time until the last response from green.
 * Runs `rounds` times each and reports medians. The load comes from autocannon: `connections`
 * connections in a closed loop (each sends its next request when the last is answered).
 *
 * Reports through the bench protocol (bench/result.ts).
 *
 *   npm run bench:revert [-- --rounds 5 --connections 4]
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as run from "../stack/run";
import { AutomationStackStore } from "../cutover/stackState";
import { LocalCutoverPort } from "../cutover/local";
import { Checkpoint, TrafficWeights } from "../cutover/types";
import { formatLoad, LoadResult, startLoad } from "../cutover/traffic";
import { atMost, equals, figure, measured, writeBenchResult } from "./result";
import { benchPairProject } from "./support";

const BASE = 21500;
const arg = (name: string, dflt: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : dflt) || dflt;
const rounds = arg("--rounds", 5);
const connections = arg("--connections", 4);

/** Steady load from autocannon (closed loop), recording when green last answered. */
function loadUntilStopped(url: string): { lastGreen: () => number; stop: () => Promise<LoadResult> } {
    let lastGreen = 0;
    const bg = startLoad(url, { connections, durationMs: 600_000, onAnswer: (a) => void (a.color === "green" && (lastGreen = a.at)) });
    return { lastGreen: () => lastGreen, stop: bg.stop };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
    const started = new Date();
    const { root, target } = benchPairProject("switchyard-bench-revert-", BASE, { blue: 50, green: 50 });
    const results: Record<string, { readBack: number[]; lastGreen: number[] }> = { runtime: { readBack: [], lastGreen: [] }, "up only": { readBack: [], lastGreen: [] } };
    const loads: LoadResult[] = [];
    try {
        process.stdout.write("bringing up a local pair…\n");
        const up = await run.up(target);
        const url = up.outputs.url.value as string;
        const store = new AutomationStackStore(target);
        await store.readState(); // finds the pair in state, and the config key its weights come from
        const port = new LocalCutoverPort(store, target, Object.fromEntries(Object.entries(up.outputs).map(([k, v]) => [k, v.value])));
        const half: TrafficWeights = { blue: 50, green: 50 };
        const blue: TrafficWeights = { blue: 100, green: 0 };
        const cp = (w: TrafficWeights): Checkpoint => ({
            id: "bench", from: "blue", to: "green", steps: [50, 100], step: 0, phase: "reverting", failures: 0, inconclusive: 0, passes: 0,
            weights: w, startedAt: new Date().toISOString(), updatedAt: new Date().toISOString(),
        });
        for (let i = 0; i < rounds; i++) {
            for (const way of ["runtime", "up only"] as const) {
                await port.apply(half, cp(half));
                const l = loadUntilStopped(url);
                await new Promise((r) => setTimeout(r, 500));
                const t0 = performance.now();
                if (way === "runtime") await port.applyNow(blue);
                else await port.apply(blue, cp(blue));
                const served = await port.servedWeights();
                const readBack = performance.now() - t0;
                if (served.blue !== 100 || served.green !== 0) throw new Error(`router serves ${JSON.stringify(served)} after the revert`);
                if (way === "runtime") await port.apply(blue, cp(blue)); // the stack catches up, as a cutover does
                await new Promise((r) => setTimeout(r, 300));
                const load = await l.stop();
                loads.push(load);
                results[way].readBack.push(readBack);
                results[way].lastGreen.push(Math.max(0, l.lastGreen() - t0));
                process.stdout.write(
                    `round ${i + 1} ${way}: read back after ${readBack.toFixed(0)} ms, last green answer ${(l.lastGreen() - t0).toFixed(0)} ms after the revert began; load: ${formatLoad(load)}\n`,
                );
            }
        }
    } finally {
        await run.destroy(target).catch((e: Error) => process.stderr.write(`destroy failed: ${e.message}\n`));
        fs.rmSync(root, { recursive: true, force: true });
    }
    const r = results.runtime;
    const u = results["up only"];
    const ms = (x: number) => Number(x.toFixed(1));
    const rps = median(loads.map((l) => l.rps));
    const failed = loads.reduce((a, l) => a + l.failed, 0);
    writeBenchResult({
        name: "revert",
        title: "Revert speed",
        command: `npm run bench:revert -- --rounds ${rounds} --connections ${connections}`,
        startedAt: started.toISOString(),
        durationMs: Date.now() - started.getTime(),
        figures: [
            figure(`runtime API first: HAProxy reads back blue 100 (median of ${rounds})`, ms(median(r.readBack)), "ms"),
            measured("runtime API first: last answer from green after the revert began (median)", ms(median(r.lastGreen)), "ms", atMost(50, "ms")),
            figure(`config + up only: HAProxy reads back blue 100 (median of ${rounds})`, Math.round(median(u.readBack)), "ms"),
            figure("config + up only: last answer from green after the revert began (median)", Math.round(median(u.lastGreen)), "ms"),
            figure("last green answer, runtime first / up only", Number((median(r.lastGreen) / median(u.lastGreen)).toFixed(4)), "×"),
            figure("load during the reverts (median of the rounds)", Math.round(rps), "requests/s"),
            measured(`failed requests during all ${rounds * 2} reverts`, failed, "", equals(0)),
        ],
        notes: [
            `A local pair at blue 50 / green 50 under closed-loop load from autocannon (${connections} connections, through HAProxy), then a revert to blue 100.`,
            "runtime API first = what a cutover does (HAProxy's runtime API, read back, then the stack's up); up only = config + up, without the fast path.",
            `${os.cpus().length}-core machine; ${loads.reduce((a, l) => a + l.total, 0)} requests in all, p99 latency ${median(loads.map((l) => l.latency.p99)).toFixed(1)} ms (median of the rounds).`,
        ],
    });
}

main().catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
});
