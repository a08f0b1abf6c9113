/**
 * Load bench: how many requests per second autocannon drives through HAProxy on this machine, and
 * what the generator itself costs.
 *
 * HAProxy (50/50) in front of the example app twice (blue and green, `GET /`, no database touched),
 * all on this machine; then, for each connection count, `seconds` of closed-loop load:
 * - `switchyard`: the project's load (cutover/traffic.ts): autocannon in this process, with its
 *   per-response hook counting colors and each connection's failures;
 * - `autocannon`: bare autocannon in this process, no hooks (what the hooks cost);
 * - `autocannon ×2 workers`: bare autocannon in two worker threads (whether one thread is the limit).
 * For each: requests/s, failed requests, p50/p99 latency, the CPU each party used (generator,
 * HAProxy, the two apps) as a share of one core, and how busy the whole machine was (anything else
 * running shows as the difference).
 *
 *   PATH=node_modules/.bin:$PATH node -r ts-node/register/transpile-only bench/load.ts [--seconds 10] [--connections 32,64]
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ChildProcess, spawn } from "child_process";
import autocannon from "autocannon";
import { startRouter, stopRouter, RouterSpec } from "../components/local/ops/haproxy";
import { waitForHttp } from "../components/local/ops/proc";
import { runLoad } from "../cutover/traffic";
import { freePort } from "../test/support/ports";

const argOf = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const seconds = Number(argOf("--seconds") ?? 10);
const connectionCounts = (argOf("--connections") ?? "32,64").split(",").map(Number);
const TICKS = 100; // USER_HZ on Linux: /proc/<pid>/stat counts CPU in 1/100 s

/** CPU seconds a process has used so far (user + system), from /proc. */
function cpuOf(pid: number): number {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/** Busy and total jiffies of the whole machine, from /proc/stat. */
function machineJiffies(): { busy: number; total: number } {
    const v = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    return { busy: total - v[3] - (v[4] ?? 0), total };
}

/** CPU seconds of this process and all its threads (the generator, worker threads included). */
const selfCpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
};

interface Row {
    generator: string;
    connections: number;
    rps: number;
    failed: number;
    p50: number;
    p99: number;
    cpu: Record<string, number>;
    /** Share of all cores busy during the run, whoever used them. */
    machine: number;
}

async function main(): Promise<void> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-bench-load-"));
    const apps: ChildProcess[] = [];
    const ports = { router: await freePort(), test: await freePort(), blue: await freePort(), green: await freePort() };
    const spec: RouterSpec = {
        dir: path.join(root, "router"),
        port: ports.router,
        testPort: ports.test,
        servers: [
            { color: "blue", port: ports.blue, weight: 50 },
            { color: "green", port: ports.green, weight: 50 },
        ],
        healthPath: "/",
        checkIntervalMs: 1000,
        idle: "green",
    };
    const rows: Row[] = [];
    try {
        for (const color of ["blue", "green"] as const) {
            const app = spawn(process.execPath, ["examples/app/server.js"], {
                env: { ...process.env, PORT: String(ports[color]), COLOR: color, VERSION: "1.0.0", DATABASE_URL: "postgres://127.0.0.1:1/unused" },
                stdio: "ignore",
            });
            apps.push(app);
            await waitForHttp(`http://127.0.0.1:${ports[color]}/`, { timeoutMs: 10_000 });
        }
        const router = await startRouter(spec);
        const url = `http://127.0.0.1:${ports.router}/`;
        const pids: Record<string, number> = { haproxy: router.pid, blue: apps[0].pid!, green: apps[1].pid! };
        await runLoad(url, { connections: 8, durationMs: 1000 }); // warm-up

        const measure = async (generator: string, connections: number, go: () => Promise<Omit<Row, "generator" | "connections" | "cpu" | "machine">>) => {
            const m0 = machineJiffies();
            const before = { generator: selfCpu(), ...Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuOf(p)])) };
            const t0 = performance.now();
            const r = await go();
            const wall = (performance.now() - t0) / 1000;
            const after = { generator: selfCpu(), ...Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuOf(p)])) } as Record<string, number>;
            const cpu = Object.fromEntries(Object.entries(before).map(([k, v]) => [k, (100 * (after[k] - v)) / wall]));
            const m1 = machineJiffies();
            const machine = (100 * (m1.busy - m0.busy)) / (m1.total - m0.total);
            const row = { generator, connections, ...r, cpu, machine };
            rows.push(row);
            process.stdout.write(`${generator}, ${connections} connections: ${Math.round(r.rps)} requests/s, ${r.failed} failed, p50 ${r.p50} ms, p99 ${r.p99} ms; CPU % of a core ${JSON.stringify(Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, Math.round(v)])))}, machine ${Math.round(machine)}% busy\n`);
            await new Promise((res) => setTimeout(res, 1000));
        };
        const bare = async (connections: number, workers?: number) => {
            const r = await autocannon({ url, connections, duration: seconds, ...(workers ? { workers } : {}) });
            return { rps: r.requests.total / r.duration, failed: r.non2xx + r.errors, p50: r.latency.p50, p99: r.latency.p99 };
        };
        for (const connections of connectionCounts) {
            await measure("switchyard (autocannon + hooks)", connections, async () => {
                const r = await runLoad(url, { connections, durationMs: seconds * 1000 });
                return { rps: r.rps, failed: r.failed, p50: r.latency.p50, p99: r.latency.p99 };
            });
            await measure("autocannon, no hooks", connections, () => bare(connections));
            await measure("autocannon, 2 workers, no hooks", connections, () => bare(connections, 2));
        }
    } finally {
        await stopRouter(spec.dir).catch((e: Error) => process.stderr.write(`stopping HAProxy: ${e.message}\n`));
        for (const a of apps) a.kill("SIGKILL");
        fs.rmSync(root, { recursive: true, force: true });
    }
    const cores = os.cpus().length;
    process.stdout.write(
        [
            "",
            `Machine: ${cores} cores (${os.cpus()[0]?.model ?? "?"}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; Node ${process.version}; ${new Date().toISOString()}; ${seconds} s per run; HAProxy 50/50 over two example apps.`,
            "",
            "| generator | connections | requests/s | failed | p50 | p99 | CPU: generator | HAProxy | apps (blue + green) | machine busy (all cores) |",
            "|---|---|---|---|---|---|---|---|---|---|",
            ...rows.map(
                (r) =>
                    `| ${r.generator} | ${r.connections} | ${Math.round(r.rps).toLocaleString("en-US")} | ${r.failed} | ${r.p50} ms | ${r.p99} ms | ` +
                    `${Math.round(r.cpu.generator)}% | ${Math.round(r.cpu.haproxy)}% | ${Math.round(r.cpu.blue + r.cpu.green)}% | ${Math.round(r.machine)}% |`,
            ),
            "",
        ].join("\n"),
    );
}

main().catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
});
