/**
 * `switchyard setup` (stack/setup.ts over scripts/setup-system.sh): its command line and verdict
 * (pure), and the shared script run for real where that is quick and leaves nothing behind: a machine
 * that is ready, no Go toolchain to build the CLI (exit 3), a package missing for a user who is not
 * root (exit 1, naming it), bad arguments (exit 2). Nothing here installs anything.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { PULUMI_VERSION } from "../stack/env";
import { readSetupOutput, setup, SETUP_EXIT, setupCommand } from "../stack/setup";

const ROOT = path.resolve(__dirname, "..");
const NODE_BIN = path.dirname(process.execPath);

/** A folder holding a fake `pulumi` that reports `version`. */
function fakePulumi(dir: string, version: string): string {
    const bin = path.join(dir, "fake-pulumi");
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, "pulumi"), `#!/bin/sh\n[ "$1" = version ] && echo ${version}\n`, { mode: 0o755 });
    return bin;
}

describe("switchyard setup: the system part of the set-up", function () {
    this.timeout(120_000);
    let tmp: string;
    beforeEach(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-setup-"));
        fs.chmodSync(tmp, 0o755);
    });
    afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

    describe("command line and verdict (pure)", () => {
        it("runs the package's setup-system.sh at the SDK's release, with extra packages and the cache", () => {
            const c = setupCommand({ packageRoot: "/pkg", cacheDir: "/cache", alsoPackages: [{ command: "strace", package: "strace" }], env: { PATH: "/bin" } });
            assert.strictEqual(c.file, "bash");
            assert.deepStrictEqual(c.args, ["/pkg/scripts/setup-system.sh", "--pulumi-version", PULUMI_VERSION, "--also", "strace:strace"]);
            assert.deepStrictEqual(c.env, { PATH: "/bin", SWITCHYARD_CACHE: "/cache", PULUMI_SKIP_UPDATE_CHECK: "true" });
        });

        it("refuses a package or command name that is not a plain name", () => {
            assert.throws(() => setupCommand({ alsoPackages: [{ command: "x; rm -rf /", package: "x" }] }), /not a command and a Debian package name/);
            assert.throws(() => setupCommand({ alsoPackages: [{ command: "x", package: "a b" }] }), /not a command and a Debian package name/);
        });

        it("reads the CLI's version and folder from a successful run", () => {
            const r = readSetupOutput(0, "setup: Pulumi CLI v3.259.0 in /c/pulumi/v3.259.0\nsetup: PostgreSQL 15.18 in /usr/lib/postgresql/15/bin\n");
            assert.deepStrictEqual(r, { ok: true, exitCode: 0, pulumiVersion: "v3.259.0", pulumiDir: "/c/pulumi/v3.259.0", errors: [] });
        });

        it("reads the set-up's errors, the CLI build's messages, or names the exit code", () => {
            assert.deepStrictEqual(readSetupOutput(1, "setup: Pulumi CLI v3.259.0 in /c\nsetup: error: missing system packages: haproxy.\n").errors, ["missing system packages: haproxy."]);
            const noGo = readSetupOutput(
                3,
                "switchyard: no Go toolchain found, and no Pulumi CLI v3.259.0 is installed or cached.\nswitchyard:   Install Go (https://go.dev/dl)\n",
            );
            assert.strictEqual(noGo.ok, false);
            assert.strictEqual(noGo.exitCode, SETUP_EXIT.noGo);
            assert.match(noGo.errors[0], /^no Go toolchain found/);
            assert.deepStrictEqual(readSetupOutput(137, "").errors, ["the set-up failed with exit code 137"]);
        });
    });

    describe("the shared script, run for real", () => {
        it("a ready machine: exit 0, the CLI in use named, nothing installed", async () => {
            if (!fs.existsSync("/usr/sbin/haproxy") || !fs.existsSync("/usr/lib/postgresql") || !fs.readdirSync("/usr/lib/postgresql").length) {
                assert.fail("PostgreSQL and HAProxy are not installed: run the repository's set-up (npm run setup) first");
            }
            const out: string[] = [];
            const r = await setup({
                cacheDir: tmp,
                env: { PATH: `${NODE_BIN}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`, HOME: tmp, SWITCHYARD_PULUMI_DIR: fakePulumi(tmp, `v${PULUMI_VERSION}`) },
                onOutput: (s) => out.push(s),
            });
            const text = out.join("");
            assert.strictEqual(r.exitCode, 0, text);
            assert.strictEqual(r.pulumiVersion, `v${PULUMI_VERSION}`);
            assert.strictEqual(r.pulumiDir, path.join(tmp, "fake-pulumi"));
            assert.match(text, /setup: PostgreSQL \d+\.\d+ in \/usr\/lib\/postgresql\/\d+\/bin/);
            assert.match(text, /setup: HAProxy \d+\.\d+/);
            assert.doesNotMatch(text, /installing/);
        });

        it("an incompatible pulumi on PATH and no Go toolchain: exit 3, saying how to get a CLI, nothing cached", async () => {
            const pathDir = fakePulumi(tmp, "v3.100.0");
            const out: string[] = [];
            const r = await setup({ cacheDir: path.join(tmp, "cache"), env: { PATH: `${pathDir}:${NODE_BIN}:/usr/bin:/bin`, HOME: tmp }, onOutput: (s) => out.push(s) });
            const text = out.join("");
            assert.strictEqual(r.exitCode, SETUP_EXIT.noGo, text);
            assert.match(text, /ignoring the pulumi on PATH \(v3\.100\.0\): need v3\.259\.0 or a later 3\.x/);
            assert.match(r.errors[0], /^no Go toolchain found, and no Pulumi CLI v3\.259\.0 is installed or cached/);
            assert.ok(!fs.existsSync(path.join(tmp, "cache", "pulumi", `v${PULUMI_VERSION}`, "pulumi")), "no CLI was cached");
        });

        it("a package missing for a user who is not root: exit 1, naming the package and the command to install it", function () {
            if (process.getuid?.() !== 0 || spawnSync("id", ["nobody"]).status !== 0) {
                this.skip(); // needs root, to run the script as `nobody`
            }
            // The script and its package.json where `nobody` can read them.
            const pkg = path.join(tmp, "pkg");
            fs.mkdirSync(path.join(pkg, "scripts"), { recursive: true });
            for (const f of ["scripts/setup-system.sh", "scripts/build-pulumi-cli.sh", "package.json"]) {
                fs.copyFileSync(path.join(ROOT, f), path.join(pkg, f));
            }
            const cache = path.join(tmp, "cache");
            fs.mkdirSync(cache, { mode: 0o777 });
            fs.chmodSync(cache, 0o777);
            const { args } = setupCommand({ packageRoot: pkg, alsoPackages: [{ command: "no-such-command-sy", package: "no-such-package-sy" }] });
            const r = spawnSync("runuser", ["-u", "nobody", "--", "env", `PATH=${NODE_BIN}:/usr/bin:/bin`, `HOME=${tmp}`, `SWITCHYARD_CACHE=${cache}`, `SWITCHYARD_PULUMI_DIR=${fakePulumi(tmp, `v${PULUMI_VERSION}`)}`, "bash", ...args], {
                encoding: "utf8",
                timeout: 60_000,
            });
            const v = readSetupOutput(r.status ?? -1, `${r.stdout}${r.stderr}`);
            assert.strictEqual(v.exitCode, SETUP_EXIT.failed, `${r.stdout}${r.stderr}`);
            assert.deepStrictEqual(v.errors, [
                "missing system packages: no-such-package-sy. Install them (apt-get install no-such-package-sy) or run the set-up as root.",
            ]);
        });

        it("bad arguments: exit 2 and the usage", () => {
            for (const args of [["--also", "no-colon"], ["--pulumi-version", "3.x"], ["--frobnicate"]]) {
                const r = spawnSync("bash", [path.join(ROOT, "scripts", "setup-system.sh"), ...args], { encoding: "utf8", timeout: 30_000, env: { ...process.env, SWITCHYARD_CACHE: tmp } });
                assert.strictEqual(r.status, SETUP_EXIT.usage, `${args.join(" ")}: ${r.stderr}`);
                assert.match(r.stderr, /usage: setup-system\.sh \[--pulumi-version VERSION\] \[--also COMMAND:PACKAGE\]/);
            }
        });
    });
});
