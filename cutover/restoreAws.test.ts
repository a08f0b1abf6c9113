/**
 * The AWS restore's RDS calls against a real moto server: the fresh pre-restore snapshot is taken,
 * tagged, named and waited for; a name taken already is refused; an unknown or unavailable
 * snapshot, or a bad name, is refused before anything is made or the stack is touched.
 * (The resource graph of the restore is tested under Pulumi mocks in components/aws/restoreFrom.test.ts.)
 */
import * as assert from "assert";
import { CreateDBInstanceCommand, DescribeDBSnapshotsCommand, ListTagsForResourceCommand, RDSClient } from "@aws-sdk/client-rds";
import { Stack } from "@pulumi/pulumi/automation";
import { useMoto } from "../test/support/moto";
import { createSnapshot, listSnapshots, rdsClient, waitForSnapshot } from "../components/aws/rdsApi";
import { preRestoreSnapshotName, restoreAws, restoreFromOf, takePreRestoreSnapshot } from "./restoreAws";

const FAST = { intervalMs: 50, timeoutMs: 20_000 };

/** A stack that must not be touched: any use of it fails the test. */
const untouchable = new Proxy({} as Stack, {
    get: (_t, p) => {
        throw new Error(`the stack was used (${String(p)}) though the restore was refused`);
    },
});

describe("AWS restore: the snapshot the stack serves from (pure)", () => {
    it("reads switchyard:database's restoreFrom, if any", () => {
        assert.strictEqual(restoreFromOf(JSON.stringify({ mode: "shared", restoreFrom: "s-1" })), "s-1");
        assert.strictEqual(restoreFromOf(JSON.stringify({ mode: "shared" })), undefined);
        assert.strictEqual(restoreFromOf(undefined), undefined);
        assert.strictEqual(restoreFromOf("not json"), undefined);
    });
});

describe("AWS restore: the pre-restore snapshot and the refusals (moto)", function () {
    this.timeout(120_000);
    const moto = useMoto();
    let rds: RDSClient;

    before(async () => {
        rds = rdsClient({ region: "us-east-1", endpoint: moto.server.endpoint });
        await rds.send(
            new CreateDBInstanceCommand({
                DBInstanceIdentifier: "shop-db-instance-abc",
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
        await createSnapshot(rds, "shop-db-instance-abc", "shop-before-migration");
        await waitForSnapshot(rds, "shop-before-migration", FAST);
    });

    it("names the pre-restore snapshot after the database and the UTC time", () => {
        assert.strictEqual(preRestoreSnapshotName("shop-db-instance-abc", new Date("2026-11-30T16:05:07.123Z")), "shop-db-instance-abc-pre-restore-20261130160507");
    });

    it("takes the fresh snapshot of the database in service, tagged, and waits until it is available", async () => {
        const name = preRestoreSnapshotName("shop-db-instance-abc", new Date("2026-11-30T16:05:07Z"));
        const s = await takePreRestoreSnapshot(rds, "shop-db-instance-abc", name, FAST);
        assert.deepStrictEqual([s.identifier, s.instanceIdentifier, s.status, s.type], [name, "shop-db-instance-abc", "available", "manual"]);
        const d = (await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: name }))).DBSnapshots![0];
        const tags = (await rds.send(new ListTagsForResourceCommand({ ResourceName: d.DBSnapshotArn! }))).TagList ?? [];
        assert.ok(tags.some((t) => t.Key === "switchyard:purpose" && t.Value === "pre-restore"), JSON.stringify(tags));
        // Never overwritten: the same name again is refused, and the snapshot is still the one.
        await assert.rejects(takePreRestoreSnapshot(rds, "shop-db-instance-abc", name, FAST), (e: Error) => e.name === "UserError" && /exists already/.test(e.message));
        assert.strictEqual((await listSnapshots(rds, "shop-db-instance-abc")).filter((x) => x.identifier === name).length, 1);
    });

    it("refuses an unknown snapshot naming the ones there are, a bad name, and a stack without a database: no snapshot taken, the stack untouched", async () => {
        const before = (await listSnapshots(rds, "shop-db-instance-abc")).map((s) => s.identifier).sort();
        const base = { stack: untouchable, stackName: "prod", outputs: { databaseIdentifier: "shop-db-instance-abc" }, rds, wait: FAST };
        await assert.rejects(
            restoreAws({ ...base, snapshot: "no-such-snapshot" }),
            (e: Error) => e.name === "UserError" && /there is no RDS snapshot named no-such-snapshot; nothing was changed\. Database shop-db-instance-abc has .*shop-before-migration/.test(e.message),
        );
        await assert.rejects(restoreAws({ ...base, snapshot: "not a snapshot" }), (e: Error) => e.name === "UserError" && /^--snapshot is "not a snapshot"/.test(e.message));
        await assert.rejects(restoreAws({ ...base, outputs: {}, snapshot: "shop-before-migration" }), /stack "prod" has no databaseIdentifier output/);
        assert.deepStrictEqual((await listSnapshots(rds, "shop-db-instance-abc")).map((s) => s.identifier).sort(), before, "no snapshot was taken");
    });
});
