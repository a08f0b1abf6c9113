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

const CLI = path.join(PACKAGE_ROOT, "bin", "switchyard");

/** A project with a program of its own: `pairs` bare components of the local pair's type. */
function userProject(): { root: string; state: string; cleanup: () => void } {
    // Inside the package's folder so the program resolves @pulumi/pulumi from its node_modules.
    const base = path.join(PACKAGE_ROOT, ".switchyard", "test-projects");
    fs.mkdirSync(base, { recursive: true });
    const root = fs.mkdtempSync(path.join(base, "user-"));
    const state = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-user-state-"));
    fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: user-infra\nruntime:\n  name: nodejs\n  options:\n    typescript: true\nstackConfigDir: deploy\n");
    fs.mkdirSync(path.join(root, "deploy"));
    fs.mkdirSync(path.join(root, "src", "deeper"), { recursive: true });
    fs.writeFileSync(
        path.join(root, "index.ts"),
        [
            'import * as pulumi from "@pulumi/pulumi";',
            "const cfg = new pulumi.Config();",
            'const n = cfg.getNumber("pairs") ?? 0;',
            "for (let i = 0; i < n; i++) {",
            '    const c = new pulumi.ComponentResource("switchyard:local:BlueGreen", `pair${i}`, {});',
            '    c.registerOutputs({ platform: "local", weights: { blue: 100, green: 0 } });',
            "}",
            "export const pairs = n;",
            'export const where = process.cwd();',
            "",
        ].join("\n"),
    );
    fs.writeFileSync(path.join(root, "deploy", "Pulumi.none.yaml"), "config:\n  user-infra:pairs: 0\n");
    fs.writeFileSync(path.join(root, "deploy", "Pulumi.two.yaml"), "config:\n  user-infra:pairs: 2\n");
    return {
        root,
        state,
        cleanup: () => {
            fs.rmSync(root, { recursive: true, force: true });
            fs.rmSync(state, { recursive: true, force: true });
        },
    };
}

function cli(cwd: string, args: string[], state: string): { code: number | null; out: string; err: string } {
    const r = spawnSync(process.execPath, [CLI, ...args], {
        cwd,
        encoding: "utf8",
        timeout: 120_000,
        env: { ...process.env, PULUMI_BACKEND_URL: `file://${state}`, SWITCHYARD_HOME: path.join(state, "home") },
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
}

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
});
