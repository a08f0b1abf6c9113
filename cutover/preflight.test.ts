/** The test gate's judgement, pure: which required suites lack a passing run of a version, and the refusal's text. */
import * as assert from "assert";
import { describeTestGaps, RecordedRun, requiredTestsMissing, suitesIn, versionOf } from "./preflight";
import { namesProductionStack, referencesProduction, sandboxVersion, testRunsIn } from "../stack/testRuns";
import { TEST_RUN_LOG_TOKEN } from "../components/testRuns";

const run = (suite: string, version: string, passed: boolean, startedAt: string, stack = "sandbox"): RecordedRun => ({ suite, version, passed, startedAt, stack, exitCode: passed ? 0 : 1 });

describe("cutover preflight: required test suites", () => {
    const T1 = "2026-11-30T10:00:00.000Z";
    const T2 = "2026-11-30T11:00:00.000Z";

    it("passes when every required suite's latest run of the version passed", () => {
        assert.deepStrictEqual(requiredTestsMissing(["unit", "e2e"], "1.1.0", [run("unit", "1.1.0", true, T1), run("e2e", "1.1.0", true, T2)]), []);
        assert.deepStrictEqual(requiredTestsMissing([], "1.1.0", []), [], "nothing required");
    });

    it("a run of another version does not count: the suite is missing", () => {
        assert.deepStrictEqual(requiredTestsMissing(["e2e"], "1.1.0", [run("e2e", "1.0.9", true, T2), run("e2e", "1.1.0-rc1", true, T2)]), [{ suite: "e2e", status: "missing" }]);
    });

    it("the latest run of the version decides: a pass failed again is failing, a failure passed again is fine", () => {
        const failedLater = requiredTestsMissing(["e2e"], "1.1.0", [run("e2e", "1.1.0", false, T2, "sb-b"), run("e2e", "1.1.0", true, T1, "sb-a")]);
        assert.deepStrictEqual(failedLater.map((g) => [g.suite, g.status, g.latest?.stack]), [["e2e", "failing", "sb-b"]]);
        assert.deepStrictEqual(requiredTestsMissing(["e2e"], "1.1.0", [run("e2e", "1.1.0", false, T1), run("e2e", "1.1.0", true, T2)]), []);
    });

    it("the refusal names every missing and failing suite, the key, and how to run one", () => {
        const gaps = requiredTestsMissing(["unit", "e2e"], "1.1.0", [run("e2e", "1.1.0", false, T1)]);
        const text = describeTestGaps(gaps, "1.1.0", "prod", ["prod-sandbox"]);
        assert.strictEqual(
            text,
            'cutover of stack "prod" to 1.1.0 refused: switchyard:cutover.requireTests needs a passing run of 1.1.0 of each suite it names, and ' +
                'suite "unit" has no run of 1.1.0; suite "e2e" failed on 1.1.0 (exit 1, 2026-11-30T10:00:00.000Z in stack "sandbox"). ' +
                "Run it in a sandbox of it (prod-sandbox): `switchyard test <sandbox> --suite <name> -- <command>`",
        );
    });

    it("reads switchyard:cutover.requireTests strictly, naming the key and the value", () => {
        assert.deepStrictEqual(suitesIn(undefined, "prod"), []);
        assert.deepStrictEqual(suitesIn('{"steps":[50,100]}', "prod"), []);
        assert.deepStrictEqual(suitesIn('{"requireTests":["unit","e2e"]}', "prod"), ["unit", "e2e"]);
        assert.throws(() => suitesIn('{"requireTests":"e2e"}', "prod"), /stack "prod": switchyard:cutover\.requireTests is "e2e": give a list of suite names/);
        assert.throws(() => suitesIn('{"requireTests":["e2e","e2e"]}', "prod"), /names "e2e" twice/);
        assert.throws(() => suitesIn('{"requireTests":["has space"]}', "prod"), /switchyard:cutover\.requireTests\[0\] is "has space"/);
        assert.throws(() => suitesIn("{not json", "prod"), /switchyard:cutover in stack "prod" is not valid JSON/);
    });

    it("the version cut over to: the pair's versions output, else the config's", () => {
        assert.strictEqual(versionOf("green", { versions: { blue: "1.0.0", green: "1.1.0" } }), "1.1.0");
        assert.strictEqual(versionOf("green", {}, '{"green":{"version":"2.0.0"}}'), "2.0.0");
        assert.strictEqual(versionOf("blue", {}, "{bad"), undefined);
    });
});

describe("test runs in state (pure parts)", () => {
    it("a sandbox names its production stack as <stack>, <project>/<stack> or <org>/<project>/<stack>", () => {
        assert.ok(namesProductionStack("organization/shop/prod", "shop", "prod"));
        assert.ok(namesProductionStack("shop/prod", "shop", "prod"));
        assert.ok(namesProductionStack("prod", "shop", "prod"));
        assert.ok(!namesProductionStack("organization/other/prod", "shop", "prod"), "another project's prod");
        assert.ok(!namesProductionStack("organization/shop/prod-2", "shop", "prod"));
        assert.ok(!namesProductionStack(undefined, "shop", "prod"));
    });

    it("a state holding a StackReference to the production stack is one of its sandboxes' (a program with keys of its own)", () => {
        const ref = (name: unknown) => ({ urn: "urn:pulumi:s::shop::pulumi:pulumi:StackReference::pair", type: "pulumi:pulumi:StackReference", name: "pair", outputs: { name, outputs: {} } });
        assert.ok(referencesProduction([ref("organization/shop/dev")], "shop", "dev"));
        assert.ok(!referencesProduction([ref("organization/shop/prod")], "shop", "dev"));
        assert.ok(!referencesProduction([], "shop", "dev"));
    });

    it("reads the runs from the log component and the version from the sandbox or its app", () => {
        const runs = [{ suite: "e2e", version: "1.1.0", passed: true, startedAt: "x" }];
        const res = (type: string, name: string, outputs: Record<string, unknown>, parent = "") => ({ urn: `urn:pulumi:s::p::${parent}${type}::${name}`, type, name, outputs });
        const state = [
            res(TEST_RUN_LOG_TOKEN, "switchyard-test-runs", { runs }),
            res("switchyard:local:Sandbox", "shop-sandbox", { url: "http://127.0.0.1:1" }),
            res("pulumi-nodejs:dynamic/switchyard-local:AppProcess", "shop-sandbox-app", { version: "1.1.0" }, "switchyard:local:Sandbox$"),
        ];
        assert.deepStrictEqual(testRunsIn(state), runs);
        assert.deepStrictEqual(testRunsIn([res(TEST_RUN_LOG_TOKEN, "l", { runs: [{ suite: 1 }] })]), [], "malformed runs are not taken");
        assert.strictEqual(sandboxVersion(state, "shop-sandbox", "switchyard:local:Sandbox"), "1.1.0");
        assert.strictEqual(sandboxVersion([res("switchyard:aws:Sandbox", "sb", { version: "2.0.0" })], "sb", "switchyard:aws:Sandbox"), "2.0.0");
    });
});
