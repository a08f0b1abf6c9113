/**
 * The policy pack run by the real engine during a preview of a local stack.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import * as run from "../stack/run";
import { program } from "../index";
import { tempProject, TempProject, withEnv } from "./support/project";

const PACK = path.resolve(__dirname, "..", "policies");
const BASE = 20800 + (process.pid % 50) * 10; // previews only, but clear of the other suites all the same

function stackYaml(steps: number[], rollout: Record<string, unknown> = { window: "Sat 02:00-05:00 UTC", watch: "30m" }): string {
    return YAML.stringify({
        config: {
            "switchyard:platform": "local",
            "switchyard:role": "blue-green",
            "switchyard:name": "shop",
            "switchyard:traffic": { blue: 100, green: 0 },
            "switchyard:colors": { blue: { version: "1.0.0" }, green: { version: "1.1.0" } },
            "switchyard:app": { command: "node examples/app/server.js", healthCheck: { path: "/healthz" } },
            "switchyard:database": { mode: "shared", name: "shop" },
            "switchyard:cutover": { steps, ...rollout },
            "switchyard:local": { ports: { router: BASE, test: BASE + 1, blue: BASE + 2, green: BASE + 3, database: BASE + 4 } },
        },
    });
}

/** The message the pack reports for the risky stack's plan [60, 100] (rules.ts, cutover-plan-valid). */
const RISKY_MESSAGE =
    'pulumi-nodejs:dynamic/switchyard-local:Router "shop-router": cutover-plan-valid: cutoverSteps is [60, 100]: ' +
    "cutover step 1 jumps from 0 to 60 (60 points), more than the maximum of 50: add intermediate steps. " +
    "Declare steps that rise strictly to 100, each at most 50 points above the one before (the first counts from 0), e.g. [10, 25, 50, 100].";

describe("policy pack on the real engine (preview of a local stack)", function () {
    this.timeout(180_000);
    let proj: TempProject;
    before(() => {
        proj = tempProject({
            risky: stackYaml([60, 100]),
            careful: stackYaml([10, 25, 50, 100]),
            // Rollout settings nearly right, read by a program of one's own (the ready-made one refuses them itself).
            "own-rollout": stackYaml([10, 25, 50, 100], { window: ["Sat 02:00-05:00 UTC", "Sat 25:00-05:00 UTC"], watch: "1.5.h", keepWarm: "-1h" }),
        });
    });
    after(() => proj.cleanup());
    const env = () => ({ PULUMI_BACKEND_URL: `file://${proj.stateDir}`, SWITCHYARD_HOME: path.join(proj.root, "home") });

    /** Writes a policy config file and returns its path. */
    const policyConfig = (name: string, config: unknown) => {
        const file = path.join(proj.root, `${name}.json`);
        fs.writeFileSync(file, JSON.stringify(config));
        return file;
    };

    /** Previews a stack with the pack (and a policy config file); returns what was shown, never throws. */
    async function preview(stackName: string, configFile?: string, prog: () => Promise<unknown> = program): Promise<{ passed: boolean; creates: number; text: string }> {
        let text = "";
        try {
            const r = await withEnv(env(), () =>
                run.preview(
                    { stackName, root: proj.root, program: prog as typeof program, onOutput: (s) => (text += s) },
                    { policyPacks: [PACK], policyPackConfigs: configFile ? [configFile] : undefined },
                ),
            );
            return { passed: true, creates: r.changeSummary.create ?? 0, text };
        } catch (e) {
            return { passed: false, creates: 0, text: `${String((e as Error).message ?? e)}\n${text}` };
        }
    }

    it("a mandatory violation blocks the preview and its message is shown", async () => {
        const r = await preview("risky");
        assert.strictEqual(r.passed, false, "the preview is blocked");
        assert.match(r.text, /\[mandatory\]\s+cutover-plan-valid\s+\(pulumi-nodejs:dynamic\/switchyard-local:Router: shop-router\)/);
        assert.ok(r.text.includes(RISKY_MESSAGE), `the exact violation message is shown:\n${r.text}`);
        assert.ok(!fs.existsSync(path.join(proj.root, "home", "data", "risky")), "a preview creates nothing");
    });

    it("a compliant configuration passes", async () => {
        const r = await preview("careful");
        assert.ok(r.passed && r.creates > 0, r.text);
        assert.doesNotMatch(r.text, /\[(mandatory|advisory)\]/, "no policy reports anything");
    });

    it("rollout settings a program of one's own does not check are refused from the pair's state, naming each key and value", async () => {
        // The pair component records switchyard:cutover's window, watch and keepWarm; the stack policy checks them.
        const own = async () => {
            const { LocalBlueGreen } = await import("../components/local/blueGreen");
            const p = new LocalBlueGreen("shop", {
                app: { command: "node examples/app/server.js", healthCheck: { path: "/healthz" } },
                colors: { blue: { version: "1.0.0" }, green: { version: "1.1.0" } },
                database: { mode: "shared", name: "shop" },
                cutover: { steps: [10, 25, 50, 100] },
                ports: { router: BASE, test: BASE + 1, blue: BASE + 2, green: BASE + 3, database: BASE + 4 },
            });
            return { url: p.url };
        };
        const r = await preview("own-rollout", undefined, own);
        assert.strictEqual(r.passed, false, r.text);
        const head = 'switchyard:local:BlueGreen "shop": rollout-settings-valid: ';
        for (const m of [
            'switchyard:cutover.window: window "Sat 25:00-05:00 UTC": "25:00" is not a time of day',
            'switchyard:cutover.watch is "1.5.h": give a duration',
            'switchyard:cutover.keepWarm is "-1h": give a duration',
        ]) {
            assert.ok(r.text.includes(head + m), `${m}:\n${r.text}`);
        }
        assert.match(r.text, /\[mandatory\]\s+rollout-settings-valid/);
        assert.ok(!fs.existsSync(path.join(proj.root, "home", "data", "own-rollout")), "a preview creates nothing");
    });

    it("policy config turns the rule advisory: the preview passes with a warning", async () => {
        const r = await preview("risky", policyConfig("advisory", { "cutover-plan-valid": "advisory" }));
        assert.ok(r.passed && r.creates > 0, r.text);
        assert.match(r.text, /\[advisory\]\s+cutover-plan-valid\s+\(pulumi-nodejs:dynamic\/switchyard-local:Router: shop-router\)/);
        assert.ok(r.text.includes(RISKY_MESSAGE), `the warning carries the same message:\n${r.text}`);
        assert.doesNotMatch(r.text, /\[mandatory\]/);
    });

    it("policy config sets a rule's threshold: maxStep 20 blocks the plan [10, 25, 50, 100]", async () => {
        const r = await preview("careful", policyConfig("max-step-20", { "cutover-plan-valid": { maxStep: 20 } }));
        assert.strictEqual(r.passed, false);
        assert.match(r.text, /\[mandatory\]\s+cutover-plan-valid/);
        assert.ok(
            r.text.includes(
                'pulumi-nodejs:dynamic/switchyard-local:Router "shop-router": cutover-plan-valid: cutoverSteps is [10, 25, 50, 100]: ' +
                    "cutover step 3 jumps from 25 to 50 (25 points), more than the maximum of 20: add intermediate steps. " +
                    "Declare steps that rise strictly to 100, each at most 20 points above the one before (the first counts from 0), e.g. [20, 40, 60, 80, 100].",
            ),
            r.text,
        );
    });

    it("policy config disables a rule: the preview passes and the rule reports nothing", async () => {
        const r = await preview("risky", policyConfig("disabled", { "cutover-plan-valid": "disabled" }));
        assert.ok(r.passed && r.creates > 0, r.text);
        assert.doesNotMatch(r.text, /cutover-plan-valid/);
    });

    it("policy config is checked against each rule's config schema before the engine runs, every problem named", async () => {
        const r = await preview("careful", policyConfig("bad-thresholds", { "cutover-plan-valid": { maxStep: 0 }, "sandbox-expiry-max": { maxHours: 0 } }));
        assert.strictEqual(r.passed, false);
        assert.match(r.text, /policy config \S+bad-thresholds\.json is refused:\n {2}rule "cutover-plan-valid": maxStep is 0: give a whole number at least 1 and at most 100\n {2}rule "sandbox-expiry-max": maxHours is 0: give a number greater than 0/);
        assert.doesNotMatch(r.text, /Previewing|validating policy config/, "the engine never ran");
    });
});
