/**
 * Switchyard as a user gets it: packed from a clean copy of the committed HEAD (`git archive`), the
 * tarball installed into a copy of `examples/shop-infra` outside the repository, and everything done
 * there through the installed package only:
 *   - the example type-checks under strict (classic `node` resolution through typesVersions, and
 *     `node16` through the exports map);
 *   - a plain `require` of every public entry point works, and the exports map hides the rest;
 *   - the installed package holds no test, bench, stack, data or TypeScript source file;
 *   - the project's tree holds one copy of @pulumi/pulumi, which Switchyard itself loads;
 *   - `switchyard setup` from the package finds the machine ready;
 *   - the CLI on the example's own stacks: up the pair, preview with the installed policy pack,
 *     snapshot, up the sandbox restored from it, cutover under load with no failed request, status,
 *     revert, destroy both; then no process, port or data directory is left.
 *
 * Real processes (PostgreSQL, HAProxy, the engine): run it as
 *   flock /tmp/switchyard-e2e.lock npx mocha test/package.test.ts
 */
import * as assert from "assert";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { spawn, spawnSync } from "child_process";
import * as YAML from "yaml";
import { LoadResult, RunningLoad, startLoad } from "./support/http";

const ROOT = path.resolve(__dirname, "..");
/** Node 22 (the one running this test) first on PATH, for npm, npx and the CLI's `#!/usr/bin/env node`. */
const NODE_PATH = `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ""}`;
const PAIR = "dev";
const SANDBOX = "dev-sandbox";
/** Each stack's component, whose data folder is `.switchyard/data/<stack>/<component>` (the components' default). */
const COMPONENT: Record<string, string> = { [PAIR]: "shop", [SANDBOX]: "shop-sandbox" };
/** Ports the example's stack files claim (stacks/Pulumi.dev*.yaml). */
const EXAMPLE_PORTS = { router: 23080, test: 23081, blue: 23001, green: 23002, database: 23432, sandboxApp: 23101, sandboxDatabase: 23433 };

interface Ran {
    code: number | null;
    /** Standard output alone (for JSON and names). */
    stdout: string;
    /** Standard output and error, interleaved (for messages). */
    out: string;
    ms: number;
}

/** Runs a command without blocking the event loop (the cutover's load runs beside it). */
function run(cmd: string, args: string[], cwd: string, timeoutMs: number, env: Record<string, string> = {}): Promise<Ran> {
    const t0 = Date.now();
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, { cwd, env: { ...process.env, PATH: NODE_PATH, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
        let out = "";
        let stdout = "";
        child.stdout.on("data", (c: Buffer) => {
            stdout += c.toString("utf8");
            out += c.toString("utf8");
        });
        child.stderr.on("data", (c: Buffer) => (out += c.toString("utf8")));
        const timer = setTimeout(() => {
            out += `\n[test] ${cmd} ${args.join(" ")} timed out after ${timeoutMs} ms: killed\n`;
            try {
                process.kill(-(child.pid as number), "SIGKILL");
            } catch {
                /* gone */
            }
        }, timeoutMs);
        child.on("error", reject);
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code, stdout, out, ms: Date.now() - t0 });
        });
    });
}

function must(r: Ran, what: string): Ran {
    assert.strictEqual(r.code, 0, `${what} exited ${r.code}:\n${r.out.slice(-6000)}`);
    return r;
}

function timing(what: string, ms: number): void {
    process.stdout.write(`      [timing] ${what}: ${(ms / 1000).toFixed(1)} s\n`);
}

/** Every file below dir, relative to it, not descending into nested node_modules. */
function filesBelow(dir: string, rel = ""): string[] {
    const out: string[] = [];
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
        const p = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
            if (e.name !== "node_modules") out.push(...filesBelow(dir, p));
        } else {
            out.push(p);
        }
    }
    return out;
}

/** Processes whose command line names `dir`, or whose working directory is inside it. */
function processesUnder(dir: string): { pid: number; cmd: string }[] {
    const found: { pid: number; cmd: string }[] = [];
    for (const name of fs.readdirSync("/proc")) {
        const pid = Number(name);
        if (!Number.isInteger(pid) || pid === process.pid) continue;
        try {
            const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
            let cwd = "";
            try {
                cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
            } catch {
                /* not ours to read */
            }
            if (cmd && (cmd.includes(dir) || cwd === dir || cwd.startsWith(dir + path.sep))) {
                found.push({ pid, cmd });
            }
        } catch {
            /* exited meanwhile */
        }
    }
    return found;
}

function portFree(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const s = net.createServer();
        s.once("error", () => resolve(false));
        s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

function request(url: string, method = "GET", body?: unknown): Promise<{ status: number; json: unknown }> {
    return new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
        const req = http.request(url, { method, agent, timeout: 5000, headers: data ? { "content-type": "application/json", "content-length": data.length } : {} }, (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (c) => (text += c));
            res.on("end", () => {
                try {
                    resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined });
                } catch {
                    resolve({ status: res.statusCode ?? 0, json: text });
                }
            });
        });
        req.on("timeout", () => req.destroy(new Error("timeout after 5000 ms")));
        req.on("error", reject);
        req.end(data);
    });
}

/** Steady load until stopped (autocannon, each connection paced at one request per `pauseMs`): answers counted by color, failures described. */
function steadyLoad(url: string, connections: number, pauseMs: number): RunningLoad {
    return startLoad(url, { connections, durationMs: 900_000, rate: (connections * 1000) / pauseMs });
}

describe("the package: packed from a clean copy of HEAD, installed into a copy of examples/shop-infra", function () {
    this.timeout(600_000);
    let tmp: string;
    let shop: string;
    let tarball: string;
    const sw = (args: string[], timeoutMs = 240_000, cwd?: string) => run("npx", ["--no", "--", "switchyard", ...args], cwd ?? shop, timeoutMs);

    before(async function () {
        this.timeout(480_000);
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-pkg-"));
        fs.chmodSync(tmp, 0o755);
        const src = path.join(tmp, "src");
        fs.mkdirSync(src);

        // The committed HEAD, nothing of the working tree: git archive into a clean folder.
        // SWITCHYARD_PACKAGE_TREE names another tree-ish, e.g. the working tree written with
        // `GIT_INDEX_FILE=/tmp/i git read-tree HEAD && GIT_INDEX_FILE=/tmp/i git add -u && GIT_INDEX_FILE=/tmp/i git write-tree`.
        const tree = process.env.SWITCHYARD_PACKAGE_TREE ?? "HEAD";
        assert.match(tree, /^[A-Za-z0-9_./^~-]+$/, "SWITCHYARD_PACKAGE_TREE is a git tree-ish");
        const t0 = Date.now();
        const archive = spawnSync("sh", ["-c", `git -C "${ROOT}" archive --format=tar "${tree}" | tar -x -C "${src}"`], { encoding: "utf8" });
        assert.strictEqual(archive.status, 0, `git archive ${tree} failed: ${archive.stderr}`);
        timing(`git archive ${tree}`, Date.now() - t0);

        // npm pack runs prepack (a clean build to lib/) with the repository's node_modules, linked.
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(src, "node_modules"), "dir");
        const pack = must(await run("npm", ["pack", "--silent", "--pack-destination", tmp], src, 240_000), "npm pack");
        timing("npm pack (prepack build included)", pack.ms);
        const name = pack.stdout.trim().split("\n").pop() as string;
        tarball = path.join(tmp, name);
        assert.ok(fs.existsSync(tarball), `npm pack named ${name}, which is not in ${tmp}:\n${pack.out}`);

        // The example, as committed, outside the repository, depending on the tarball.
        shop = path.join(tmp, "shop-infra");
        fs.cpSync(path.join(src, "examples", "shop-infra"), shop, { recursive: true });
        const manifest = JSON.parse(fs.readFileSync(path.join(shop, "package.json"), "utf8")) as { dependencies: Record<string, string> };
        assert.strictEqual(manifest.dependencies["@pulumi/pulumi"], "3.259.0", "the example pins @pulumi/pulumi at the SDK's release");
        manifest.dependencies.switchyard = `file:${tarball}`;
        fs.writeFileSync(path.join(shop, "package.json"), JSON.stringify(manifest, null, 2) + "\n");
        const install = must(await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], shop, 300_000), "npm install");
        timing("npm install of the tarball into the example", install.ms);
    });

    after(async function () {
        this.timeout(300_000);
        if (!tmp) return;
        if (shop && fs.existsSync(path.join(shop, "node_modules", "switchyard"))) {
            // Whatever a failed step left up: destroy it the user's way, then make sure.
            for (const stack of [SANDBOX, PAIR]) {
                if (fs.existsSync(path.join(shop, ".switchyard", "data", stack))) {
                    const r = await sw(["destroy", stack], 180_000);
                    if (r.code !== 0) process.stdout.write(`      [cleanup] destroy ${stack} exited ${r.code}: ${r.out.slice(-1500)}\n`);
                }
            }
        }
        for (const p of processesUnder(tmp)) {
            process.stdout.write(`      [cleanup] killing leftover ${p.pid}: ${p.cmd}\n`);
            try {
                process.kill(p.pid, "SIGKILL");
            } catch {
                /* gone */
            }
        }
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("type-checks the example under strict, with node resolution (typesVersions) and node16 (exports)", async () => {
        const tsc = path.join(shop, "node_modules", ".bin", "tsc");
        const tsconfig = JSON.parse(fs.readFileSync(path.join(shop, "tsconfig.json"), "utf8")) as { compilerOptions: { strict?: boolean } };
        assert.strictEqual(tsconfig.compilerOptions.strict, true);
        const classic = must(await run(tsc, ["--noEmit", "-p", "tsconfig.json"], shop, 120_000), "tsc (moduleResolution node)");
        const node16 = must(await run(tsc, ["--noEmit", "-p", "tsconfig.json", "--module", "node16", "--moduleResolution", "node16"], shop, 120_000), "tsc (node16)");
        timing("tsc --noEmit, twice", classic.ms + node16.ms);
    });

    it("loads every public entry point with a plain require, and hides the rest", async () => {
        const script = `
            const assert = require("assert");
            const root = require("switchyard");
            const local = require("switchyard/local");
            const aws = require("switchyard/aws");
            const cutover = require("switchyard/cutover");
            assert.strictEqual(typeof local.LocalBlueGreen, "function", "switchyard/local: LocalBlueGreen");
            assert.strictEqual(typeof local.LocalSandbox, "function", "switchyard/local: LocalSandbox");
            assert.strictEqual(typeof aws.BlueGreen, "function", "switchyard/aws: BlueGreen");
            assert.strictEqual(typeof cutover.cutover, "function", "switchyard/cutover: cutover");
            assert.strictEqual(typeof cutover.revert, "function", "switchyard/cutover: revert");
            assert.deepStrictEqual(root.COLORS, ["blue", "green"], "switchyard: COLORS");
            assert.strictEqual(require("switchyard/package.json").name, "switchyard");
            assert.throws(() => require("switchyard/lib/stack/env"), { code: "ERR_PACKAGE_PATH_NOT_EXPORTED" });
            // One @pulumi/pulumi: the one Switchyard loads is the project's own.
            const fromSwitchyard = require.resolve("@pulumi/pulumi", { paths: [require.resolve("switchyard")] });
            assert.strictEqual(fromSwitchyard, require.resolve("@pulumi/pulumi"));
            console.log("entry points ok");
        `;
        const r = must(await run(process.execPath, ["-e", script], shop, 60_000), "require of the entry points");
        assert.match(r.out, /entry points ok/);
        must(await run(process.execPath, ["-e", 'require("switchyard")'], shop, 60_000), `node -e 'require("switchyard")'`);
    });

    it("holds the built code, CLI, policy pack, set-up scripts, README and LICENSE, and no test, bench, stack, data or source file", () => {
        const pkg = path.join(shop, "node_modules", "switchyard");
        const files = filesBelow(pkg);
        const unwanted = files.filter(
            (f) =>
                /(^|\/)(test|tests|bench|stacks|fixtures|examples|\.switchyard)(\/|$)/.test(f) ||
                /\.(test|bench)\.|testkit/.test(f) ||
                (/\.tsx?$/.test(f) && !f.endsWith(".d.ts")) ||
                /^(Pulumi\.ya?ml|tsconfig.*\.json|\.mocharc.*)$/.test(f),
        );
        assert.deepStrictEqual(unwanted, [], `files that do not belong in the package: ${unwanted.join(", ")}`);
        for (const f of [
            "lib/index.js",
            "lib/index.d.ts",
            "lib/index.js.map",
            "lib/components/local/index.js",
            "lib/bin/cli.js",
            "lib/policies/index.js",
            "bin/switchyard",
            "policies/PulumiPolicy.yaml",
            "policies/package.json",
            "policies/main.js",
            "scripts/setup-system.sh",
            "scripts/build-pulumi-cli.sh",
            "scripts/plugins/pulumi-analyzer-policy-nodejs",
            "scripts/plugins/pulumi-resource-pulumi-nodejs",
            "README.md",
            "LICENSE",
        ]) {
            assert.ok(files.includes(f), `the package lacks ${f}`);
        }
        for (const f of ["bin/switchyard", "scripts/setup-system.sh", "scripts/plugins/pulumi-analyzer-policy-nodejs", "scripts/plugins/pulumi-resource-pulumi-nodejs"]) {
            assert.ok((fs.statSync(path.join(pkg, f)).mode & 0o111) !== 0, `${f} is not executable`);
        }
        assert.match(fs.readFileSync(path.join(pkg, "LICENSE"), "utf8"), /Apache License\s+Version 2\.0/);
        process.stdout.write(`      [package] ${files.length} files, ${(fs.statSync(tarball).size / 1024).toFixed(0)} KiB packed\n`);
    });

    it("leaves one copy of @pulumi/pulumi in the project's tree (npm ls)", async () => {
        const r = must(await run("npm", ["ls", "@pulumi/pulumi", "--all", "--parseable"], shop, 60_000), "npm ls @pulumi/pulumi");
        const copies = [...new Set(r.stdout.split("\n").map((l) => l.trim()).filter((l) => l.endsWith(`${path.sep}@pulumi${path.sep}pulumi`)))];
        assert.deepStrictEqual(copies, [path.join(shop, "node_modules", "@pulumi", "pulumi")]);
        const tree = must(await run("npm", ["ls", "@pulumi/pulumi", "--all"], shop, 60_000), "npm ls");
        assert.doesNotMatch(tree.out, /invalid|UNMET/i, tree.out);
    });

    it("`switchyard setup` from the package finds this machine ready (idempotent, exit 0)", async () => {
        const r = must(await sw(["setup"], 120_000), "switchyard setup");
        assert.match(r.out, /setup: Pulumi CLI v3\.\d+\.\d+ in /);
        assert.match(r.out, /setup: PostgreSQL \d+/);
        assert.match(r.out, /setup: HAProxy \d+/);
        assert.doesNotMatch(r.out, /installing/, "nothing was missing, so nothing is installed");
    });

    describe("the CLI on the example's own stacks (real PostgreSQL, HAProxy and engine)", function () {
        const done = new Set<string>();
        const need = (ctx: Mocha.Context, ...steps: string[]) => {
            const missing = steps.filter((s) => !done.has(s));
            if (missing.length) ctx.skip();
        };
        let urls: { url: string; testUrl: string };
        /** `switchyard:traffic` in the pair's stack file, as numbers. */
        const trafficInStackFile = () => {
            const doc = YAML.parse(fs.readFileSync(path.join(shop, "stacks", `Pulumi.${PAIR}.yaml`), "utf8")) as { config: Record<string, Record<string, unknown>> };
            const t = doc.config["switchyard:traffic"];
            return { blue: Number(t.blue), green: Number(t.green) };
        };

        before(async function () {
            for (const [what, port] of Object.entries(EXAMPLE_PORTS)) {
                assert.ok(await portFree(port), `port ${port} (${what}) of the example's stacks is taken: is another run of this test up?`);
            }
        });

        it(`up ${PAIR}: the pair serves blue 1.0.0 through the router and green 1.1.0 on the test listener`, async () => {
            const r = must(await sw(["up", PAIR]), `switchyard up ${PAIR}`);
            timing(`up ${PAIR}`, r.ms);
            const out = JSON.parse(must(await sw(["outputs", PAIR, "--json"]), "outputs").stdout) as Record<string, string>;
            urls = { url: out.url, testUrl: out.testUrl };
            assert.strictEqual(urls.url, `http://127.0.0.1:${EXAMPLE_PORTS.router}`);
            assert.deepStrictEqual((await request(urls.url)).json, { service: "shop-orders", color: "blue", release: "1.0.0" });
            assert.deepStrictEqual((await request(urls.testUrl)).json, { service: "shop-orders", color: "green", release: "1.1.0" });
            for (const [sku, quantity] of [["beans-1kg", 2], ["filter-papers", 5]] as const) {
                const w = await request(`${urls.url}/orders`, "POST", { sku, quantity });
                assert.strictEqual(w.status, 201, JSON.stringify(w.json));
            }
            done.add("up");
        });

        it(`preview ${PAIR}: the policy pack of the installed package runs and passes`, async function () {
            need(this, "up");
            const r = must(await sw(["preview", PAIR]), `switchyard preview ${PAIR}`);
            timing(`preview ${PAIR}`, r.ms);
            const packDir = path.join(shop, "node_modules", "switchyard", "policies");
            assert.ok(r.out.includes(`switchyard@v0.1.0 (local: ${packDir})`), `the preview names the installed pack ${packDir}:\n${r.out}`);
        });

        it(`snapshot ${PAIR}: a consistent snapshot while the pair serves`, async function () {
            need(this, "up");
            const r = must(await sw(["snapshot", PAIR]), `switchyard snapshot ${PAIR}`);
            timing(`snapshot ${PAIR}`, r.ms);
            assert.match(r.out, new RegExp(`snapshot ${PAIR}-\\d{8}T\\d{6}Z: `));
            const snapshots = fs.readdirSync(path.join(shop, ".switchyard", "data", PAIR, COMPONENT[PAIR], "snapshots"));
            assert.strictEqual(snapshots.length, 1, `one snapshot: ${snapshots.join(", ")}`);
            done.add("snapshot");
        });

        it(`up ${SANDBOX}: restored from the pair's latest snapshot, the candidate serves the pair's orders`, async function () {
            need(this, "snapshot");
            const r = must(await sw(["up", SANDBOX]), `switchyard up ${SANDBOX}`);
            timing(`up ${SANDBOX}`, r.ms);
            const url = `http://127.0.0.1:${EXAMPLE_PORTS.sandboxApp}`;
            assert.deepStrictEqual((await request(url)).json, { service: "shop-orders", color: "green", release: "1.1.0" });
            const orders = (await request(`${url}/orders`)).json as { sku: string; quantity: number }[];
            assert.deepStrictEqual(
                orders.map((o) => [o.sku, o.quantity]),
                [["beans-1kg", 2], ["filter-papers", 5]],
            );
            done.add("sandbox");
        });

        it(`cutover ${PAIR} under steady load: green promoted step by step, no failed request`, async function () {
            need(this, "up");
            const load = steadyLoad(urls.url, 2, 20);
            let r: Ran;
            let tally: LoadResult;
            try {
                r = await sw(["cutover", PAIR, "--steps", "50,100", "--interval", "3", "--min-requests", "10"], 300_000);
            } finally {
                tally = await load.stop();
            }
            timing(`cutover ${PAIR}`, r.ms);
            process.stdout.write(`      [load] ${tally.total} requests, ${tally.failed} failed, by color ${JSON.stringify(tally.colors)}\n`);
            must(r, `switchyard cutover ${PAIR}`);
            assert.strictEqual(tally.failed, 0, `failed requests during the cutover: ${tally.errors.join("; ")}`);
            assert.ok((tally.colors.green ?? 0) > 0 && (tally.colors.blue ?? 0) > 0, `both colors served during the cutover: ${JSON.stringify(tally.colors)}`);
            for (let i = 0; i < 20; i++) {
                assert.strictEqual(((await request(urls.url)).json as { color: string }).color, "green", "after the cutover green serves everything");
            }
            assert.deepStrictEqual(trafficInStackFile(), { blue: 0, green: 100 }, "the stack file holds the new weights");
            done.add("cutover");
        });

        it(`status ${PAIR}, from a folder below the project: the weights in state and served agree`, async function () {
            need(this, "cutover");
            const r = must(await sw(["status", PAIR, "--json"], 120_000, path.join(shop, "app")), `switchyard status ${PAIR}`);
            const s = JSON.parse(r.stdout) as { weightsServed: { blue: number; green: number }; weightsInState: { blue: number; green: number } };
            assert.deepStrictEqual({ ...s.weightsServed }, { blue: 0, green: 100 });
            assert.deepStrictEqual({ ...s.weightsInState }, { blue: 0, green: 100 });
        });

        it(`revert ${PAIR}: all traffic back to blue at once`, async function () {
            need(this, "cutover");
            const r = must(await sw(["revert", PAIR]), `switchyard revert ${PAIR}`);
            timing(`revert ${PAIR}`, r.ms);
            for (let i = 0; i < 20; i++) {
                assert.strictEqual(((await request(urls.url)).json as { color: string }).color, "blue");
            }
            const s = JSON.parse(must(await sw(["status", PAIR, "--json"]), "status").stdout) as { weightsServed: { blue: number; green: number } };
            assert.deepStrictEqual({ ...s.weightsServed }, { blue: 100, green: 0 });
            assert.deepStrictEqual(trafficInStackFile(), { blue: 100, green: 0 }, "the stack file holds blue's weights again");
        });

        it("destroy both: no process, port or data directory is left", async function () {
            need(this, "up");
            for (const stack of [SANDBOX, PAIR]) {
                const r = must(await sw(["destroy", stack]), `switchyard destroy ${stack}`);
                timing(`destroy ${stack}`, r.ms);
            }
            assert.deepStrictEqual(processesUnder(shop), [], "no process of the example is left");
            for (const [what, port] of Object.entries(EXAMPLE_PORTS)) {
                assert.ok(await portFree(port), `port ${port} (${what}) is free again`);
            }
            for (const stack of [SANDBOX, PAIR]) {
                assert.ok(!fs.existsSync(path.join(shop, ".switchyard", "data", stack, COMPONENT[stack])), `the data of ${stack} is gone`);
            }
        });
    });
});
