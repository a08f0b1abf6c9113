/**
 * The CLI on a user's own Pulumi project: found from a folder below it, refused from a folder in no
 * project, the project's own program run inline, and the pair looked for in the stack's state by its
 * component type (none: exit 2 naming the types; several: exit 2 listing them).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { PACKAGE_ROOT } from "../stack/env";
import { cli, userProject } from "./support/userProject";


/** Every file under a folder with its bytes, to show nothing changed. */
function snapshotFiles(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else out[path.relative(dir, p)] = fs.readFileSync(p, "base64");
        }
    };
    walk(dir);
    return out;
}

describe("the CLI on a user's own project", function () {
    this.timeout(300_000);
    let p: ReturnType<typeof userProject>;

    before(() => {
        p = userProject();
    });
    after(() => p.cleanup());

    it("finds the project from a folder below it and runs the project's own program, in its folder", () => {
        const r = cli(path.join(p.root, "src", "deeper"), ["up", "none", "--no-policy"], p.state);
        assert.strictEqual(r.code, 0, r.err + r.out);
        assert.match(r.out, /pairs: 0/);
        assert.match(r.out, new RegExp(`where: ${p.root.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\n`));
        assert.ok(fs.existsSync(path.join(p.state, ".pulumi", "stacks", "user-infra", "none.json")), "state in the project's backend");
    });

    it("--cwd names the project from anywhere", () => {
        const r = cli(os.tmpdir(), ["--cwd", path.join(p.root, "src"), "outputs", "none", "--json"], p.state);
        assert.strictEqual(r.code, 0, r.err);
        assert.strictEqual(JSON.parse(r.out).pairs, 0);
    });

    it("from a folder in no Pulumi project: exit 2, and it says so", () => {
        const nowhere = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-nowhere-"));
        try {
            const r = cli(nowhere, ["status", "none"], p.state);
            assert.strictEqual(r.code, 2, r.err);
            assert.match(r.err, /no Pulumi project here: neither .* nor any folder above it holds a Pulumi\.yaml/);
            assert.match(r.err, /--cwd/);
        } finally {
            fs.rmSync(nowhere, { recursive: true, force: true });
        }
    });

    it("a stack with no Switchyard pair: cutover exits 2 naming what it looked for, with nothing changed", () => {
        const before = snapshotFiles(p.state);
        const config = fs.readFileSync(path.join(p.root, "deploy", "Pulumi.none.yaml"), "utf8");
        const r = cli(p.root, ["cutover", "none"], p.state);
        assert.strictEqual(r.code, 2, r.err + r.out);
        assert.match(r.err, /stack "none" has no Switchyard blue-green pair: looked for a resource of type switchyard:local:BlueGreen or switchyard:aws:BlueGreen in its state/);
        assert.strictEqual(fs.readFileSync(path.join(p.root, "deploy", "Pulumi.none.yaml"), "utf8"), config);
        const after = snapshotFiles(p.state);
        for (const f of Object.keys(before).filter((f) => f.includes("stacks"))) {
            assert.strictEqual(after[f], before[f], `${f} changed`);
        }
    });

    it("two pairs and no --pair: exit 2 listing them; an unknown --pair: exit 2 listing them", () => {
        const up = cli(p.root, ["up", "two", "--no-policy"], p.state);
        assert.strictEqual(up.code, 0, up.err + up.out);
        const r = cli(p.root, ["cutover", "two"], p.state);
        assert.strictEqual(r.code, 2, r.err);
        assert.match(r.err, /stack "two" has 2 blue-green pairs: pair0 \(switchyard:local:BlueGreen\), pair1 \(switchyard:local:BlueGreen\); name one with --pair <name>/);
        const named = cli(p.root, ["status", "two", "--pair", "shop"], p.state);
        assert.strictEqual(named.code, 2, named.err);
        assert.match(named.err, /stack "two" has no blue-green pair named "shop"; its blue-green pairs: pair0, pair1/);
    });

    it("a component's refusal and a missing config key exit 2 with the message alone, no stack trace", () => {
        const r = cli(p.root, ["up", "refused", "--no-policy"], p.state);
        assert.strictEqual(r.code, 2, r.err + r.out);
        assert.strictEqual(r.err, "switchyard: switchyard:traffic: traffic weight for blue is 101: it must be an integer from 0 to 100\n");
        assert.doesNotMatch(r.out, /^\s+at .+:\d+:\d+\)?$/m, "no JavaScript stack frame in the engine's output");
        const m = cli(p.root, ["up", "unset", "--no-policy"], p.state);
        assert.strictEqual(m.code, 2, m.err + m.out);
        assert.match(m.err, /^switchyard: Missing required configuration variable 'user-infra:region'/);
    });
});
