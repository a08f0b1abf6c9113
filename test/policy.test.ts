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
const BASE = 19700 + (process.pid % 50) * 10;

function stackYaml(steps: number[]): string {
    return YAML.stringify({
        config: {
            "switchyard:platform": "local",
            "switchyard:role": "blue-green",
            "switchyard:name": "shop",
            "switchyard:traffic": { blue: 100, green: 0 },
            "switchyard:colors": { blue: { version: "1.0.0" }, green: { version: "1.1.0" } },
            "switchyard:app": { command: "node examples/app/server.js", healthCheck: { path: "/healthz" } },
            "switchyard:database": { mode: "shared", name: "shop" },
            "switchyard:cutover": { steps },
            "switchyard:local": { ports: { router: BASE, test: BASE + 1, blue: BASE + 2, green: BASE + 3, database: BASE + 4 } },
        },
    });
}

describe("policy pack on the real engine (preview of a local stack)", function () {
    this.timeout(180_000);
    let proj: TempProject;
    before(() => {
        proj = tempProject({ risky: stackYaml([60, 100]), careful: stackYaml([10, 25, 50, 100]) });
    });
    after(() => proj.cleanup());
    const env = () => ({ PULUMI_BACKEND_URL: `file://${proj.stateDir}`, SWITCHYARD_HOME: path.join(proj.root, "home") });

    it("a mandatory violation blocks the preview and its message is shown", async () => {
        let text = "";
        await withEnv(env(), async () => {
            await assert.rejects(
                run.preview({ stackName: "risky", root: proj.root, program, onOutput: (s) => (text += s) }, { policyPacks: [PACK] }),
            );
        });
        assert.match(text, /cutover-plan-valid/);
        assert.match(text, /mandatory/);
        assert.match(text, /jumps from 0 to 60 \(60 points\), more than the maximum of 50/);
        assert.match(text, /shop-router/);
        assert.ok(!fs.existsSync(path.join(proj.root, "home", "data", "risky")), "a preview creates nothing");
    });

    it("a compliant configuration passes", async () => {
        let text = "";
        const r = await withEnv(env(), () =>
            run.preview({ stackName: "careful", root: proj.root, program, onOutput: (s) => (text += s) }, { policyPacks: [PACK] }),
        );
        assert.ok(r.changeSummary.create && r.changeSummary.create > 0);
        assert.doesNotMatch(text, /mandatory/);
    });

    it("policy config turns the rule advisory: the preview passes with a warning", async () => {
        const cfg = path.join(proj.root, "policy-config.json");
        fs.writeFileSync(cfg, JSON.stringify({ "cutover-plan-valid": "advisory" }));
        let text = "";
        const r = await withEnv(env(), () =>
            run.preview(
                { stackName: "risky", root: proj.root, program, onOutput: (s) => (text += s) },
                { policyPacks: [PACK], policyPackConfigs: [cfg] },
            ),
        );
        assert.ok(r.changeSummary.create && r.changeSummary.create > 0);
        assert.match(text, /advisory/);
        assert.match(text, /cutover-plan-valid/);
    });
});
