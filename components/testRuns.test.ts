/** The test gate's vocabulary, pure: suite names, requireTests, the kept runs and output tails. */
import * as assert from "assert";
import { appendRun, checkRequireTests, checkSuiteName, checkTestRuns, MAX_TEST_RUNS, tailOf, TestRun } from "./testRuns";
import { withoutPassword } from "./productionDatabase";

const run = (i: number): TestRun => ({
    suite: "e2e",
    version: "1.1.0",
    passed: i % 2 === 0,
    exitCode: i % 2,
    durationMs: 10,
    startedAt: new Date(Date.UTC(2026, 10, 30, 0, 0, i)).toISOString(),
    sandbox: "sb",
    command: "npm test",
    outputTail: "",
});

describe("test runs: vocabulary", () => {
    it("suite names: short words, refused with the value and where it came from", () => {
        for (const ok of ["default", "e2e", "unit.api", "load/checkout", "it:db"]) assert.strictEqual(checkSuiteName(ok), undefined, ok);
        assert.match(checkSuiteName("") ?? "", /^--suite is "": a suite name is 1 to 64/);
        assert.match(checkSuiteName("-x") ?? "", /^--suite is "-x"/);
        assert.match(checkSuiteName("a b", "switchyard:cutover.requireTests[2]") ?? "", /^switchyard:cutover\.requireTests\[2\] is "a b"/);
        assert.ok(checkSuiteName("x".repeat(65)));
    });

    it("requireTests: a list of distinct suite names", () => {
        assert.strictEqual(checkRequireTests(undefined), undefined);
        assert.strictEqual(checkRequireTests(["unit", "e2e"]), undefined);
        assert.match(checkRequireTests({ e2e: true }) ?? "", /^switchyard:cutover\.requireTests is \{"e2e":true\}: give a list/);
        assert.match(checkRequireTests(["e2e", 3]) ?? "", /requireTests\[1\] is 3/);
        assert.match(checkRequireTests(["e2e", "e2e"]) ?? "", /names "e2e" twice/);
    });

    it("keeps the last runs only, newest last", () => {
        let runs: TestRun[] = [];
        for (let i = 0; i < MAX_TEST_RUNS + 7; i++) runs = appendRun(runs, run(i));
        assert.strictEqual(runs.length, MAX_TEST_RUNS);
        assert.strictEqual(runs[runs.length - 1].startedAt, run(MAX_TEST_RUNS + 6).startedAt);
        assert.strictEqual(runs[0].startedAt, run(7).startedAt);
        assert.strictEqual(checkTestRuns(runs), undefined);
        assert.match(checkTestRuns([run(0), { suite: "x" }]) ?? "", /switchyard:testRuns\[1\] is not a test run/);
        assert.match(checkTestRuns("nope") ?? "", /not a list/);
    });

    it("an output's tail: its end, cut at a line start", () => {
        const text = Array.from({ length: 2000 }, (_, i) => `line ${i}`).join("\n");
        const tail = tailOf(text, 100);
        assert.ok(tail.length <= 100 && text.endsWith(tail), tail);
        assert.match(tail, /^line \d+\n/, "starts at a line");
        assert.strictEqual(tailOf("short"), "short");
    });

    it("production's endpoint is kept without a password", () => {
        assert.strictEqual(withoutPassword("postgres://app:s3cret@db.example:5432/shop"), "postgres://app@db.example:5432/shop");
        assert.strictEqual(withoutPassword("postgres://postgres@127.0.0.1:20204/shop"), "postgres://postgres@127.0.0.1:20204/shop");
        assert.strictEqual(withoutPassword(undefined), undefined);
        assert.strictEqual(withoutPassword("not a url"), "not a url");
    });
});
