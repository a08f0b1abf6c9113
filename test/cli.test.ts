/**
 * The set-up and the CLI facing a bad environment or bad input: a clear message and a non-zero exit.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { cacheDir, compatible, checkNode, PULUMI_VERSION } from "../stack/env";

const ROOT = path.resolve(__dirname, "..");
const NODE_BIN = path.dirname(process.execPath);

function sh(cmd: string, args: string[], env: Record<string, string | undefined>, timeout = 60_000) {
    const r = spawnSync(cmd, args, { cwd: ROOT, env: { ...process.env, ...env } as NodeJS.ProcessEnv, encoding: "utf8", timeout });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe("set-up and CLI: bad environment and bad input", function () {
    this.timeout(120_000);
    let tmp: string;
    beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-env-"))));
    afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("the cached CLI reports the SDK's release", () => {
        const r = sh(path.join(cacheDir(), "pulumi", `v${PULUMI_VERSION}`, "pulumi"), ["version"], { PULUMI_SKIP_UPDATE_CHECK: "true" });
        assert.strictEqual(r.out.trim(), `v${PULUMI_VERSION}`);
    });

    it("no Go toolchain when the CLI must be built: a clear message, exit 3", () => {
        const r = sh("bash", ["scripts/build-pulumi-cli.sh"], { SWITCHYARD_CACHE: tmp, PATH: `${NODE_BIN}:/usr/bin:/bin` });
        assert.strictEqual(r.code, 3, r.out);
        assert.match(r.out, /no Go toolchain found, and no Pulumi CLI v3\.259\.0 is installed or cached/);
    });

    it("a Go module registry that refuses: a clear message, exit 4, nothing half-built in the cache", () => {
        const r = sh("bash", ["scripts/build-pulumi-cli.sh"], {
            SWITCHYARD_CACHE: tmp,
            GOPROXY: "off",
            GOMODCACHE: path.join(tmp, "gomod"),
            GOFLAGS: "-modcacherw",
        });
        assert.strictEqual(r.code, 4, r.out);
        assert.match(r.out, /fetching the Pulumi CLI sources v3\.259\.0 from the Go module proxy failed/);
        assert.ok(!fs.existsSync(path.join(tmp, "pulumi", "v3.259.0", "pulumi")), "no binary was cached");
    });

    it("a stack name with no config file: exit 2 and the known stacks", () => {
        const r = sh(path.join(ROOT, "bin", "switchyard"), ["preview", "no-such-stack"], { SWITCHYARD_HOME: tmp });
        assert.strictEqual(r.code, 2, r.out);
        assert.match(r.out, /switchyard: stack "no-such-stack" has no config file stacks\/Pulumi\.no-such-stack\.yaml; known stacks: .*local/);
    });

    it("an unknown command: usage and exit 2; --help: exit 0 listing the commands", () => {
        const bad = sh(path.join(ROOT, "bin", "switchyard"), ["frobnicate"], {});
        assert.strictEqual(bad.code, 2);
        assert.match(bad.out, /unknown command 'frobnicate'/);
        const help = sh(path.join(ROOT, "bin", "switchyard"), ["--help"], {});
        assert.strictEqual(help.code, 0);
        for (const c of ["up", "preview", "destroy", "refresh", "outputs", "snapshot", "demo", "cutover", "resume", "revert", "status"]) {
            assert.match(help.out, new RegExp(`\\n  ${c}\\b`));
        }
    });

    it("cutover commands: a stack that is not up, and bad gate flags, exit 2 with the fix named", () => {
        const bin = path.join(ROOT, "bin", "switchyard");
        for (const cmd of [["status", "local"], ["cutover", "local"], ["revert", "local"]]) {
            const r = sh(bin, cmd, { SWITCHYARD_HOME: tmp });
            assert.strictEqual(r.code, 2, r.out);
            assert.match(r.out, /switchyard: stack "local" has no Switchyard blue-green pair: looked for a resource of type switchyard:local:BlueGreen or switchyard:aws:BlueGreen in its state\. Add one to the program and run `switchyard up local`/);
        }
        const flag = sh(bin, ["cutover", "local", "--interval", "soon"], { SWITCHYARD_HOME: tmp });
        assert.strictEqual(flag.code, 2, flag.out);
        assert.match(flag.out, /--interval is "soon": it is not a number; give a number of seconds \(decimals allowed, up to 3 places\), from 0\.1 to 3,600/);
        const color = sh(bin, ["cutover", "local", "--to", "red"], { SWITCHYARD_HOME: tmp });
        assert.strictEqual(color.code, 2, color.out);
        assert.match(color.out, /argument 'red' is invalid\. Allowed choices are blue, green/);
        assert.ok(!fs.existsSync(path.join(tmp, "data", "local")), "nothing was brought up");
    });

    it("Node older than 22 is refused with the fix named", () => {
        assert.throws(() => checkNode("20.20.2"), /Switchyard runs on Node 22 or later, but this is Node 20\.20\.2/);
        assert.doesNotThrow(() => checkNode("22.23.3"));
        // The system Node, where it is older than 22, gets the launcher's message.
        const sys = "/usr/bin/node";
        const v = fs.existsSync(sys) ? spawnSync(sys, ["--version"], { encoding: "utf8" }).stdout.trim() : "";
        if (/^v(1\d|2[01])\./.test(v)) {
            const r = sh(sys, [path.join(ROOT, "bin", "switchyard"), "--help"], {});
            assert.strictEqual(r.code, 2);
            assert.match(r.out, /Switchyard needs Node 22 or later/);
        }
    });

    it("accepts a CLI of the same major and a later minor; refuses older or other majors", () => {
        assert.ok(compatible("v3.259.0"));
        assert.ok(compatible("v3.300.1"));
        assert.ok(!compatible("v3.100.0"));
        assert.ok(!compatible("v4.0.0"));
        assert.ok(!compatible("garbage"));
    });
});
