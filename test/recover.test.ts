/**
 * What a killed engine leaves behind, cleared before the next operation: a file-backend lock whose
 * owner is gone (cleared, naming the dead owner), one whose owner lives (refused, naming its pid), and
 * operations left pending in the state (dropped, named, and the next update neither fails nor warns).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn, spawnSync } from "child_process";
import { clearLockTempFiles, judgeLocks, repairCutState } from "../stack/recover";
import { cli, userProject } from "./support/userProject";

describe("stale engine locks and pending operations", function () {
    this.timeout(300_000);
    let p: ReturnType<typeof userProject>;
    const lockDir = () => path.join(p.state, ".pulumi", "locks", "organization", "user-infra", "none");

    before(() => {
        p = userProject();
        const r = cli(p.root, ["up", "none", "--no-policy"], p.state);
        assert.strictEqual(r.code, 0, r.err + r.out);
    });
    after(() => p.cleanup());

    it("judges locks: same host and owner gone is stale; alive or another host is held", () => {
        const host = "here";
        const locks = [
            { file: "a", pid: 10, hostname: host },
            { file: "b", pid: 11, hostname: host },
            { file: "c", pid: 12, hostname: "elsewhere" },
            { file: "d", pid: 0, hostname: host },
        ];
        const r = judgeLocks(locks, host, (pid) => pid === 11);
        assert.deepStrictEqual(r.stale.map((l) => l.file), ["a", "d"]);
        assert.deepStrictEqual(r.held.map((l) => l.file), ["b", "c"]);
    });

    it("half-written lock copies (.tmp) older than the margin, or empty (a full disk), are removed; a fresh one and real locks stay", () => {
        const backend = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-locktmp-"));
        try {
            const dir = path.join(backend, ".pulumi", "locks", "organization", "proj", "dev");
            fs.mkdirSync(dir, { recursive: true });
            const old = path.join(dir, "a1.json.123456.tmp");
            const fresh = path.join(dir, "b2.json.654321.tmp");
            const lock = path.join(dir, "c3.json");
            const empty = path.join(dir, "d4.json.777.tmp");
            for (const f of [old, fresh, lock]) fs.writeFileSync(f, "{");
            fs.writeFileSync(empty, "");
            const past = new Date(Date.now() - 60_000);
            fs.utimesSync(old, past, past);
            assert.deepStrictEqual(clearLockTempFiles(backend, "proj", "dev").sort(), [old, empty], "an empty one goes at once, however young");
            assert.deepStrictEqual(fs.readdirSync(dir).sort(), ["b2.json.654321.tmp", "c3.json"]);
            assert.deepStrictEqual(clearLockTempFiles(backend, "proj", "none-such"), []);
        } finally {
            fs.rmSync(backend, { recursive: true, force: true });
        }
    });

    it("a state file cut short (a full disk during an update) is restored from the backend's backup copy; a good one is left alone", () => {
        const backend = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-cutstate-"));
        try {
            const dir = path.join(backend, ".pulumi", "stacks", "proj");
            fs.mkdirSync(dir, { recursive: true });
            const file = path.join(dir, "dev.json");
            const good = JSON.stringify({ version: 3, checkpoint: { stack: "dev" } });
            fs.writeFileSync(`${file}.bak`, good);
            fs.writeFileSync(file, good.slice(0, 17));
            const msgs = repairCutState(backend, "proj", "dev");
            assert.match(msgs.join(), /restored the state of stack "dev" from its backup copy: the state file was cut short/);
            assert.strictEqual(fs.readFileSync(file, "utf8"), good);
            assert.deepStrictEqual(repairCutState(backend, "proj", "dev"), [], "a state file that reads is left alone");
            // The backup copy cut short too: the newest checkpoint of the history that reads.
            const history = path.join(backend, ".pulumi", "history", "proj", "dev");
            fs.mkdirSync(history, { recursive: true });
            const older = JSON.stringify({ version: 3, checkpoint: { stack: "dev", n: 1 } });
            const newest = JSON.stringify({ version: 3, checkpoint: { stack: "dev", n: 2 } });
            fs.writeFileSync(path.join(history, "dev-100.checkpoint.json"), older);
            fs.writeFileSync(path.join(history, "dev-200.checkpoint.json"), newest);
            fs.writeFileSync(path.join(history, "dev-300.checkpoint.json"), "{\"ver");
            fs.writeFileSync(path.join(history, "dev-300.checkpoint.json.attrs"), "{\"user.cont");
            fs.writeFileSync(file, "{");
            fs.writeFileSync(`${file}.bak`, "{");
            fs.writeFileSync(`${file}.attrs`, "{\"md5");
            const again = repairCutState(backend, "proj", "dev");
            assert.match(again.join("\n"), /removed .*dev\.json\.attrs: it was cut short/);
            assert.match(again.join("\n"), /removed .*dev-300\.checkpoint\.json\.attrs/);
            assert.match(again.join("\n"), /from its last recorded checkpoint \(dev-200\.checkpoint\.json\)/);
            assert.strictEqual(fs.readFileSync(file, "utf8"), newest);
            fs.writeFileSync(file, "{");
            for (const f of fs.readdirSync(history)) fs.writeFileSync(path.join(history, f), "{");
            fs.writeFileSync(`${file}.bak`, "{");
            assert.deepStrictEqual(repairCutState(backend, "proj", "dev").filter((m) => /restored/.test(m)), [], "no good copy: nothing is guessed");
            assert.strictEqual(fs.readFileSync(file, "utf8"), "{");
        } finally {
            fs.rmSync(backend, { recursive: true, force: true });
        }
    });

    it("a lock left by a dead engine is cleared, with a message naming its pid, and the operation runs", () => {
        // A pid that surely is gone: a child that has exited.
        const dead = spawnSync("true").pid as number;
        fs.mkdirSync(lockDir(), { recursive: true });
        const lock = path.join(lockDir(), "0c7b0a3e-dead-4bad-8bad-000000000000.json");
        fs.writeFileSync(lock, JSON.stringify({ pid: dead, username: "root", hostname: os.hostname(), timestamp: new Date().toISOString() }));
        const r = cli(p.root, ["up", "none", "--no-policy"], p.state);
        assert.strictEqual(r.code, 0, r.err + r.out);
        assert.match(r.err, new RegExp(`cleared a stale engine lock on stack "none" left by pid ${dead} \\(no longer running on this host`));
        assert.ok(!fs.existsSync(lock), "the lock file is gone");
    });

    it("a lock held by a live process is refused, exit 2, naming its pid; the lock stays", async () => {
        const owner = spawn("sleep", ["60"], { stdio: "ignore" });
        try {
            fs.mkdirSync(lockDir(), { recursive: true });
            const lock = path.join(lockDir(), "0c7b0a3e-live-4bad-8bad-000000000000.json");
            fs.writeFileSync(lock, JSON.stringify({ pid: owner.pid, username: "root", hostname: os.hostname(), timestamp: new Date().toISOString() }));
            const r = cli(p.root, ["up", "none", "--no-policy"], p.state);
            assert.strictEqual(r.code, 2, r.err + r.out);
            assert.match(r.err, new RegExp(`stack "none" is locked by a running engine \\(pid ${owner.pid}`));
            assert.ok(fs.existsSync(lock), "a live owner's lock is kept");
            fs.rmSync(lock);
        } finally {
            owner.kill("SIGKILL");
        }
    });

    it("operations left pending by a killed up are dropped and named; the next up neither fails nor warns", async () => {
        // As a killed `up` leaves it: the state file itself names the operation (`stack import` would drop it).
        const file = path.join(p.state, ".pulumi", "stacks", "user-infra", "none.json");
        const doc = JSON.parse(fs.readFileSync(file, "utf8")) as { checkpoint: { latest: { resources: { urn: string; type: string }[]; pending_operations?: unknown[] } } };
        const latest = doc.checkpoint.latest;
        const stackUrn = latest.resources.find((r) => r.type === "pulumi:pulumi:Stack")!.urn;
        const ghost = stackUrn.replace(/pulumi:pulumi:Stack::[^:]+$/, "pulumi-nodejs:dynamic:Resource::ghost");
        latest.pending_operations = [{ resource: { urn: ghost, type: "pulumi-nodejs:dynamic:Resource", custom: true }, type: "updating" }];
        fs.writeFileSync(file, JSON.stringify(doc));
        const r = cli(p.root, ["up", "none", "--no-policy"], p.state);
        assert.strictEqual(r.code, 0, r.err + r.out);
        assert.match(r.err, /cleared an operation left pending by an interrupted update: updating of ghost/);
        assert.doesNotMatch(r.out + r.err, /pending operation/i);
        const after = JSON.parse(fs.readFileSync(file, "utf8")) as typeof doc;
        assert.strictEqual(after.checkpoint.latest.pending_operations, undefined);
    });
});
