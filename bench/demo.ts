/**
 * Demo wall times, in a fresh `git clone` of HEAD (set-up warm: the tool cache of this machine):
 * - `npm run demo` (set-up, pair, sandbox, rehearsal, two cutovers under load): its wall time, how
 *   each cutover ended, and the promoting cutover's requests and failures;
 * - `npm run demo -- --down`: its wall time, then no process working in the clone, no port of the
 *   demo's stacks listening and no PostgreSQL data directory left;
 * - the package test (`npx mocha test/package.test.ts`: pack, install into shop-infra, the CLI flow):
 *   its wall time, its tests and its cutover's requests and failures.
 * CI on a fresh clone is not run here (it takes 20 minutes and runs the kill suite again).
 * The clone is removed at the end; whatever the demo left up is torn down first.
 *
 *   npm run bench:demo
 *   BENCH_DEMO_PACKAGE=0 npm run bench:demo     # without the package test
 *
 * Env: BENCH_DIR (default: the system temp folder).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { Figure, equals, figure, measured, writeBenchResult } from "./result";
import { Ran, freshClone, headCommit, removeTree, reportFailure, runShown, shellEnv, withCleanup } from "./support";
import { processesIn } from "../test/support/procs";

const ROOT = path.resolve(__dirname, "..");

/** What the demo's output says. */
export interface DemoSummary {
    /** How each cutover ended, in order ("reverted", "promoted"…). */
    readonly cutovers: readonly string[];
    /** Load during the promoting (second) cutover. */
    readonly requests?: number;
    readonly failed?: number;
}

/** Reads the demo's output (pure). */
export function parseDemoOutput(text: string): DemoSummary {
    const cutovers = [...text.matchAll(/^cutover (\d) ended (\w+)/gm)].sort((a, b) => Number(a[1]) - Number(b[1])).map((m) => m[2]);
    const load = text.match(/^load during the second cutover: (\d+) requests, (\d+) failed/m);
    return { cutovers, requests: load ? Number(load[1]) : undefined, failed: load ? Number(load[2]) : undefined };
}

/** What the package test's output says: its cutover's load, and its tests. */
export function parsePackageOutput(text: string): { requests?: number; failed?: number; passed?: number; testsFailed?: number } {
    const load = text.match(/\[load\] (\d+) requests, (\d+) failed/);
    const tests = text.match(/^(\d+) passed, (\d+) failed/m);
    return {
        requests: load ? Number(load[1]) : undefined,
        failed: load ? Number(load[2]) : undefined,
        passed: tests ? Number(tests[1]) : undefined,
        testsFailed: tests ? Number(tests[2]) : undefined,
    };
}

/** Local TCP ports in LISTEN state, from the text of /proc/net/tcp or tcp6 (pure). */
export function listeningPorts(procNetTcp: string): Set<number> {
    const ports = new Set<number>();
    for (const line of procNetTcp.split("\n").slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f.length > 3 && f[3] === "0A") ports.add(parseInt(f[1].split(":")[1], 16));
    }
    return ports;
}

/** The ports a local stack file claims (`switchyard:local` → `ports`). */
export function stackPorts(stackYaml: string): number[] {
    const doc = YAML.parse(stackYaml) as { config?: Record<string, { ports?: Record<string, unknown> } | undefined> } | null;
    return Object.values(doc?.config?.["switchyard:local"]?.ports ?? {}).filter((v): v is number => typeof v === "number");
}

function openPorts(): Set<number> {
    const all = new Set<number>();
    for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
        try {
            for (const p of listeningPorts(fs.readFileSync(f, "utf8"))) all.add(p);
        } catch {
            /* no IPv6 */
        }
    }
    return all;
}

/** PostgreSQL data directories (a PG_VERSION file) under dir. */
function dataDirsUnder(dir: string): string[] {
    if (!fs.existsSync(dir)) return [];
    return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((p) => path.basename(p) === "PG_VERSION").map((p) => path.dirname(p));
}

const exitOf = (r: Ran) => r.code ?? `signal ${r.signal}`;

async function main(): Promise<void> {
    const started = new Date();
    const withPackage = process.env.BENCH_DEMO_PACKAGE !== "0";
    const commit = headCommit(ROOT);
    const base = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), "switchyard-bench-demo-"));
    const clone = path.join(base, "clone");
    const env = shellEnv();
    for (const k of ["SWITCHYARD_HOME", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"]) delete env[k];
    const figures: Figure[] = [];
    const notes = [
        `A fresh \`git clone\` of HEAD (${commit.slice(0, 10)}); set-up warm (this machine's tool cache). ${os.cpus().length}-core machine.`,
        "CI on a fresh clone is not run inside the bench (about 20 minutes, and it runs the kill suite again): measure it with `../shared/tools/fresh-ci`.",
    ];
    let demoUp = false;
    let failure = "";
    const down = () => runShown("npm", ["run", "--silent", "demo", "--", "--down"], { cwd: clone, env, prefix: "  down │ " });
    await withCleanup(
        async () => {
            freshClone(ROOT, commit, clone);
            process.stdout.write(`\nnpm run demo in a fresh clone\n`);
            demoUp = true;
            const d = await runShown("npm", ["run", "demo"], { cwd: clone, env, prefix: "  demo │ " });
            const s = parseDemoOutput(d.lines.map((l) => l.text).join("\n"));
            figures.push(figure("`npm run demo` in a fresh clone (set-up warm)", Math.round(d.ms / 100) / 10, "s"));
            figures.push(measured("`npm run demo`: exit code", exitOf(d), "", equals(0)));
            if (d.code !== 0) failure += `npm run demo exited ${exitOf(d)}; `;
            if (s.cutovers[0] !== undefined) figures.push(measured("cutover 1 (green made to fail 30%) ended", s.cutovers[0], "", equals("reverted")));
            if (s.cutovers[1] !== undefined) figures.push(measured("cutover 2 (green fixed) ended", s.cutovers[1], "", equals("promoted")));
            if (s.requests !== undefined) figures.push(figure("requests served during the promoting cutover", s.requests, ""));
            if (s.failed !== undefined) figures.push(measured("failed requests during the promoting cutover", s.failed, "", equals(0)));

            process.stdout.write(`\nnpm run demo -- --down\n`);
            const t = await down();
            demoUp = t.code !== 0;
            figures.push(figure("`npm run demo -- --down`", Math.round(t.ms / 100) / 10, "s"));
            figures.push(measured("`npm run demo -- --down`: exit code", exitOf(t), "", equals(0)));
            const ports = fs
                .readdirSync(path.join(clone, "stacks"))
                .filter((f) => /^Pulumi\.local.*\.yaml$/.test(f))
                .flatMap((f) => stackPorts(fs.readFileSync(path.join(clone, "stacks", f), "utf8")));
            const open = openPorts();
            const left = processesIn(clone);
            figures.push(measured("processes left working in the clone after the tear-down", left.length, "", equals(0)));
            figures.push(measured(`demo ports still listening (of ${ports.length}: ${ports.join(", ")})`, ports.filter((p) => open.has(p)).length, "", equals(0)));
            figures.push(measured("PostgreSQL data directories left", dataDirsUnder(path.join(clone, ".switchyard")).length, "", equals(0)));

            if (withPackage) {
                process.stdout.write(`\nnpx mocha test/package.test.ts\n`);
                const p = await runShown("npx", ["mocha", "test/package.test.ts"], { cwd: clone, env: { ...env, PATH: `${path.join(clone, "node_modules", ".bin")}${path.delimiter}${env.PATH}` }, prefix: "  package │ " });
                const ps = parsePackageOutput(p.lines.map((l) => l.text).join("\n"));
                figures.push(figure("the package test (pack, install into shop-infra, the CLI flow)", Math.round(p.ms / 1000), "s"));
                figures.push(measured("the package test: tests failed", ps.testsFailed ?? `exit ${exitOf(p)}`, "", equals(0)));
                if (ps.requests !== undefined) figures.push(figure("the package test's cutover: requests", ps.requests, ""));
                if (ps.failed !== undefined) figures.push(measured("the package test's cutover: failed requests", ps.failed, "", equals(0)));
                if (p.code !== 0) failure += `the package test exited ${exitOf(p)}; `;
            } else {
                notes.push("The package test was skipped (BENCH_DEMO_PACKAGE=0).");
            }
        },
        async () => {
            if (demoUp && fs.existsSync(path.join(clone, "node_modules"))) {
                process.stdout.write("\ntearing down what the demo left up\n");
                await down();
            }
            for (const pid of processesIn(clone)) {
                try {
                    process.kill(pid, "SIGKILL");
                } catch {
                    /* gone */
                }
            }
            removeTree(base);
        },
    );
    writeBenchResult({
        name: "demo",
        title: "Demo wall times",
        command: withPackage ? "npm run bench:demo" : "BENCH_DEMO_PACKAGE=0 npm run bench:demo",
        startedAt: started.toISOString(),
        durationMs: Date.now() - started.getTime(),
        figures,
        notes,
    });
    if (failure) throw new Error(failure);
}

if (require.main === module) main().catch(reportFailure);
