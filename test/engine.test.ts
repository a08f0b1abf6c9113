/**
 * The real Pulumi engine, offline, on a local file backend: preview, up, refresh, destroy of an inline
 * program with a dynamic resource, and a policy pack run by the engine.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { execFileSync } from "child_process";
import * as run from "../stack/run";
import { pulumiCliDir, PULUMI_VERSION, quietCliEnv } from "../stack/env";
import { TestFile } from "./support/testFile";
import { tempProject, TempProject, withEnv } from "./support/project";

describe("Pulumi engine (real CLI, file backend, Automation API)", function () {
    this.timeout(180_000);
    let proj: TempProject;
    let target: string;
    const quiet = { onOutput: () => undefined };

    before(() => {
        proj = tempProject({ dev: "config:\n  switchyard-test:content: hello\n" });
        target = path.join(proj.root, "out.txt");
    });
    after(() => proj.cleanup());

    const env = () => ({ PULUMI_BACKEND_URL: `file://${proj.stateDir}` });
    const program = async () => {
        const cfg = new pulumi.Config();
        const f = new TestFile("file", { path: target, content: cfg.require("content") });
        return { content: f.content };
    };

    it("uses the CLI at the SDK's release", () => {
        const v = execFileSync(path.join(pulumiCliDir(), "pulumi"), ["version"], { encoding: "utf8", env: quietCliEnv() }).trim();
        assert.strictEqual(v, `v${PULUMI_VERSION}`);
    });

    it("previews, ups, refreshes and destroys a program with a dynamic resource", async () => {
        await withEnv(env(), async () => {
            const t = { stackName: "dev", root: proj.root, program, ...quiet };
            const p = await run.preview(t, {});
            assert.strictEqual(p.changeSummary.create, 2, "the stack and the file are to be created");
            assert.ok(!fs.existsSync(target), "preview changes nothing");

            const u = await run.up(t);
            assert.strictEqual(u.summary.result, "succeeded");
            assert.strictEqual(fs.readFileSync(target, "utf8"), "hello", "the config value reached the file");
            assert.strictEqual(u.outputs.content.value, "hello");

            fs.writeFileSync(target, "changed behind Pulumi's back");
            const r = await run.refresh(t);
            assert.strictEqual(r.summary.resourceChanges?.update, 1, "refresh notices the drift");
            const again = await run.up(t);
            assert.strictEqual(again.summary.resourceChanges?.update, 1, "the next up repairs the drift");
            assert.strictEqual(fs.readFileSync(target, "utf8"), "hello");
            assert.strictEqual((await run.outputs(t)).content.value, "hello");

            const d = await run.destroy(t);
            assert.strictEqual(d.summary.result, "succeeded");
            assert.ok(!fs.existsSync(target), "destroy removed the file");
            assert.ok(fs.readdirSync(proj.stateDir).length > 0, "state lives in the file backend");
        });
    });

    it("runs a policy pack: a mandatory violation blocks the preview with its message; a compliant program passes", async () => {
        const pack = path.join(__dirname, "fixtures", "trivial-pack");
        await withEnv(env(), async () => {
            let text = "";
            const bad = async () => {
                new TestFile("bad", { path: target, content: "forbidden words" });
            };
            await assert.rejects(
                run.preview({ stackName: "dev", root: proj.root, program: bad, onOutput: (s) => (text += s) }, { policyPacks: [pack] }),
                (e: Error) => /file "bad" holds forbidden content/.test(e.message + text),
            );
            assert.match(text, /no-forbidden-content/);
            assert.ok(!fs.existsSync(target));

            const ok = await run.preview({ stackName: "dev", root: proj.root, program, ...quiet }, { policyPacks: [pack] });
            assert.strictEqual(ok.changeSummary.create, 2);
        });
    });

    it("refuses a stack with no config file, naming the known stacks", async () => {
        await assert.rejects(run.preview({ stackName: "nope", root: proj.root, program, ...quiet }), (e: Error) => {
            assert.ok(e instanceof run.UserError);
            assert.match(e.message, /stack "nope" has no config file stacks\/Pulumi\.nope\.yaml; known stacks: dev/);
            return true;
        });
    });
});
