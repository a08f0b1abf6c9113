import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { CreateDBInstanceCommand, RDSClient } from "@aws-sdk/client-rds";
import { useMoto } from "../../test/support/moto";
import { generatedPasswordProvider } from "./password";
import {
    SnapshotSummary,
    createBlueGreen,
    createSnapshot,
    deleteBlueGreen,
    describeBlueGreen,
    describeInstance,
    latestSnapshot,
    listSnapshots,
    pickLatestSnapshot,
    rdsClient,
    restoreFromSnapshot,
    switchoverBlueGreen,
    waitFor,
    waitForBlueGreen,
    waitForInstance,
    waitForSnapshot,
} from "./rdsApi";
import { rdsBlueGreenProvider } from "./rdsBlueGreen";

const FAST = { intervalMs: 50, timeoutMs: 20_000 };
const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

const snap = (identifier: string, iso: string | undefined, extra: Partial<SnapshotSummary> = {}): SnapshotSummary => ({
    identifier,
    instanceIdentifier: "shop-prod",
    createdAt: iso === undefined ? undefined : new Date(iso),
    status: "available",
    type: "automated",
    ...extra,
});

describe("aws rdsApi", () => {
    describe("pickLatestSnapshot", () => {
        const table: [string, SnapshotSummary[], { instanceIdentifier?: string }, string | undefined][] = [
            ["no snapshots", [], {}, undefined],
            ["the only one", [snap("a", "2025-01-01T00:00:00Z")], {}, "a"],
            ["the most recent of several, in any order", [snap("b", "2025-01-02T00:00:00Z"), snap("c", "2025-01-03T00:00:00Z"), snap("a", "2025-01-01T00:00:00Z")], {}, "c"],
            ["a manual snapshot newer than the automated ones", [snap("auto", "2025-01-02T00:00:00Z"), snap("manual", "2025-01-02T12:00:00Z", { type: "manual" })], {}, "manual"],
            ["not one still being created", [snap("old", "2025-01-01T00:00:00Z"), snap("new", "2025-01-02T00:00:00Z", { status: "creating" })], {}, "old"],
            ["not a failed one", [snap("old", "2025-01-01T00:00:00Z"), snap("new", "2025-01-02T00:00:00Z", { status: "failed" })], {}, "old"],
            ["not a shared or AWS Backup one", [snap("own", "2025-01-01T00:00:00Z"), snap("shared", "2025-01-05T00:00:00Z", { type: "shared" }), snap("backup", "2025-01-06T00:00:00Z", { type: "awsbackup" })], {}, "own"],
            ["only the named instance's", [snap("mine", "2025-01-01T00:00:00Z"), snap("theirs", "2025-01-09T00:00:00Z", { instanceIdentifier: "other" })], { instanceIdentifier: "shop-prod" }, "mine"],
            ["none when the instance has none", [snap("theirs", "2025-01-09T00:00:00Z", { instanceIdentifier: "other" })], { instanceIdentifier: "shop-prod" }, undefined],
            ["not one without a creation time", [snap("dated", "2025-01-01T00:00:00Z"), snap("undated", undefined)], {}, "dated"],
            ["the greater identifier on a tie, whatever the order", [snap("x-2", "2025-01-01T00:00:00Z"), snap("x-1", "2025-01-01T00:00:00Z")], {}, "x-2"],
            ["the greater identifier on a tie, reversed", [snap("x-1", "2025-01-01T00:00:00Z"), snap("x-2", "2025-01-01T00:00:00Z")], {}, "x-2"],
        ];
        for (const [what, snapshots, opts, expected] of table) {
            it(`picks ${what}`, () => assert.strictEqual(pickLatestSnapshot(snapshots, opts)?.identifier, expected));
        }
    });

    describe("waitFor", () => {
        it("returns the value once done, and gives up with the last state", async () => {
            let n = 0;
            assert.strictEqual(await waitFor("x", async () => (++n >= 3 ? { done: true, value: n } : { done: false, state: `try ${n}` }), { intervalMs: 1 }), 3);
            await assert.rejects(waitFor("thing", async () => ({ done: false, state: "creating" }), { intervalMs: 5, timeoutMs: 20 }), /thing: gave up after 20 ms \(last state: creating\)/);
            await assert.rejects(waitFor("thing", async () => ({ done: false, failed: "its status is failed" })), /thing failed: its status is failed/);
        });
    });

    describe("against a moto server", () => {
        const moto = useMoto();
        let client: RDSClient;
        let sourceArn: string;

        before(async () => {
            client = rdsClient({ region: "us-east-1", endpoint: moto.server.endpoint });
            const r = await client.send(
                new CreateDBInstanceCommand({
                    DBInstanceIdentifier: "shop-prod",
                    Engine: "postgres",
                    EngineVersion: "16.4",
                    DBInstanceClass: "db.t4g.micro",
                    AllocatedStorage: 20,
                    MasterUsername: "shop_admin",
                    MasterUserPassword: "not-a-real-password",
                    DBName: "shop",
                    BackupRetentionPeriod: 7,
                    StorageEncrypted: true,
                }),
            );
            sourceArn = r.DBInstance!.DBInstanceArn!;
        });

        it("takes a snapshot and waits until it is available", async () => {
            const created = await createSnapshot(client, "shop-prod", "shop-prod-manual-1", { purpose: "test" });
            assert.strictEqual(created.identifier, "shop-prod-manual-1");
            assert.strictEqual(created.instanceIdentifier, "shop-prod");
            const ready = await waitForSnapshot(client, "shop-prod-manual-1", FAST);
            assert.strictEqual(ready.status, "available");
            assert.strictEqual(ready.engine, "postgres");
            await assert.rejects(waitForSnapshot(client, "no-such-snapshot", FAST), /snapshot no-such-snapshot failed: it does not exist/);
        });

        it("finds the latest snapshot of an instance", async () => {
            await new Promise((r) => setTimeout(r, 1100)); // a later creation time than the first snapshot
            await createSnapshot(client, "shop-prod", "shop-prod-manual-2");
            await waitForSnapshot(client, "shop-prod-manual-2", FAST);
            const all = await listSnapshots(client, "shop-prod");
            assert.ok(all.some((s) => s.identifier === "shop-prod-manual-1") && all.some((s) => s.identifier === "shop-prod-manual-2"), JSON.stringify(all));
            assert.strictEqual((await latestSnapshot(client, "shop-prod"))?.identifier, "shop-prod-manual-2");
            assert.strictEqual(await latestSnapshot(client, "no-such-instance"), undefined);
        });

        it("restores a snapshot into a new instance, asking for no public access", async () => {
            // moto copies PubliclyAccessible from the source and ignores a false override, so the
            // request itself is checked too.
            const sent: Record<string, unknown>[] = [];
            client.middlewareStack.add(
                (next, context) => async (args) => {
                    if (context.commandName === "RestoreDBInstanceFromDBSnapshotCommand") {
                        sent.push(args.input as Record<string, unknown>);
                    }
                    return next(args);
                },
                { step: "initialize", name: "recordRestores" },
            );
            const restored = await restoreFromSnapshot(client, {
                instanceIdentifier: "shop-sandbox-1",
                snapshotIdentifier: "shop-prod-manual-2",
                instanceClass: "db.t4g.small",
                tags: { "switchyard:role": "sandbox", "switchyard:source-snapshot": "shop-prod-manual-2" },
            });
            assert.strictEqual(restored.identifier, "shop-sandbox-1");
            const ready = await waitForInstance(client, "shop-sandbox-1", FAST);
            assert.strictEqual(ready.engine, "postgres");
            assert.notStrictEqual(ready.publiclyAccessible, true);
            assert.strictEqual(sent.length, 1);
            assert.strictEqual(sent[0].PubliclyAccessible, false);
            assert.strictEqual(sent[0].DBSnapshotIdentifier, "shop-prod-manual-2");
            client.middlewareStack.remove("recordRestores");
            assert.strictEqual(await describeInstance(client, "no-such-instance"), undefined);
        });

        it("creates a blue/green deployment in one step and switches over only in a separate, explicit one", async () => {
            const created = await createBlueGreen(client, { name: "shop-upgrade", sourceArn, targetEngineVersion: "16.6" });
            assert.match(created.identifier, /^bgd-/);
            assert.strictEqual(created.source, sourceArn);
            const ready = await waitForBlueGreen(client, created.identifier, "AVAILABLE", FAST);
            const greenArn = ready.target!;
            // Created, not switched over: blue is still production under its name.
            assert.strictEqual((await describeInstance(client, "shop-prod"))?.arn, sourceArn);
            const green = await describeInstance(client, greenArn);
            assert.strictEqual(green?.engineVersion, "16.6");
            assert.notStrictEqual(green?.identifier, "shop-prod");

            const done = await switchoverBlueGreen(client, created.identifier, FAST);
            assert.strictEqual(done.status, "SWITCHOVER_COMPLETED");
            // Green took production's name; blue was renamed.
            const prod = await describeInstance(client, "shop-prod");
            assert.strictEqual(prod?.engineVersion, "16.6");
            assert.strictEqual((await describeInstance(client, "shop-prod-old1"))?.engineVersion, "16.4");

            await assert.rejects(switchoverBlueGreen(client, created.identifier, FAST), /is SWITCHOVER_COMPLETED, not AVAILABLE/);
            await assert.rejects(switchoverBlueGreen(client, "bgd-doesnotexist00", FAST), /does not exist/);
            await deleteBlueGreen(client, created.identifier);
            assert.strictEqual(await describeBlueGreen(client, created.identifier), undefined);
            assert.ok(await describeInstance(client, "shop-prod"), "deleting a switched-over deployment keeps production");
        });

        it("deleting a deployment that never switched over deletes its green copy", async () => {
            const source = await describeInstance(client, "shop-sandbox-1");
            const bg = await createBlueGreen(client, { name: "abandoned", sourceArn: source!.arn! });
            const ready = await waitForBlueGreen(client, bg.identifier, "AVAILABLE", FAST);
            await deleteBlueGreen(client, bg.identifier);
            assert.strictEqual(await describeInstance(client, ready.target!), undefined);
            assert.ok(await describeInstance(client, "shop-sandbox-1"), "blue stays");
        });

        describe("dynamic providers, serialized as Pulumi stores them and run in a fresh Node process", () => {
            /** Serializes a provider like pulumi.dynamic.Resource does, then calls one method in a plain `node` (no ts-node) from the project root. */
            async function runProvider(provider: pulumi.dynamic.ResourceProvider, method: string, methodArgs: unknown[]): Promise<any> {
                const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
                const dir = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-provider-"));
                try {
                    fs.writeFileSync(path.join(dir, "provider.txt"), sf.text);
                    fs.writeFileSync(path.join(dir, "args.json"), JSON.stringify(methodArgs));
                    const script = `
                        const fs = require("fs");
                        const requireFromString = require("require-from-string");
                        const provider = requireFromString(fs.readFileSync(${JSON.stringify(path.join(dir, "provider.txt"))}, "utf8")).handler();
                        const args = JSON.parse(fs.readFileSync(${JSON.stringify(path.join(dir, "args.json"))}, "utf8"));
                        Promise.resolve(provider[${JSON.stringify(method)}](...args))
                            .then((r) => process.stdout.write(JSON.stringify(r === undefined ? null : r)))
                            .catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });`;
                    const r = spawnSync(process.execPath, ["-e", script], { cwd: PROJECT_ROOT, encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" }, timeout: 60_000 });
                    assert.strictEqual(r.status, 0, `provider ${method} failed:\n${r.stderr}`);
                    return JSON.parse(r.stdout);
                } finally {
                    fs.rmSync(dir, { recursive: true, force: true });
                }
            }

            it("RdsBlueGreenDeployment creates the green copy and deletes it", async () => {
                const inputs = { deploymentName: "shop-db-bluegreen", sourceArn, region: "us-east-1", endpoint: moto.server.endpoint, timeoutMinutes: 1 };
                const created = await runProvider(rdsBlueGreenProvider, "create", [inputs]);
                assert.match(created.id, /^bgd-/);
                assert.strictEqual(created.outs.status, "AVAILABLE");
                assert.strictEqual(created.outs.identifier, created.id);
                assert.ok(await describeInstance(client, created.outs.targetArn), "the green copy exists");
                assert.strictEqual((await describeBlueGreen(client, created.id))?.status, "AVAILABLE", "not switched over");

                const diff = await runProvider(rdsBlueGreenProvider, "diff", [created.id, created.outs, { ...inputs, targetEngineVersion: "17.2" }]);
                assert.deepStrictEqual(diff, { changes: true, replaces: ["targetEngineVersion"], deleteBeforeReplace: true });
                const same = await runProvider(rdsBlueGreenProvider, "diff", [created.id, created.outs, inputs]);
                assert.strictEqual(same.changes, false);

                await runProvider(rdsBlueGreenProvider, "delete", [created.id, created.outs]);
                assert.strictEqual(await describeBlueGreen(client, created.id), undefined);
                assert.strictEqual(await describeInstance(client, created.outs.targetArn), undefined, "the abandoned green copy is deleted");
            });

            it("GeneratedPassword draws a fresh password and keeps it unless the length changes", async () => {
                const a = await runProvider(generatedPasswordProvider, "create", [{ length: 32 }]);
                const b = await runProvider(generatedPasswordProvider, "create", [{ length: 32 }]);
                assert.match(a.outs.result, /^[A-Za-z0-9_-]{32}$/);
                assert.notStrictEqual(a.outs.result, b.outs.result);
                assert.deepStrictEqual(await runProvider(generatedPasswordProvider, "diff", [a.id, a.outs, { length: 32 }]), { changes: false, replaces: [], deleteBeforeReplace: false });
                assert.deepStrictEqual((await runProvider(generatedPasswordProvider, "diff", [a.id, a.outs, { length: 40 }])).replaces, ["length"]);
            });
        });
    });
});
