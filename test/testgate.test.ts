/**
 * The user's test suites as a cutover gate, end to end on the local platform: a real pair whose
 * stack requires the suite "integration" (`switchyard:cutover.requireTests`), a sandbox restored
 * from its snapshot, the user's suite run against the sandbox (`runTestSuite`, what `switchyard test`
 * calls) and its result recorded in the sandbox stack's state; then the cutover of green's version,
 * refused or started by what the state holds.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import * as run from "../stack/run";
import * as cut from "../cutover";
import { program } from "../index";
import { snapshotStack } from "../stack/snapshot";
import { recordTestRun, runTestSuite, testRunsFor } from "../stack/testRuns";
import { TEST_RUN_LOG_TOKEN, TestRun } from "../components/testRuns";
import { readWeights } from "../components/local/ops/haproxy";
import { localPairConfig, localSandboxConfig } from "./support/stacks";
import { tempProject, TempProject, withEnv } from "./support/project";
import { portBlock } from "./support/ports";
import { runCli } from "../bin/cli";

let BASE = 0;
const PACK = path.resolve(__dirname, "..", "policies");

/** The user's suite: checks the environment it is given against the sandbox, then passes or fails as told. */
const SUITE = `
const [want, dbPort] = process.argv.slice(2);
(async () => {
    const e = process.env;
    const health = await fetch(e.SWITCHYARD_URL + "/healthz");
    const root = await (await fetch(e.SWITCHYARD_URL + "/")).json();
    console.log("suite " + e.SWITCHYARD_SUITE + " of stack " + e.SWITCHYARD_STACK + ": health " + health.status + ", app version " + root.version + ", SWITCHYARD_VERSION " + e.SWITCHYARD_VERSION);
    if (health.status !== 200 || root.version !== e.SWITCHYARD_VERSION) process.exit(3);
    if (!new URL(e.DATABASE_URL).port || new URL(e.DATABASE_URL).port !== dbPort) { console.error("DATABASE_URL is not the sandbox's: " + e.DATABASE_URL); process.exit(4); }
    for (let i = 0; i < 50; i++) console.log("line " + i);
    if (want !== "pass") { console.error("checkout total is wrong: expected 12.50, got 0"); process.exit(1); }
    console.log("all 50 checks passed");
})();
`;

describe("test suites as a cutover gate (real engine, PostgreSQL, HAProxy)", function () {
    this.timeout(300_000);
    let proj: TempProject;
    let home: string;
    let logs = "";
    let prodOut: Record<string, { value: unknown }>;
    const env = () => ({ PULUMI_BACKEND_URL: `file://${proj.stateDir}`, SWITCHYARD_HOME: home });
    const target = (stackName: string): run.StackTarget => ({ stackName, root: proj.root, program, onOutput: (s) => (logs += s) });
    const inEnv = <T>(fn: () => Promise<T>) => withEnv(env(), fn);
    const suite = (want: "pass" | "fail") => [process.execPath, path.join(proj.root, "suite.js"), want, String(BASE + 6)];
    const quiet = { onStdout: (c: Buffer) => (logs += c), onStderr: (c: Buffer) => (logs += c) };
    const GATE: Partial<cut.GateSpec> = { intervalMs: 1000, minRequests: 0 };

    /** The cutover to green is refused as bad input naming the suite; nothing moved. */
    async function assertRefused(pattern: RegExp): Promise<void> {
        const events: cut.CutoverEvent[] = [];
        await assert.rejects(
            inEnv(() => cut.cutover(target("pair"), { gate: GATE, pretest: false, backup: false }, { onEvent: (e) => events.push(e) })),
            (e: Error) => {
                assert.ok(e instanceof run.UserError, `a refusal (exit 2), not ${e.name}: ${e.message}`);
                assert.match(e.message, pattern);
                return true;
            },
        );
        assert.deepStrictEqual(events, [], "no cutover event: nothing started");
        assert.deepStrictEqual(await readWeights(prodOut.adminSocket.value as string), { blue: 100, green: 0 }, "the router still serves blue alone");
        const s = await inEnv(() => cut.status(target("pair")));
        assert.deepStrictEqual([s.weightsInState, s.checkpoint], [{ blue: 100, green: 0 }, undefined], "no weight and no checkpoint recorded");
    }

    before(async () => {
        BASE = await portBlock(7);
        proj = tempProject({
            pair: YAML.stringify({
                config: localPairConfig(BASE, { "switchyard:traffic": { blue: 100, green: 0 }, "switchyard:cutover": { steps: [50, 100], requireTests: ["integration"] } }),
            }),
            sandbox: YAML.stringify({ config: localSandboxConfig(BASE) }),
        });
        fs.writeFileSync(path.join(proj.root, "suite.js"), SUITE);
        home = path.join(proj.root, "home");
        prodOut = (await inEnv(() => run.up(target("pair")))).outputs;
        await inEnv(() => snapshotStack(target("pair")));
        await inEnv(() => run.up(target("sandbox")));
    });

    after(async () => {
        await inEnv(async () => {
            for (const s of ["sandbox", "pair"]) await run.destroy(target(s)).catch(() => undefined);
        });
        proj.cleanup();
    });

    afterEach(function () {
        if (this.currentTest?.state === "failed") process.stderr.write(logs.slice(-4000));
        logs = "";
    });

    it("a passing run recorded for another version does not count: the cutover of 1.1.0 is refused, naming the suite", async () => {
        const other: TestRun = {
            suite: "integration",
            version: "1.0.9",
            passed: true,
            exitCode: 0,
            durationMs: 1200,
            startedAt: new Date().toISOString(),
            sandbox: "shop-sandbox",
            command: "npm run test:integration",
            outputTail: "ok",
        };
        const recorded = await inEnv(() => recordTestRun(target("sandbox"), other));
        assert.deepStrictEqual(recorded.map((r) => [r.suite, r.version, r.passed]), [["integration", "1.0.9", true]]);
        await assertRefused(/switchyard:cutover\.requireTests.*suite "integration" has no run of 1\.1\.0/);
    });

    it("a failing user suite, run against the sandbox and recorded in its stack's state, blocks the cutover of that version, naming the suite", async () => {
        const sandboxPid = ((await inEnv(() => run.outputs(target("sandbox")))).appPid.value) as number;
        const r = await inEnv(() => runTestSuite(target("sandbox"), { command: suite("fail"), suite: "integration", ...quiet }));
        assert.deepStrictEqual([r.suite, r.version, r.passed, r.exitCode], ["integration", "1.1.0", false, 1], logs);
        assert.match(r.outputTail, /line 49\n[\s\S]*checkout total is wrong/, "the output's tail is kept");
        assert.ok(r.durationMs > 0 && r.durationMs < 60_000, `duration ${r.durationMs} ms`);

        // In the state the engine keeps: the TestRunLog component's outputs, read back through a fresh stack.
        const stack = await inEnv(() => run.openStack(target("sandbox")));
        const log = (await run.stateResources(stack)).find((x) => x.type === TEST_RUN_LOG_TOKEN);
        assert.ok(log, "the sandbox's state holds the test-run log");
        const inState = log.outputs.runs as TestRun[];
        assert.deepStrictEqual(inState.map((x) => [x.version, x.passed]), [["1.0.9", true], ["1.1.0", false]]);
        assert.deepStrictEqual((await inEnv(() => testRunsFor(target("sandbox"), "1.1.0"))).map((x) => x.exitCode), [1]);
        // The targeted up recorded the run and touched nothing else: the sandbox's app is the same process.
        assert.strictEqual((await inEnv(() => run.outputs(target("sandbox")))).appPid.value, sandboxPid, "the sandbox's app was not restarted");

        await assertRefused(/suite "integration" failed on 1\.1\.0 \(exit 1, .* in stack "sandbox"\)/);
    });

    it("a passing run of the same version lets the cutover start (and finish)", async () => {
        const r = await inEnv(() => runTestSuite(target("sandbox"), { command: suite("pass"), suite: "integration", ...quiet }));
        assert.deepStrictEqual([r.version, r.passed, r.exitCode], ["1.1.0", true, 0], logs);
        assert.match(r.outputTail, /all 50 checks passed/);

        const events: cut.CutoverEvent[] = [];
        const cp = await inEnv(() => cut.cutover(target("pair"), { gate: GATE, pretest: false, backup: false }, { onEvent: (e) => events.push(e) }));
        assert.strictEqual(events[0]?.type, "started", "the cutover started");
        assert.strictEqual(cp.phase, "promoted", cp.reason);
        assert.deepStrictEqual(await readWeights(prodOut.adminSocket.value as string), { blue: 0, green: 100 });
    });

    it("a sandbox whose app environment names production's database is blocked at preview (policy sandbox-no-production-db)", async () => {
        const prodUrl = prodOut.databaseUrl.value as string;
        const leaky = localSandboxConfig(BASE + 100, {
            "switchyard:name": "leaky",
            "switchyard:app": { command: "node examples/app/server.js", healthCheck: { path: "/healthz" }, environment: { REPORTING_DATABASE_URL: prodUrl } },
        });
        fs.writeFileSync(path.join(proj.root, "stacks", "Pulumi.leaky.yaml"), YAML.stringify({ config: leaky }));
        let text = "";
        await assert.rejects(
            inEnv(() => run.preview({ ...target("leaky"), onOutput: (t) => (text += t) }, { policyPacks: [PACK] })),
            () => true,
        );
        assert.match(text, /\[mandatory\]\s+sandbox-no-production-db/, text.slice(-3000));
        assert.ok(text.includes("REPORTING_DATABASE_URL holds production's database URL (stack organization/switchyard-test/pair)"), text.slice(-3000));
        assert.ok(!fs.existsSync(path.join(home, "data", "leaky")), "a preview creates nothing");
    });

    it("a suite that cannot start, a bad suite name and a production stack are refused as bad input, with nothing recorded", async () => {
        const before = (await inEnv(() => testRunsFor(target("sandbox")))).length;
        await assert.rejects(inEnv(() => runTestSuite(target("sandbox"), { command: ["no-such-test-runner-xyz"], ...quiet })), /could not start: no such program/);
        await assert.rejects(inEnv(() => runTestSuite(target("sandbox"), { command: ["true"], suite: "-x" })), /--suite is "-x"/);
        await assert.rejects(inEnv(() => runTestSuite(target("pair"), { command: ["true"] })), /holds a blue-green pair \(shop\), which is production/);
        assert.strictEqual((await inEnv(() => testRunsFor(target("sandbox")))).length, before);
    });

    it("the CLI: `switchyard test` exits with the suite's own status and records it; a refused cutover exits 2 naming the suite", async () => {
        // The project's own program is the ready-made one, as in a user's project.
        fs.writeFileSync(path.join(proj.root, "index.ts"), `export = require(${JSON.stringify(path.resolve(__dirname, "..", "index"))}).program;\n`);
        const cli = async (...args: string[]): Promise<{ code: number; err: string }> => {
            let err = "";
            const write = process.stderr.write.bind(process.stderr);
            const out = process.stdout.write.bind(process.stdout);
            process.stderr.write = ((c: string | Uint8Array) => ((err += String(c)), true)) as typeof process.stderr.write;
            process.stdout.write = ((c: string | Uint8Array) => ((logs += String(c)), true)) as typeof process.stdout.write;
            try {
                const code = await withEnv({ ...env(), SWITCHYARD_INLINE: "1" }, () => runCli(["node", "switchyard", "--cwd", proj.root, ...args]));
                return { code, err };
            } finally {
                process.stderr.write = write;
                process.stdout.write = out;
            }
        };
        const failed = await cli("test", "sandbox", "--suite", "smoke", "--", ...suite("fail"));
        assert.strictEqual(failed.code, 1, failed.err);
        assert.match(failed.err, /suite smoke FAILED on 1\.1\.0 \(exit 1, [\d.]+ s\), recorded in stack sandbox/);
        const passed = await cli("test", "sandbox", "--suite", "smoke", "--", ...suite("pass"));
        assert.strictEqual(passed.code, 0, passed.err);
        const smoke = (await inEnv(() => testRunsFor(target("sandbox"), "1.1.0"))).filter((r) => r.suite === "smoke");
        assert.deepStrictEqual(smoke.map((r) => [r.passed, r.exitCode]), [[false, 1], [true, 0]]);

        // Green (1.1.0) is live since the cutover above: back to blue needs a passing integration run of 1.0.0.
        const refused = await cli("cutover", "pair", "--no-pretest", "--no-backup", "--interval", "1", "--min-requests", "0");
        assert.strictEqual(refused.code, 2, refused.err);
        assert.match(refused.err, /cutover of stack "pair" to 1\.0\.0 refused: .*suite "integration" has no run of 1\.0\.0/);
        assert.deepStrictEqual(await readWeights(prodOut.adminSocket.value as string), { blue: 0, green: 100 }, "nothing moved");
    });
});
