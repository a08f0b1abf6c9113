/**
 * Revert bench: how long after a gate fails does traffic stop reaching green?
 *
 * A local pair at blue 50 / green 50 under steady load; then a revert to blue 100 two ways:
 * - runtime: HAProxy's runtime API at once (what a cutover does first), then the stack's `up`;
 * - up only: config + `up` (what a revert would cost without the fast path).
 * For each: time until HAProxy reads back blue 100, and time until the last response from green.
 * Runs `rounds` times each and reports medians.
 *
 *   npm run bench:revert [-- --rounds 5]
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as http from "http";
import * as YAML from "yaml";
import * as run from "../stack/run";
import { program } from "../index";
import { AutomationStackStore } from "../cutover/stackState";
import { LocalCutoverPort } from "../cutover/local";
import { Checkpoint, TrafficWeights } from "../cutover/types";

const BASE = 21500;
const rounds = Number(process.argv[process.argv.indexOf("--rounds") + 1]) || 5;

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
function get(url: string): Promise<string> {
    return new Promise((resolve, reject) => {
        http.get(url, { agent }, (res) => {
            let b = "";
            res.on("data", (d) => (b += d));
            res.on("end", () => resolve(b));
        }).on("error", reject);
    });
}

/** Steady load recording when green last answered. */
function loadUntil(url: string, stop: () => boolean): { lastGreen: () => number; done: Promise<void> } {
    let lastGreen = 0;
    const worker = async () => {
        while (!stop()) {
            try {
                if ((JSON.parse(await get(url)) as { color: string }).color === "green") lastGreen = performance.now();
            } catch {
                /* counted elsewhere; the bench measures timing */
            }
        }
    };
    return { lastGreen: () => lastGreen, done: Promise.all([worker(), worker(), worker(), worker()]).then(() => undefined) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-bench-revert-"));
    fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: switchyard-bench\nruntime: nodejs\nstackConfigDir: stacks\n");
    fs.mkdirSync(path.join(root, "stacks"));
    fs.mkdirSync(path.join(root, "state"));
    const config = {
        "switchyard:platform": "local",
        "switchyard:role": "blue-green",
        "switchyard:name": "bench",
        "switchyard:traffic": { blue: 50, green: 50 },
        "switchyard:colors": { blue: { version: "1.0.0" }, green: { version: "1.1.0" } },
        "switchyard:app": { command: "node examples/app/server.js", environment: { MIGRATE_ON_START: "1" }, healthCheck: { path: "/healthz", intervalSeconds: 1 } },
        "switchyard:database": { mode: "shared", name: "bench" },
        "switchyard:local": { ports: { router: BASE, test: BASE + 1, blue: BASE + 2, green: BASE + 3, database: BASE + 4 } },
    };
    fs.writeFileSync(path.join(root, "stacks", "Pulumi.pair.yaml"), YAML.stringify({ config }));
    process.env.PULUMI_BACKEND_URL = `file://${path.join(root, "state")}`;
    process.env.SWITCHYARD_HOME = path.join(root, "home");
    const target: run.StackTarget = { stackName: "pair", root, program, onOutput: () => undefined };
    const results: Record<string, { readBack: number[]; lastGreen: number[] }> = { runtime: { readBack: [], lastGreen: [] }, "up only": { readBack: [], lastGreen: [] } };
    try {
        process.stdout.write("bringing up a local pair…\n");
        const up = await run.up(target);
        const url = up.outputs.url.value as string;
        const store = new AutomationStackStore(target);
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
                let stop = false;
                const l = loadUntil(url, () => stop);
                await new Promise((r) => setTimeout(r, 500));
                const t0 = performance.now();
                if (way === "runtime") await port.applyNow(blue);
                else await port.apply(blue, cp(blue));
                const served = await port.servedWeights();
                const readBack = performance.now() - t0;
                if (served.blue !== 100 || served.green !== 0) throw new Error(`router serves ${JSON.stringify(served)} after the revert`);
                if (way === "runtime") await port.apply(blue, cp(blue)); // the stack catches up, as a cutover does
                await new Promise((r) => setTimeout(r, 300));
                stop = true;
                await l.done;
                results[way].readBack.push(readBack);
                results[way].lastGreen.push(Math.max(0, l.lastGreen() - t0));
                process.stdout.write(`round ${i + 1} ${way}: read back after ${readBack.toFixed(0)} ms, last green answer ${(l.lastGreen() - t0).toFixed(0)} ms after the revert began\n`);
            }
        }
    } finally {
        await run.destroy(target).catch((e: Error) => process.stderr.write(`destroy failed: ${e.message}\n`));
        fs.rmSync(root, { recursive: true, force: true });
    }
    const r = results.runtime;
    const u = results["up only"];
    process.stdout.write(
        [
            "",
            `| revert path | read back blue 100 (median of ${rounds}) | last green answer after the revert began (median) |`,
            "|---|---|---|",
            `| runtime API first | ${median(r.readBack).toFixed(1)} ms | ${median(r.lastGreen).toFixed(1)} ms |`,
            `| config + up only | ${median(u.readBack).toFixed(0)} ms | ${median(u.lastGreen).toFixed(0)} ms |`,
            "",
            `ratio (runtime / up only), last green answer: ${(median(r.lastGreen) / median(u.lastGreen)).toFixed(3)}`,
            "",
        ].join("\n"),
    );
}

main().catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
});
