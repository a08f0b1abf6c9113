/**
 * The production database restored from a named RDS snapshot through the stack
 * (`switchyard:database.restoreFrom`), under Pulumi mocks: a second instance from the snapshot beside
 * the one in service, which the apps' DATABASE_URL then name with the same user, password and
 * database; the first kept, protected; bad values refused naming the key.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { BlueGreen, BlueGreenArgs } from "./blueGreen";
import { awsProgram } from "./program";
import { RESTORE_FROM_KEY, checkRestoreFrom, restoredInstanceName } from "./restoreFrom";
import { SnapshotDatabase } from "./snapshotDatabase";
import { expectThrows, runGraph, valueOf } from "./testkit";

const INSTANCE = "aws:rds/instance:Instance";
const PARAM = "aws:ssm/parameter:Parameter";
const REPO = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop";
const SNAP = "shop-prod-before-migration-42";

function args(database: Partial<BlueGreenArgs["database"]> = {}): BlueGreenArgs {
    return {
        traffic: { blue: 100, green: 0 },
        colors: { blue: { version: "1.4.2", image: `${REPO}:1.4.2` }, green: { version: "1.5.0", image: `${REPO}:1.5.0` } },
        app: { port: 8080 },
        database: { mode: "shared", engine: "postgres", sourceInstanceIdentifier: "shop-prod", databaseName: "shop", ...database },
        vpcId: "vpc-1",
        subnetIds: ["subnet-private-a", "subnet-private-b"],
        publicSubnetIds: ["subnet-public-a", "subnet-public-b"],
    };
}

describe("aws restore from a snapshot through the stack (database.restoreFrom)", () => {
    describe("names and checks (pure)", () => {
        it("the key is defined once, under switchyard:database", () => assert.strictEqual(RESTORE_FROM_KEY, "switchyard:database.restoreFrom"));

        it("derives a stable name per snapshot, from an identifier, an automated one or an ARN", () => {
            assert.strictEqual(restoredInstanceName("shop-db", SNAP), `shop-db-from-${SNAP}`);
            assert.strictEqual(restoredInstanceName("shop-db", "rds:shop-prod-2026-11-30-03-10"), "shop-db-from-rds-shop-prod-2026-11-30-03-10");
            assert.strictEqual(restoredInstanceName("shop-db", `arn:aws:rds:us-east-1:123456789012:snapshot:${SNAP}`), `shop-db-from-${SNAP}`);
            assert.notStrictEqual(restoredInstanceName("shop-db", "a-1"), restoredInstanceName("shop-db", "a-2"));
            assert.ok(restoredInstanceName("shop-db", `s${"x".repeat(200)}`).length <= "shop-db-from-".length + 40);
        });

        const bad: unknown[] = ["", "shop prod", "1-starts-with-a-digit", "two--hyphens", "trailing-", "../x", 42, "arn:aws:rds:us-east-1:123:snapshot:x"];
        for (const v of bad) {
            it(`refuses ${JSON.stringify(v)}, naming where it came from`, () => assert.match(checkRestoreFrom(v, "--snapshot") ?? "", /^--snapshot is .*: give an RDS DB snapshot identifier/));
        }
        for (const v of [SNAP, "rds:shop-prod-2026-11-30-03-10", `arn:aws:rds:us-east-1:123456789012:snapshot:${SNAP}`]) {
            it(`accepts ${v}`, () => assert.strictEqual(checkRestoreFrom(v), undefined));
        }
    });

    describe("the resource graph", () => {
        it("creates a new instance from the snapshot beside the one in service, and points both colors at it", async () => {
            const before = await runGraph(() => new BlueGreen("shop", args()));
            const g = await runGraph(() => new BlueGreen("shop", args({ restoreFrom: SNAP })));
            assert.deepStrictEqual(g.all(INSTANCE).map((r) => r.name).sort(), [`shop-db-from-${SNAP}`, "shop-db-instance"]);
            const old = g.one(INSTANCE, "shop-db-instance");
            const restored = g.one(INSTANCE, `shop-db-from-${SNAP}`);
            // The old one is untouched: same inputs as without restoreFrom, still protected.
            assert.deepStrictEqual(old.inputs, before.one(INSTANCE).inputs);
            assert.strictEqual(old.protect, true);
            // The new one: from the snapshot, created before the old is let go, in the same network and parameters.
            assert.strictEqual(restored.inputs.snapshotIdentifier, SNAP);
            assert.strictEqual(restored.deleteBeforeReplace, false);
            for (const k of ["dbSubnetGroupName", "vpcSecurityGroupIds", "parameterGroupName", "engine", "engineVersion", "instanceClass", "password", "storageEncrypted", "deletionProtection", "backupRetentionPeriod"]) {
                assert.deepStrictEqual(restored.inputs[k], old.inputs[k], k);
            }
            assert.strictEqual(restored.inputs.deletionProtection, true);
            assert.strictEqual(restored.inputs.publiclyAccessible, false);
            assert.strictEqual(restored.inputs.finalSnapshotIdentifier, `shop-db-from-${SNAP}-final`);
            assert.ok(restored.secretInputs.includes("password"), "the password stays a secret");
            // Both colors' DATABASE_URL name the new instance, with the same user, password and database.
            const oldUrl = before.one(PARAM, "shop-blue-database-url").inputs.value as string;
            for (const c of ["blue", "green"]) {
                const url = new URL(g.one(PARAM, `shop-${c}-database-url`).inputs.value);
                assert.strictEqual(url.hostname, `shop-db-from-${SNAP}-abc123.cmock.us-east-1.rds.amazonaws.com`, c);
                const was = new URL(oldUrl);
                assert.deepStrictEqual([url.username, url.password, url.port, url.pathname], [was.username, was.password, was.port, "/shop"], c);
            }
            assert.strictEqual(await valueOf(g.result.databaseIdentifier), `shop-db-from-${SNAP}-abc123`, "the stack's database is the restored one (the cutover's backup, sandboxes)");
            assert.strictEqual(await valueOf(g.result.database.snapshotIdentifier), SNAP);
            assert.ok(g.invokes.some((i) => i.token === "aws:rds/getSnapshot:getSnapshot" && i.inputs.dbSnapshotIdentifier === SNAP), "the snapshot is looked up");
        });

        it("a managed master password: the restored instance gets RDS's secret of its own, and no password", async () => {
            const g = await runGraph(
                () =>
                    new SnapshotDatabase("db", {
                        role: "blue-green",
                        sourceInstanceIdentifier: "shop-prod",
                        vpcId: "vpc-1",
                        subnetIds: ["a", "b"],
                        appSecurityGroupId: "sg-app",
                        manageMasterUserPassword: true,
                        restoreFrom: SNAP,
                    }),
            );
            const restored = g.one(INSTANCE, `db-from-${SNAP}`).inputs;
            assert.strictEqual(restored.manageMasterUserPassword, true);
            assert.strictEqual(restored.password, undefined);
            assert.match(String(await valueOf(g.result.masterUserSecretArn)), new RegExp(`rds!db-db-from-${SNAP}-abc123`));
        });

        it("the stack's key switchyard:database.restoreFrom does it through the program", async () => {
            const doc = YAML.parse(fs.readFileSync(path.resolve(__dirname, "..", "..", "stacks", "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, any> };
            const db = { ...doc.config["switchyard:database"], restoreFrom: SNAP };
            const config = Object.fromEntries(Object.entries({ ...doc.config, "switchyard:database": db }).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
            const g = await runGraph(() => awsProgram(new pulumi.Config("switchyard")), { config, stack: "prod" });
            assert.strictEqual(g.one(INSTANCE, /-from-/).inputs.snapshotIdentifier, SNAP);
            assert.match(String(await valueOf(g.result.databaseIdentifier)), new RegExp(`-from-${SNAP}-abc123$`));
        });

        it("refuses a bad snapshot name naming the key, and a restore under an RDS blue/green deployment, creating nothing", async () => {
            const doc = YAML.parse(fs.readFileSync(path.resolve(__dirname, "..", "..", "stacks", "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, any> };
            const config = Object.fromEntries(
                Object.entries({ ...doc.config, "switchyard:database": { ...doc.config["switchyard:database"], restoreFrom: "not a snapshot" } }).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
            );
            const bad = await expectThrows(() => awsProgram(new pulumi.Config("switchyard")), { config, stack: "prod" });
            assert.match(bad.error.message, /switchyard:database\.restoreFrom: restoreFrom is "not a snapshot"/);
            assert.strictEqual(bad.graph.all(INSTANCE).length, 0);
            const bg = await expectThrows(() => new BlueGreen("shop", args({ mode: "rds-blue-green", blueGreen: {}, restoreFrom: SNAP })));
            assert.match(bg.error.message, /restoreFrom is set with database\.blueGreen/);
            assert.strictEqual(bg.graph.all(INSTANCE).length, 0);
            const sb = await expectThrows(
                () => new SnapshotDatabase("db", { role: "sandbox", ttlHours: 1, sourceInstanceIdentifier: "shop-prod", vpcId: "v", subnetIds: ["a"], appSecurityGroupId: "s", restoreFrom: SNAP }),
            );
            assert.match(sb.error.message, /restoreFrom is for a production database/);
        });
    });
});
