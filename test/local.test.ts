/**
 * The local platform end to end: the real engine, PostgreSQL, app processes and HAProxy, with real
 * HTTP traffic. Each case asserts what a user would see: weights served, rows present, processes gone.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import * as YAML from "yaml";
import * as run from "../stack/run";
import { snapshotStack } from "../stack/snapshot";
import { program } from "../index";
import { localPairConfig, localSandboxConfig } from "./support/stacks";
import { tempProject, TempProject, withEnv } from "./support/project";
import { load, LoadResult, portOpen, countColors } from "./support/http";
import { isAlive } from "../components/local/ops/proc";
import { portBlock } from "./support/ports";

/** First of 17 ports (pair, sandbox, bad stacks) from the test allocator: outside the ephemeral range, locked against parallel runs. */
let BASE = 0;

function pairConfig(over: Record<string, unknown> = {}): Record<string, unknown> {
    return localPairConfig(BASE, over);
}

function sandboxConfig(over: Record<string, unknown> = {}): Record<string, unknown> {
    return localSandboxConfig(BASE, over);
}

const yamlOf = (config: Record<string, unknown>) => YAML.stringify({ config });

describe("local platform (real PostgreSQL, app processes, HAProxy)", function () {
    this.timeout(300_000);
    let proj: TempProject;
    let home: string;
    let logs = "";
    const env = () => ({ PULUMI_BACKEND_URL: `file://${proj.stateDir}`, SWITCHYARD_HOME: home });
    const target = (stackName: string): run.StackTarget => ({ stackName, root: proj.root, program, onOutput: (s) => (logs += s) });
    const writeStack = (stack: string, config: Record<string, unknown>) =>
        fs.writeFileSync(path.join(proj.root, "stacks", `Pulumi.${stack}.yaml`), yamlOf(config));
    const inEnv = <T>(fn: () => Promise<T>) => withEnv(env(), fn);
    let pairOut: Record<string, { value: unknown }>;

    before(async () => {
        BASE = await portBlock(17);
        proj = tempProject({});
        home = path.join(proj.root, "home");
        writeStack("pair", pairConfig());
        writeStack("sandbox", sandboxConfig());
        const r = await inEnv(() => run.up(target("pair")));
        pairOut = r.outputs;
    });

    after(async () => {
        // Whatever a failing case left behind is destroyed; the clean-destroy case asserts on its own.
        await inEnv(async () => {
            for (const s of ["sandbox", "pair"]) {
                await run.destroy(target(s)).catch(() => undefined);
            }
        });
        proj.cleanup();
    });

    afterEach(function () {
        if (this.currentTest?.state === "failed") {
            process.stderr.write(logs.slice(-4000));
        }
        logs = "";
    });

    it("serves both colors in the configured ratio through HAProxy (±3 points over 1,000 requests)", async () => {
        const url = pairOut.url.value as string;
        const counts = await countColors(url, 1000, 8);
        assert.strictEqual(counts.failed, 0);
        const greenShare = (100 * (counts.colors.green ?? 0)) / 1000;
        assert.ok(Math.abs(greenShare - 20) <= 3, `green served ${greenShare}% of requests, expected 20 ±3`);
        assert.deepStrictEqual(pairOut.weights.value, { blue: 80, green: 20 }, "the weights HAProxy applies are read back");
        const test = await countColors(pairOut.testUrl.value as string, 50, 4);
        assert.deepStrictEqual(test.colors, { green: 50 }, "the test frontend sends only to the idle color");
    });

    it("moves traffic on `up` with new weights, with zero failed requests under steady load", async () => {
        const url = pairOut.url.value as string;
        let done = false;
        const loadRun: Promise<LoadResult> = load(url, { concurrency: 4, durationMs: 60_000, stopWhen: () => done });
        writeStack("pair", pairConfig({ "switchyard:traffic": { blue: 10, green: 90 } }));
        const r = await inEnv(() => run.up(target("pair")));
        done = true;
        const l = await loadRun;
        assert.ok(l.total > 100, `steady load sent ${l.total} requests`);
        assert.strictEqual(l.failed, 0, `failed requests during the weight change: ${l.failed} of ${l.total}`);
        assert.deepStrictEqual(r.outputs.weights.value, { blue: 10, green: 90 });
        assert.strictEqual(r.summary.resourceChanges?.update, 1, "only the router changed");
        assert.ok(!r.summary.resourceChanges?.replace && !r.summary.resourceChanges?.create, "nothing replaced");
        const after = await countColors(url, 400, 8);
        const greenShare = (100 * (after.colors.green ?? 0)) / 400;
        assert.ok(Math.abs(greenShare - 90) <= 5, `green now serves ${greenShare}%`);
        const cfg = fs.readFileSync(path.join(home, "data", "pair", "router", "haproxy.cfg"), "utf8");
        assert.match(cfg, /server green .*weight 90/, "the new weights are persisted to HAProxy's config");
        const test = await countColors(r.outputs.testUrl.value as string, 20, 2);
        assert.deepStrictEqual(test.colors, { blue: 20 }, "blue is idle now, so the test frontend sends to blue");
    });

    it("restores a sandbox from a snapshot: exactly production's rows at snapshot time; sandbox writes stay there", async () => {
        const url = pairOut.url.value as string;
        const post = (base: string, name: string) =>
            fetch(`${base}/items`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name }) });
        for (let i = 0; i < 25; i++) {
            assert.ok((await post(url, `before-${i}`)).ok);
        }
        const atSnapshot = (await (await fetch(`${url}/items`)).json()) as { name: string }[];
        await inEnv(() => snapshotStack(target("pair"), { name: "release-1" }));
        assert.ok((await post(url, "after-snapshot")).ok);

        const sb = await inEnv(() => run.up(target("sandbox")));
        const sbUrl = sb.outputs.url.value as string;
        assert.strictEqual(sb.outputs.sourceSnapshot.value, "release-1");
        const inSandbox = (await (await fetch(`${sbUrl}/items`)).json()) as { name: string }[];
        assert.deepStrictEqual(
            inSandbox.map((r) => r.name).sort(),
            atSnapshot.map((r) => r.name).sort(),
            "the sandbox holds exactly the rows production had at snapshot time",
        );
        assert.ok((await post(sbUrl, "sandbox-only")).ok);
        const prodRows = (await (await fetch(`${url}/items`)).json()) as { name: string }[];
        assert.ok(!prodRows.some((r) => r.name === "sandbox-only"), "a sandbox write never reaches production");
        assert.ok(prodRows.some((r) => r.name === "after-snapshot"));
        const root = await (await fetch(sbUrl)).json();
        assert.deepStrictEqual(root, { color: "green", version: "1.1.0" }, "the sandbox runs the candidate");
    });

    it("a new version replaces that color's process: the old one is gone, nothing else is touched", async () => {
        const [oldBlue, oldGreen] = pairOut.appPids.value as number[];
        writeStack("pair", pairConfig({
            "switchyard:traffic": { blue: 10, green: 90 },
            "switchyard:colors": { blue: { version: "1.0.0" }, green: { version: "1.2.0" } },
        }));
        const r = await inEnv(() => run.up(target("pair")));
        const [newBlue, newGreen] = r.outputs.appPids.value as number[];
        assert.strictEqual(newBlue, oldBlue, "blue kept running");
        assert.notStrictEqual(newGreen, oldGreen);
        assert.ok(!isAlive(oldGreen), "the replaced process is gone");
        const test = await countColors(r.outputs.testUrl.value as string, 1, 1);
        assert.deepStrictEqual(test.colors, { blue: 1 });
        const body = (await (await fetch(`http://127.0.0.1:${BASE + 3}/`)).json()) as { version: string };
        assert.strictEqual(body.version, "1.2.0");
        pairOut = r.outputs;
    });

    it("refresh detects a killed app process, and the next up starts it again", async () => {
        const pids = pairOut.appPids.value as number[];
        process.kill(-pids[0], "SIGKILL");
        await waitGone(pids[0]);
        const r = await inEnv(() => run.refresh(target("pair")));
        assert.ok((r.summary.resourceChanges?.update ?? 0) >= 1, "refresh records the change");
        const stack = await inEnv(() => run.openStack(target("pair")));
        const state = await stack.exportStack();
        const blue = state.deployment.resources.find((res: { urn: string }) => res.urn.endsWith("::shop-blue"));
        assert.strictEqual(blue.outputs.running, false, "the state now says blue is not running");
        const up = await inEnv(() => run.up(target("pair")));
        const newPids = up.outputs.appPids.value as number[];
        assert.notStrictEqual(newPids[0], pids[0]);
        assert.ok(isAlive(newPids[0]));
        pairOut = up.outputs;
    });

    describe("bad input fails with a message naming the resource, leaving nothing half-made", () => {
        it("weights out of range", async () => {
            writeStack("bad", pairConfig({ "switchyard:traffic": { blue: 150, green: 0 } }));
            await assert.rejects(inEnv(() => run.preview(target("bad"))), /traffic weight for blue is 150: it must be an integer from 0 to 100/);
            assert.ok(!fs.existsSync(path.join(home, "data", "bad")), "nothing was created");
        });

        it("a port in use", async () => {
            const blocker = net.createServer().listen(BASE + 7, "127.0.0.1");
            await new Promise((r) => blocker.once("listening", r));
            try {
                const ports = { router: BASE + 7, test: BASE + 8, blue: BASE + 9, green: BASE + 10, database: BASE + 11 };
                writeStack("bad", pairConfig({ "switchyard:local": { ports } }));
                await assert.rejects(inEnv(() => run.preview(target("bad"))), (e: Error) => {
                    assert.match(e.message + logs, /shop-router/);
                    assert.match(e.message + logs, new RegExp(`port ${BASE + 7} on 127\\.0\\.0\\.1 is in use`));
                    return true;
                });
                assert.ok(!fs.existsSync(path.join(home, "data", "bad")));
            } finally {
                blocker.close();
            }
        });

        it("a failing app command: the up fails naming the app, and no process, port or directory is left", async () => {
            const ports = { router: BASE + 12, test: BASE + 13, blue: BASE + 14, green: BASE + 15, database: BASE + 16 };
            writeStack("bad", pairConfig({ "switchyard:local": { ports }, "switchyard:app": { command: "node examples/app/does-not-exist.js" } }));
            await assert.rejects(inEnv(() => run.up(target("bad"))), (e: Error) => {
                assert.match(e.message + logs, /shop-(blue|green)/);
                assert.match(e.message + logs, /does-not-exist\.js|Cannot find module/);
                return true;
            });
            await inEnv(() => run.destroy(target("bad")));
            for (const p of Object.values(ports)) {
                assert.strictEqual(await portOpen(p), false, `port ${p} is free`);
            }
            assert.ok(!fs.existsSync(path.join(home, "data", "bad", "pg")), "the database directory is gone");
        });

        it("a snapshot that does not exist", async () => {
            writeStack("bad-sandbox", sandboxConfig({ "switchyard:database": { mode: "snapshot", name: "shop", snapshot: "no-such-snapshot" } }));
            await assert.rejects(inEnv(() => run.preview(target("bad-sandbox"))), (e: Error) => {
                assert.match(e.message + logs, /snapshot "no-such-snapshot" does not exist/);
                assert.match(e.message + logs, /shop-sandbox/);
                return true;
            });
        });
    });

    describe("teardown", () => it("destroy leaves no process, listening port or data directory behind", async () => {
        const sbOut = await inEnv(async () => (await run.outputs(target("sandbox"))));
        const pids = [...(pairOut.appPids.value as number[]), pairOut.routerPid.value as number, sbOut.appPid.value as number];
        await inEnv(() => run.destroy(target("sandbox")));
        await inEnv(() => run.destroy(target("pair")));
        for (const pid of pids) {
            assert.ok(!isAlive(pid), `process ${pid} is gone`);
        }
        for (let p = BASE; p <= BASE + 6; p++) {
            assert.strictEqual(await portOpen(p), false, `port ${p} is free`);
        }
        for (const d of ["pg", "router"]) {
            assert.ok(!fs.existsSync(path.join(home, "data", "pair", d)), `data/pair/${d} removed`);
        }
        assert.ok(!fs.existsSync(path.join(home, "data", "sandbox")), "the sandbox's data directory removed");
        assert.ok(!fs.existsSync(path.join(home, "data", "pair")), "the pair's data directory removed");
    }));
});


/** Waits until a killed process is gone (a busy machine can take a while); fails if it never goes. */
async function waitGone(pid: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (isAlive(pid)) {
        if (Date.now() > deadline) {
            throw new Error(`process ${pid} is still alive ${timeoutMs} ms after SIGKILL`);
        }
        await new Promise((r) => setTimeout(r, 50));
    }
}
