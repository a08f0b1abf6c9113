/**
 * The bench protocol and the runner's pure parts: figures and goals, result checking, the section
 * appended to bench/RESULTS.md and its gaps, argument parsing, and reading the set-up's phases.
 * No process is started.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { atLeast, atMost, below, BenchResult, equals, figure, figuresTable, formatNumber, measured, parseBenchResult, writeBenchResult } from "../bench/result";
import { BenchOutcome, gapsOf, renderSection } from "../bench/section";
import { parseLimits, selectBenches } from "../bench/run";
import { parseCases, phasesOf } from "../bench/setup";
import { killFigures, parseKillOutput, phaseTable } from "../bench/kills";
import { listeningPorts, parseDemoOutput, parsePackageOutput, stackPorts } from "../bench/demo";
import type { Machine } from "../bench/machine";

const machine: Machine = {
    cores: 2,
    memoryBytes: 8 * 1024 ** 3,
    cpu: "Test CPU",
    kernel: "Linux 6.1",
    node: "v22.23.3",
    haproxy: "2.6.12",
    postgres: "15.18",
    pulumi: "v3.259.0",
    commit: "abc1234567",
};

const result = (over: Partial<BenchResult> = {}): BenchResult => ({
    name: "gates",
    title: "Streaming gates",
    command: "npm run bench:gates",
    startedAt: "2026-11-30T10:00:00.000Z",
    durationMs: 1234,
    figures: [measured("error onset → verdict", 612, "ms", atMost(1000, "ms")), measured("client errors", 90, "", atMost(60)), figure("requests", 20000, "")],
    ...over,
});

describe("bench protocol", () => {
    it("goals: ≤, <, ≥, =, and none", () => {
        assert.deepStrictEqual(measured("a", 1000, "ms", atMost(1000, "ms")), { measure: "a", value: 1000, unit: "ms", goal: "≤ 1000 ms", met: true });
        assert.strictEqual(measured("a", 60, "s", below(60, "s")).met, false);
        assert.strictEqual(measured("a", 20, "", atLeast(20)).goal, "≥ 20");
        assert.strictEqual(figuresTable([measured("ratio", 0.891, "×", atMost(1.5, "×"))]).split("\n")[2], "| ratio | 0.89× | ≤ 1.5× | met |");
        assert.deepStrictEqual(measured("a", 0, "", equals(0)), { measure: "a", value: 0, unit: "", goal: "= 0", met: true });
        assert.deepStrictEqual(figure("a", 3, "s"), { measure: "a", value: 3, unit: "s", goal: null, met: null });
    });

    it("numbers are rounded as people read them", () => {
        assert.deepStrictEqual([1234.567, 14.56, 0.8912, 0.00213, 3, -12.34].map(formatNumber), ["1235", "14.6", "0.89", "0.0021", "3", "-12.3"]);
    });

    it("a table row per figure, met or missed", () => {
        const t = figuresTable(result().figures).split("\n");
        assert.strictEqual(t.length, 5);
        assert.strictEqual(t[2], "| error onset → verdict | 612 ms | ≤ 1000 ms | met |");
        assert.strictEqual(t[3], "| client errors | 90 | ≤ 60 | **missed** |");
        assert.strictEqual(t[4], "| requests | 20000 |  |  |");
    });

    it("a result is checked field by field", () => {
        assert.deepStrictEqual(parseBenchResult(JSON.parse(JSON.stringify(result()))), result());
        assert.throws(() => parseBenchResult([]), /not an object/);
        assert.throws(() => parseBenchResult({ ...result(), durationMs: "1" }), /"durationMs" is not a number/);
        assert.throws(() => parseBenchResult({ ...result(), figures: [{ measure: "x", value: 1, unit: "", goal: "≤ 2", met: null }] }), /figure 0: "met" must be null exactly when there is no goal/);
        assert.throws(() => parseBenchResult({ ...result(), figures: [{ measure: "x", value: true, unit: "", goal: null, met: null }] }), /figure 0: "value"/);
        assert.throws(() => parseBenchResult({ ...result(), notes: [1] }), /"notes"/);
    });

    it("writeBenchResult writes BENCH_JSON when set, and prints the table either way", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-bench-test-"));
        const file = path.join(dir, "r.json");
        const printed: string[] = [];
        const write = process.stdout.write;
        process.stdout.write = ((s: string) => printed.push(s) > 0) as typeof process.stdout.write;
        try {
            writeBenchResult(result(), { BENCH_JSON: file });
            writeBenchResult(result(), {});
        } finally {
            process.stdout.write = write;
            assert.deepStrictEqual(JSON.parse(fs.readFileSync(file, "utf8")), result());
            fs.rmSync(dir, { recursive: true, force: true });
        }
        assert.strictEqual(printed.length, 2);
        assert.match(printed[0], /\| error onset → verdict \| 612 ms \| ≤ 1000 ms \| met \|/);
    });
});

describe("bench section and gaps", () => {
    const outcomes: BenchOutcome[] = [
        { name: "setup", title: "Set-up time", command: "npm run bench:setup", status: "ok", exitCode: 0, durationMs: 30_000, result: { ...result(), name: "setup", title: "Set-up time", command: "npm run bench:setup", figures: [figure("warm", 18, "s")], notes: ["cold skipped"] } },
        { name: "gates", title: "Streaming gates", command: "npm run bench:gates", status: "ok", exitCode: 0, durationMs: 400_000, result: result() },
        { name: "revert", title: "Revert speed", command: "npm run bench:revert", status: "failed", exitCode: 2, durationMs: 5000, tail: ["Error: boom"] },
        { name: "kills", title: "Kill suite", command: "npm run bench:kills", status: "no-result", exitCode: 0, reason: "it wrote nothing to BENCH_JSON", tail: [] },
        { name: "demo", title: "Demo", command: "npm run bench:demo", status: "missing", reason: "bench/demo.ts does not exist" },
        { name: "clone", title: "Clone speed", command: "npm run bench:clone", status: "timeout", reason: "45 min", tail: ["scale 340…"] },
    ];

    it("every missed goal and every bench that did not report is a gap", () => {
        assert.deepStrictEqual(
            gapsOf(outcomes).map((g) => `${g.bench}: ${g.text}`),
            [
                "gates: client errors: 90, goal ≤ 60",
                "revert: `npm run bench:revert` did not complete: exit 2",
                "kills: `npm run bench:kills` did not complete: exit 0 but no result: it wrote nothing to BENCH_JSON",
                "demo: `npm run bench:demo` not run: bench/demo.ts does not exist",
                "clone: `npm run bench:clone` did not complete: stopped at its time limit (45 min)",
            ],
        );
        assert.deepStrictEqual(gapsOf(outcomes.slice(0, 1)), []);
    });

    it("the section: dated heading, machine, a subsection per bench, gaps with the failed bench's last lines", () => {
        const s = renderSection({ date: "2026-11-30T10:00:00.000Z", command: "npm run bench", machine, outcomes });
        const lines = s.split("\n");
        assert.ok(lines.includes("## npm run bench, 2026-11-30T10:00Z"));
        assert.ok(lines.includes("| 2 | 8.0 GiB | Test CPU | Linux 6.1 | v22.23.3 | 2.6.12 | 15.18 | v3.259.0 | abc1234567 |"));
        for (const t of ["Set-up time", "Streaming gates", "Revert speed", "Kill suite", "Demo", "Clone speed", "Gaps"]) assert.ok(lines.includes(`### ${t}`), t);
        assert.ok(lines.includes("Command: `npm run bench:gates`; exit 0, 6 min 40 s."));
        assert.ok(lines.includes("Command: `npm run bench:revert`; exit 2, 5 s."));
        assert.ok(lines.includes("- cold skipped"));
        assert.ok(lines.includes("  Error: boom"));
        assert.ok(s.indexOf("### Gaps") > s.indexOf("### Clone speed"));
        const none = renderSection({ date: "2026-11-30T10:00:00.000Z", command: "npm run bench", machine, outcomes: outcomes.slice(0, 1) });
        assert.match(none, /### Gaps\n\nNone: every bench reported and every goal was met\./);
    });
});

describe("bench runner arguments", () => {
    it("--only keeps the run order and refuses unknown names", () => {
        assert.deepStrictEqual(selectBenches("gates,revert"), ["revert", "gates"]);
        assert.deepStrictEqual(selectBenches(undefined), ["setup", "clone", "revert", "gates", "flags", "replication", "kills", "mask", "demo"]);
        assert.throws(() => selectBenches("gates,nope"), /unknown bench "nope"/);
        assert.throws(() => selectBenches(","), /none given/);
    });

    it("--limit takes bench=minutes", () => {
        assert.deepStrictEqual(parseLimits("clone=60,kills=12.5"), { clone: 60, kills: 12.5 });
        assert.throws(() => parseLimits("nope=3"), /not <bench>=<minutes>/);
        assert.throws(() => parseLimits("clone=0"), /not <bench>=<minutes>/);
    });
});

describe("set-up bench", () => {
    it("cases come from BENCH_SETUP_CASES", () => {
        assert.deepStrictEqual(parseCases(undefined), ["warm", "cold"]);
        assert.deepStrictEqual(parseCases("warm"), ["warm"]);
        assert.throws(() => parseCases("hot"), /not a list of warm, cold/);
    });

    it("phases are read from when the set-up printed its lines", () => {
        const lines = [
            { atMs: 0, text: "setup: installing npm dependencies (npm ci)..." },
            { atMs: 40_000, text: "switchyard: building the Pulumi CLI v3.259.0 from the Go module proxy (about 4 minutes, once per machine)..." },
            { atMs: 270_000, text: "go: downloading …" },
            { atMs: 280_000, text: "setup: Pulumi CLI v3.259.0 in /cache/pulumi/v3.259.0" },
            { atMs: 281_000, text: "setup: installing moto[server]==5.2.5 from PyPI into /cache/moto-5.2.5..." },
            { atMs: 311_000, text: "setup: ready in 311 s" },
        ];
        assert.deepStrictEqual(phasesOf(lines), { npmCiS: 40, cliBuildS: 240, motoS: 30, readyS: 311 });
        assert.deepStrictEqual(phasesOf([{ atMs: 0, text: "setup: ready in 2 s" }]), { npmCiS: undefined, cliBuildS: undefined, motoS: undefined, readyS: 2 });
    });
});

describe("kill-suite bench", () => {
    const output = [
        "    kill suite seed: 1749146200 (replay with KILL_SEED=1749146200)",
        "  kill suite (SIGKILL at random instants)",
        "    kill  1/3 backup      pretest +512 ms      landed backup   → resume exit 0 (promoted) → consistent, 0/100",
        "    kill  2/3 step-up     step 1 +200 ms       landed step-up  → revert exit 0 (reverted) → consistent, 100/0",
        "    kill  3/3 gate-revert revert +10 ms        landed revert   → resume exit 1 (reverted) → consistent, 100/0",
        "    stale engine locks cleared: 2; pending operations cleared: 0",
        "    ✔ after every kill, resume or revert leaves the stack consistent, and the cutover runs again (500000ms)",
        "    120 weight samples over 12 s",
        "    ✔ HAProxy served a valid split at every sample of the 10 Hz poll, throughout",
        "    load: 900 answered ({\"blue\":600,\"green\":300}), 7 injected failures, 0 other failures",
        "    ✔ no request through HAProxy failed but those the test made the new color fail",
        "",
        "    kill suite seed 1749146200: per-phase counts",
        "    | phase killed in | kills | consistent endings |",
        "    |---|---|---|",
        "    | inside a revert (gate failed) | 1 | 1 |",
        "    | inside a step's `up` | 1 | 1 |",
        "    | inside the backup | 1 | 1 |",
        "    | **all** | **3** | **3** |",
        "",
        "  3 passing (10m)",
        "3 passed, 0 failed",
    ].join("\n");

    it("reads the seed, the per-phase table, recoveries, samples and load from the suite's lines", () => {
        const s = parseKillOutput(output);
        assert.deepStrictEqual(
            { ...s, rows: s.rows.length },
            {
                seed: 1749146200, rows: 3, kills: 3, consistent: 3, recoveries: { resume: 2, revert: 1 }, staleLocks: 2, pendingCleared: 0,
                samples: 120, sampleSeconds: 12, badSamples: 0, answered: 900, injected: 7, otherFailures: 0, passed: 3, failed: 0,
            },
        );
        assert.deepStrictEqual(s.rows[1], { phase: "inside a step's `up`", kills: 1, consistent: 1 });
        assert.match(phaseTable(s) ?? "", /\| \*\*all\*\* \| \*\*3\*\* \| \*\*3\*\* \|$/);
    });

    it("figures: every ending consistent, no bad sample, no other failure; at least 20 kills", () => {
        const f = killFigures(parseKillOutput(output), 600);
        const by = (m: string) => f.find((x) => x.measure.startsWith(m));
        assert.deepStrictEqual(by("consistent endings"), { measure: "consistent endings", value: 3, unit: "", goal: "= 3 (every kill)", met: true });
        assert.strictEqual(by("kills")?.met, false);
        assert.strictEqual(by("weight samples that were not")?.met, true);
        assert.strictEqual(by("other failed requests")?.met, true);
        assert.strictEqual(by("the suite's wall time")?.value, 600);
    });

    it("a suite that failed part-way: the bad samples it names, and no table", () => {
        const s = parseKillOutput("    kill suite seed: 7 (replay with KILL_SEED=7)\n  AssertionError: 4 bad samples\n0 passed, 2 failed\n");
        assert.strictEqual(s.badSamples, 4);
        assert.strictEqual(s.kills, undefined);
        assert.strictEqual(phaseTable(s), undefined);
        assert.deepStrictEqual(killFigures(s, 60).filter((x) => x.met === false).map((x) => x.measure), ["weight samples that were not a valid split", "tests of the suite failed"]);
    });
});

describe("demo bench", () => {
    it("reads how each cutover ended and the promoting cutover's load", () => {
        const out = [
            "cutover 1 ended reverted: gate failed at step 1",
            "load during the failing cutover: 900 requests, 31 failed; served by {}",
            "load during the second cutover: 25747 requests, 0 failed; served by {\"blue\":1,\"green\":2}",
            "cutover 2 ended promoted; 100 requests now served by {\"green\":100}",
        ].join("\n");
        assert.deepStrictEqual(parseDemoOutput(out), { cutovers: ["reverted", "promoted"], requests: 25747, failed: 0 });
        assert.deepStrictEqual(parseDemoOutput("boom"), { cutovers: [], requests: undefined, failed: undefined });
    });

    it("reads the package test's load and tests", () => {
        assert.deepStrictEqual(parsePackageOutput("      [load] 1509 requests, 0 failed, by color {}\n12 passed, 0 failed\n"), { requests: 1509, failed: 0, passed: 12, testsFailed: 0 });
    });

    it("listening ports from /proc/net/tcp, and the ports a stack file claims", () => {
        const tcp = [
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
            "   0: 0100007F:46A0 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0",
            "   1: 0100007F:3C28 0100007F:D2E4 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1",
        ].join("\n");
        assert.deepStrictEqual([...listeningPorts(tcp)], [18080]);
        assert.deepStrictEqual(stackPorts("config:\n  switchyard:local:\n    ports: {app: 18101, database: 15433}\n"), [18101, 15433]);
        assert.deepStrictEqual(stackPorts("config:\n  switchyard:platform: aws\n"), []);
    });
});
