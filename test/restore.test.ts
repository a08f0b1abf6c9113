/**
 * `switchyard restore` on the local platform, end to end: the real engine, PostgreSQL and the app.
 * A restore returns exactly the snapshot's rows; the snapshot of the data from before exists and
 * holds it; without --yes nothing changes; the app serves on through its unchanged connection
 * settings; and a restore killed (its whole process group) at a random instant ends, after the next
 * restore, in one whole side: never an empty or half-swapped database.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { spawn } from "child_process";
import { Client } from "pg";
import * as run from "../stack/run";
import { snapshotStack } from "../stack/snapshot";
import { restore } from "../cutover/restore";
import { listSnapshots } from "../components/local/ops/clone";
import { incomingOf, outgoingOf, readyMarkerOf } from "../components/local/ops/restore";
import { serverStatus } from "../components/local/ops/postgres";
import { localPairConfig } from "./support/stacks";
import { useStack } from "./support/pairStack";
import { seeded } from "./support/kills";
import { PACKAGE_ROOT } from "../stack/env";
import * as http from "http";
import { AddressInfo } from "net";
import { webhook } from "../cutover/listeners";
import { RestoreEvent } from "../cutover/restoreEvents";

describe("restore a local stack's database from a snapshot (real engine, PostgreSQL, app)", function () {
    this.timeout(600_000);
    const st = useStack((base) => localPairConfig(base, { "switchyard:traffic": { blue: 100, green: 0 } }));
    const { env, target, inEnv } = st;
    const dataDir = () => st.out.dataDir.value as string;

    async function sql<T = Record<string, unknown>>(text: string): Promise<T[]> {
        const c = new Client({ host: "127.0.0.1", port: st.base + 4, user: "postgres", database: "shop" });
        await c.connect();
        try {
            return (await c.query(text)).rows as T[];
        } finally {
            await c.end();
        }
    }
    const names = async () => (await sql<{ name: string }>("SELECT name FROM items ORDER BY id")).map((r) => r.name);
    const addItems = async (prefix: string, n: number) => {
        for (let i = 0; i < n; i++) {
            const r = await fetch(`${st.out.url.value}/items`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: `${prefix}-${i}` }) });
            assert.ok(r.ok, `POST /items answered ${r.status}`);
        }
    };

    it("refuses without --yes and changes nothing; an unknown snapshot is named with the ones there are", async () => {
        await addItems("first", 5);
        const before = await names();
        const snap = await inEnv(() => snapshotStack(target(), { name: "s-first" }));
        const snapsBefore = listSnapshots(st.out.snapshotRoot.value as string).map((s) => s.name);
        const told: RestoreEvent[] = [];
        await assert.rejects(
            inEnv(() => restore(target(), { snapshot: snap.name, onEvent: (e) => told.push(e) })),
            (e: Error) => e.name === "UserError" && /nothing was changed/.test(e.message) && /--yes/.test(e.message),
        );
        await assert.rejects(inEnv(() => restore(target(), { snapshot: "nope", confirm: true })), /has no snapshot named nope: it has s-first/);
        await assert.rejects(inEnv(() => restore(target(), { snapshot: "../s-first", confirm: true })), /--snapshot/);
        assert.deepStrictEqual(listSnapshots(st.out.snapshotRoot.value as string).map((s) => s.name), snapsBefore, "no snapshot was taken");
        assert.deepStrictEqual(await names(), before, "the rows are as they were");
        assert.deepStrictEqual(told, [], "no restore started, none told of");
    });

    it("returns exactly the snapshot's rows, keeps the data from before in a named snapshot, and the app serves on", async () => {
        const atSnapshot = await names();
        await addItems("later", 7);
        await sql("DELETE FROM items WHERE name = 'first-0'");
        const changed = await names();
        assert.notDeepStrictEqual(changed, atSnapshot);

        // Its stages go to a webhook: a real HTTP server on loopback.
        const received: { stack: string; event: RestoreEvent }[] = [];
        const server = http.createServer((req, res) => {
            let body = "";
            req.on("data", (d) => (body += d));
            req.on("end", () => {
                received.push(JSON.parse(body));
                res.end();
            });
        });
        await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
        const hook = webhook(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { stack: "pair" });
        let r;
        try {
            r = await inEnv(() => restore(target(), { snapshot: "s-first", confirm: true, onEvent: hook.onEvent }));
        } finally {
            await hook.close();
            await new Promise<void>((ok) => server.close(() => ok()));
        }
        assert.deepStrictEqual(received.map((b) => [b.stack, b.event.type, b.event.stage, b.event.snapshot]), [
            ["pair", "restore", "started", "s-first"],
            ["pair", "restore", "snapshot", "s-first"],
            ["pair", "restore", "restored", "s-first"],
        ]);
        assert.deepStrictEqual(received.slice(1).map((b) => b.event.preRestore), [r.preRestore, r.preRestore], "the events name the pre-restore snapshot");
        assert.deepStrictEqual(await names(), atSnapshot, "the snapshot's rows, exactly");
        assert.ok(r.preRestore.startsWith("pre-restore-pair-"), r.preRestore);
        assert.ok(listSnapshots(st.out.snapshotRoot.value as string).some((s) => s.name === r.preRestore), "the pre-restore snapshot exists");
        process.stdout.write(`      restore: ${r.method}, clone ${r.cloneMs} ms, database down ${r.downtimeMs} ms\n`);

        // The app, unchanged, reaches the restored database through the same settings.
        let served: string[] = [];
        for (let i = 0; i < 50 && served.length !== atSnapshot.length; i++) {
            const res = await fetch(`${st.out.url.value}/items`);
            if (res.ok) served = ((await res.json()) as { name: string }[]).map((x) => x.name);
            else await new Promise((w) => setTimeout(w, 100));
        }
        assert.deepStrictEqual(served.sort(), [...atSnapshot].sort(), "the app serves the restored rows");

        // The restore can itself be undone from the pre-restore snapshot.
        await inEnv(() => restore(target(), { snapshot: r.preRestore, confirm: true }));
        assert.deepStrictEqual(await names(), changed, "the pre-restore snapshot holds the data from before the restore");
        for (const f of [incomingOf(dataDir()), outgoingOf(dataDir()), readyMarkerOf(dataDir())]) assert.ok(!fs.existsSync(f), `${f} is gone`);
    });

    it("a restore killed at a random instant ends in one whole side, and the next restore finishes cleanly", async function () {
        const seed = Number(process.env.SWITCHYARD_KILL_SEED ?? Date.now() % 1_000_000);
        const rng = seeded(seed);
        const AIMS: [RegExp, number][] = [
            [/taking a snapshot/, 2500],
            [/cloning the snapshot/, 250],
            [/swapping/, 500],
        ];
        const offset = Math.floor(rng() * AIMS.length);
        process.stdout.write(`      seed ${seed} (SWITCHYARD_KILL_SEED=${seed} repeats it)\n`);
        await addItems("kill", 3);
        await inEnv(() => snapshotStack(target(), { name: "s-kill" }));
        const atSnapshot = await names();
        for (let round = 0; round < 3; round++) {
            await addItems(`round${round}`, 3);
            const live = await names();
            const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join("test", "fixtures", "restore-child.ts"), st.proj.root, "s-kill"], {
                cwd: PACKAGE_ROOT,
                env: { ...process.env, ...env() },
                detached: true,
                stdio: ["ignore", "pipe", "pipe"],
            });
            let text = "";
            child.stdout!.on("data", (d) => (text += d));
            child.stderr!.on("data", (d) => (text += d));
            const exited = new Promise<void>((res) => child.on("exit", () => res()));
            // Aim at one stage (seeded): inside the pre-restore snapshot, the clone, or the swap (stop, renames, start).
            const [stage, spread] = AIMS[(round + offset) % AIMS.length];
            for (let i = 0; i < 1200 && !stage.test(text) && child.exitCode === null; i++) await new Promise((w) => setTimeout(w, 25));
            const delay = Math.floor(rng() * spread);
            await new Promise((w) => setTimeout(w, delay));
            const stages = text.split("\n").filter((l) => l !== "").length;
            try {
                process.kill(-child.pid!, "SIGKILL");
            } catch {
                /* it had ended */
            }
            await exited;
            process.stdout.write(`      round ${round}: killed ${delay} ms after "${stage.source}" (${stages} stage lines out${/^done$/m.test(text) ? ", it had finished" : ""})\n`);

            // `up` brings the database back whole: the old data or the snapshot's, never a mix, never empty.
            await inEnv(() => run.up(target()));
            const after = await names();
            assert.ok(
                JSON.stringify(after) === JSON.stringify(live) || JSON.stringify(after) === JSON.stringify(atSnapshot),
                `round ${round}: after the kill and an up, the rows are neither the live ones nor the snapshot's: ${after.length} rows`,
            );
            process.stdout.write(`      after up: ${JSON.stringify(after) === JSON.stringify(live) ? "the data from before" : "the snapshot's data"}\n`);

            // The next restore takes what the kill left to one whole side first, then restores.
            const r = await inEnv(() => restore(target(), { snapshot: "s-kill", confirm: true }));
            if (r.recovered) process.stdout.write(`      recovered: ${r.recovered}\n`);
            assert.deepStrictEqual(await names(), atSnapshot, `round ${round}: the snapshot's rows after the restore that followed the kill`);
            assert.ok(serverStatus(dataDir()).running, "the database runs");
            for (const f of [incomingOf(dataDir()), outgoingOf(dataDir()), readyMarkerOf(dataDir())]) assert.ok(!fs.existsSync(f), `${f} is gone`);
            assert.notDeepStrictEqual(live, atSnapshot);
        }
        // The stack agrees: its preview changes nothing.
        const pv = await inEnv(() => run.preview(target()));
        assert.deepStrictEqual(Object.keys(pv.changeSummary ?? {}), ["same"], JSON.stringify(pv.changeSummary));
    });
});
