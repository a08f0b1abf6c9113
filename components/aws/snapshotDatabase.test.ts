import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { TAGS, expiryFrom } from "../types";
import { DEFAULT_INSTANCE_CLASS, SnapshotDatabase, SnapshotDatabaseArgs } from "./snapshotDatabase";
import { DEFAULT_INSTANCES, DEFAULT_SNAPSHOTS, expectThrows, runGraph, valueOf } from "./testkit";

const INSTANCE = "aws:rds/instance:Instance";
const SG = "aws:ec2/securityGroup:SecurityGroup";
const DYNAMIC = "pulumi-nodejs:dynamic:Resource";
const NOW = new Date("2025-11-23T12:00:00Z");

function sandboxArgs(extra: Partial<SnapshotDatabaseArgs> = {}): SnapshotDatabaseArgs {
    return {
        role: "sandbox",
        ttlHours: 24,
        sourceInstanceIdentifier: "shop-prod",
        vpcId: "vpc-1",
        subnetIds: ["subnet-a", "subnet-b"],
        appSecurityGroupId: "sg-app",
        clock: () => NOW,
        ...extra,
    };
}

function prodArgs(extra: Partial<SnapshotDatabaseArgs> = {}): SnapshotDatabaseArgs {
    const { ttlHours: _t, clock: _c, ...rest } = sandboxArgs();
    return { ...rest, role: "blue-green", ...extra };
}

describe("aws SnapshotDatabase", () => {
    describe("snapshot choice", () => {
        it("restores the snapshot named by identifier, looked up by that identifier", async () => {
            const g = await runGraph(() => new SnapshotDatabase("db", sandboxArgs({ sourceInstanceIdentifier: undefined, snapshotIdentifier: "rds:shop-prod-2025-11-20-03-10" })));
            assert.strictEqual(g.one(INSTANCE).inputs.snapshotIdentifier, "rds:shop-prod-2025-11-20-03-10");
            const lookups = g.invokes.filter((i) => i.token === "aws:rds/getSnapshot:getSnapshot");
            assert.deepStrictEqual(lookups.map((i) => i.inputs), [{ dbSnapshotIdentifier: "rds:shop-prod-2025-11-20-03-10" }]);
            assert.strictEqual(await valueOf(g.result.snapshotIdentifier), "rds:shop-prod-2025-11-20-03-10");
        });

        it("restores the latest available snapshot of the source instance, found by the preview-time lookup", async () => {
            const g = await runGraph(() => new SnapshotDatabase("db", sandboxArgs()));
            const lookups = g.invokes.filter((i) => i.token === "aws:rds/getSnapshot:getSnapshot");
            assert.deepStrictEqual(lookups.map((i) => i.inputs), [{ dbInstanceIdentifier: "shop-prod", mostRecent: true }]);
            // The newer automated snapshot is still being created: the manual one from the 21st wins.
            assert.strictEqual(g.one(INSTANCE).inputs.snapshotIdentifier, "shop-prod-before-migration-42");
        });

        it("follows the lookup when the latest snapshot is an automated one", async () => {
            const snapshots = [
                ...DEFAULT_SNAPSHOTS,
                { identifier: "rds:shop-prod-2025-11-23-03-10", instanceIdentifier: "shop-prod", createdAt: new Date("2025-11-23T03:10:00Z"), status: "available", type: "automated", engine: "postgres", engineVersion: "16.4" },
            ];
            const g = await runGraph(() => new SnapshotDatabase("db", sandboxArgs()), { snapshots });
            assert.strictEqual(g.one(INSTANCE).inputs.snapshotIdentifier, "rds:shop-prod-2025-11-23-03-10");
        });

        it("never replaces the database for a newer snapshot or engine version taken later", async () => {
            const g = await runGraph(() => new SnapshotDatabase("db", prodArgs()));
            const ignore = g.one(INSTANCE).ignoreChanges;
            assert.ok(ignore.includes("snapshotIdentifier"), JSON.stringify(ignore));
            assert.ok(ignore.includes("engineVersion"), JSON.stringify(ignore));
            const pinned = await runGraph(() => new SnapshotDatabase("db", prodArgs({ engineVersion: "16.6" })));
            assert.ok(!pinned.one(INSTANCE).ignoreChanges.includes("engineVersion"), "an explicit engineVersion must be applied");
            assert.strictEqual(pinned.one(INSTANCE).inputs.engineVersion, "16.6");
        });
    });

    describe("engine", () => {
        it("takes postgres and its version from the snapshot: port 5432, family postgres16", async () => {
            const g = await runGraph(() => new SnapshotDatabase("db", sandboxArgs()));
            const inst = g.one(INSTANCE).inputs;
            assert.strictEqual(inst.engine, "postgres");
            assert.strictEqual(inst.engineVersion, "16.4");
            assert.strictEqual(inst.instanceClass, "db.m6g.large", "the source instance's class");
            assert.strictEqual(g.one("aws:rds/parameterGroup:ParameterGroup").inputs.family, "postgres16");
            assert.strictEqual(g.one(SG).inputs.ingress[0].fromPort, 5432);
            assert.match(await valueOf(g.result.connectionUrl), /^postgres:\/\/shop_admin:mock-password-of-db-password@db-instance-abc123\..*:5432\/shop$/);
        });

        it("restores a mysql snapshot on port 3306 with family mysql8.0 and a mysql:// URL", async () => {
            const g = await runGraph(() => new SnapshotDatabase("db", sandboxArgs({ sourceInstanceIdentifier: "legacy-mysql", databaseName: "legacy" })));
            assert.strictEqual(g.one(INSTANCE).inputs.engine, "mysql");
            assert.strictEqual(g.one("aws:rds/parameterGroup:ParameterGroup").inputs.family, "mysql8.0");
            const sg = g.one(SG).inputs;
            assert.deepStrictEqual([sg.ingress[0].fromPort, sg.ingress[0].toPort], [3306, 3306]);
            assert.match(await valueOf(g.result.connectionUrl), /^mysql:\/\/.*:3306\/legacy$/);
        });

        it("refuses an engine other than postgres or mysql before creating anything", async () => {
            const { error, graph } = await expectThrows(() => new SnapshotDatabase("db", sandboxArgs({ engine: "oracle-ee" as never })));
            assert.ok(error instanceof pulumi.ResourceError);
            assert.match(error.message, /database engine "oracle-ee" is not supported: use one of postgres, mysql/);
            assert.deepStrictEqual(graph.resources.map((r) => r.type), ["switchyard:aws:SnapshotDatabase"]);
        });

        it("refuses a snapshot of an unsupported engine (Aurora) found by the lookup", async () => {
            const g = await runGraph(() => new SnapshotDatabase("db", prodArgs({ sourceInstanceIdentifier: "reports" })));
            await assert.rejects(valueOf(g.result.engine), (e: Error) => e instanceof pulumi.ResourceError && /"aurora-postgresql" is not supported/.test(e.message));
            assert.strictEqual(g.all(INSTANCE).length, 0, "no instance may be registered from an unsupported snapshot");
        });

        it("refuses an engine that differs from the snapshot's", async () => {
            const g = await runGraph(() => new SnapshotDatabase("db", sandboxArgs({ engine: "mysql" })));
            await assert.rejects(valueOf(g.result.engine), /engine is "mysql" but the snapshot shop-prod-before-migration-42 is postgres/);
        });
    });

    describe("instance class", () => {
        const instanceLookups = (g: { invokes: { token: string; inputs: Record<string, any> }[] }) =>
            g.invokes.filter((i) => i.token.startsWith("aws:rds/getInstance")).map((i) => [i.token.split(":").pop(), i.inputs]);

        it("defaults to the source instance's class, looked up at preview time, and ignores later changes of it", async () => {
            const g = await runGraph(() => new SnapshotDatabase("db", prodArgs()), { instances: [{ ...DEFAULT_INSTANCES[0], instanceClass: "db.r6g.2xlarge" }] });
            assert.strictEqual(g.one(INSTANCE).inputs.instanceClass, "db.r6g.2xlarge");
            assert.ok(g.one(INSTANCE).ignoreChanges.includes("instanceClass"), "a class copied from the source must never resize the database later");
            assert.deepStrictEqual(instanceLookups(g), [
                ["getInstances", { filters: [{ name: "db-instance-id", values: ["shop-prod"] }] }],
                ["getInstance", { dbInstanceIdentifier: "shop-prod" }],
            ]);
        });

        it("takes the class of the snapshot's instance when the snapshot is named", async () => {
            const g = await runGraph(() => new SnapshotDatabase("db", sandboxArgs({ sourceInstanceIdentifier: undefined, snapshotIdentifier: "rds:shop-prod-2025-11-20-03-10" })));
            assert.strictEqual(g.one(INSTANCE).inputs.instanceClass, "db.m6g.large");
            assert.deepStrictEqual(instanceLookups(g).map(([token]) => token), ["getInstances", "getInstance"]);
        });

        it(`falls back to ${DEFAULT_INSTANCE_CLASS} when the source instance no longer exists`, async () => {
            const g = await runGraph(() => new SnapshotDatabase("db", sandboxArgs({ sourceInstanceIdentifier: "legacy-mysql" })));
            assert.strictEqual(g.one(INSTANCE).inputs.instanceClass, DEFAULT_INSTANCE_CLASS);
            assert.deepStrictEqual(instanceLookups(g), [["getInstances", { filters: [{ name: "db-instance-id", values: ["legacy-mysql"] }] }]], "no getInstance for a missing instance (it would fail)");
        });

        it("uses a given class as is: no lookup, and later changes are applied", async () => {
            const g = await runGraph(() => new SnapshotDatabase("db", prodArgs({ instanceClass: "db.t4g.small" })));
            assert.strictEqual(g.one(INSTANCE).inputs.instanceClass, "db.t4g.small");
            assert.ok(!g.one(INSTANCE).ignoreChanges.includes("instanceClass"));
            assert.deepStrictEqual(instanceLookups(g), []);
        });
    });

    describe("network and secrets", () => {
        it("is never public, is encrypted, and admits only the app's security group on the engine port", async () => {
            const g = await runGraph(() => new SnapshotDatabase("db", prodArgs()));
            const inst = g.one(INSTANCE).inputs;
            assert.strictEqual(inst.publiclyAccessible, false);
            assert.strictEqual(inst.storageEncrypted, true);
            const sg = g.one(SG);
            assert.deepStrictEqual(inst.vpcSecurityGroupIds, [`sg-${sg.name}`], "the instance uses only its own security group");
            assert.strictEqual(sg.inputs.ingress.length, 1);
            const rule = sg.inputs.ingress[0];
            assert.deepStrictEqual(
                { protocol: rule.protocol, fromPort: rule.fromPort, toPort: rule.toPort, securityGroups: rule.securityGroups, cidrBlocks: rule.cidrBlocks },
                { protocol: "tcp", fromPort: 5432, toPort: 5432, securityGroups: ["sg-app"], cidrBlocks: undefined },
            );
            assert.deepStrictEqual(sg.inputs.egress, []);
            assert.deepStrictEqual(g.one("aws:rds/subnetGroup:SubnetGroup").inputs.subnetIds, ["subnet-a", "subnet-b"]);
        });

        it("generates a password once, in state, and holds it only as a secret", async () => {
            const g = await runGraph(() => new SnapshotDatabase("db", prodArgs()));
            assert.strictEqual(await pulumi.isSecret(g.result.password), true);
            assert.strictEqual(await pulumi.isSecret(g.result.connectionUrl), true);
            const inst = g.one(INSTANCE);
            assert.ok(inst.secretInputs.includes("password"), "the instance's password input must be a secret");
            assert.strictEqual(inst.inputs.password, "mock-password-of-db-password");
            assert.ok(inst.additionalSecretOutputs.includes("password"));
            const gen = g.one(DYNAMIC, "db-password");
            assert.deepStrictEqual(gen.additionalSecretOutputs, ["result"]);
            assert.strictEqual(gen.inputs.length, 32);
        });

        it("uses a given password, as a secret, and generates none", async () => {
            const g = await runGraph(() => new SnapshotDatabase("db", prodArgs({ masterPassword: "correct-horse-battery" })));
            assert.strictEqual(await pulumi.isSecret(g.result.password), true);
            assert.strictEqual(g.one(INSTANCE).inputs.password, "correct-horse-battery");
            assert.ok(g.one(INSTANCE).secretInputs.includes("password"));
            assert.strictEqual(g.all(DYNAMIC).length, 0);
        });

        it("manageMasterUserPassword: RDS keeps the password in Secrets Manager; none is generated, none is in the state", async () => {
            const g = await runGraph(() => new SnapshotDatabase("db", sandboxArgs({ manageMasterUserPassword: true })));
            const inst = g.one(INSTANCE);
            assert.strictEqual(inst.inputs.manageMasterUserPassword, true);
            assert.ok(!("password" in inst.inputs), `no password input: ${JSON.stringify(Object.keys(inst.inputs))}`);
            assert.strictEqual(g.all(DYNAMIC).length, 0, "no generated password resource");
            assert.strictEqual(await valueOf(g.result.password), undefined);
            assert.strictEqual(await valueOf(g.result.masterUserSecretArn), "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-db-instance-abc123-AbCdEf");
            const url = (await valueOf(g.result.connectionUrl)) as string;
            assert.strictEqual(url, "postgres://shop_admin@db-instance-abc123.cmock.us-east-1.rds.amazonaws.com:5432/shop", "the URL carries no password");
            assert.strictEqual(await pulumi.isSecret(g.result.connectionUrl), true);
        });

        it("manageMasterUserPassword takes a KMS key for the secret", async () => {
            const g = await runGraph(() => new SnapshotDatabase("db", prodArgs({ manageMasterUserPassword: true, masterUserSecretKmsKeyId: "alias/shop-secrets" })));
            assert.strictEqual(g.one(INSTANCE).inputs.masterUserSecretKmsKeyId, "alias/shop-secrets");
        });

        it("without manageMasterUserPassword the secret ARN is undefined and a password is generated", async () => {
            const g = await runGraph(() => new SnapshotDatabase("db", sandboxArgs()));
            assert.strictEqual(await valueOf(g.result.masterUserSecretArn), undefined);
            assert.strictEqual(g.one(INSTANCE).inputs.manageMasterUserPassword, undefined);
            assert.strictEqual(g.all(DYNAMIC).length, 1);
        });

        for (const [what, extra, message] of [
            ["a managed password with a given one", { manageMasterUserPassword: true, masterPassword: "correct-horse-battery" }, /manageMasterUserPassword and masterPassword are both set/],
            ["a KMS key without a managed password", { masterUserSecretKmsKeyId: "alias/x" }, /masterUserSecretKmsKeyId is set without manageMasterUserPassword/],
            ["a non-boolean manageMasterUserPassword", { manageMasterUserPassword: "yes" as unknown as boolean }, /manageMasterUserPassword is "yes": give true/],
        ] as const) {
            it(`refuses ${what}, creating nothing`, async () => {
                const { error, graph } = await expectThrows(() => new SnapshotDatabase("db", sandboxArgs(extra as Partial<SnapshotDatabaseArgs>)));
                assert.match(error.message, message);
                assert.deepStrictEqual(graph.resources.map((r) => r.type), ["switchyard:aws:SnapshotDatabase"]);
            });
        }

        it("refuses a password RDS would refuse", async () => {
            const { error } = await expectThrows(() => new SnapshotDatabase("db", prodArgs({ masterPassword: "p@ss word" })));
            assert.match(error.message, /masterPassword must not contain/);
        });
    });

    describe("roles", () => {
        it("production: protect, deletion protection, a final snapshot and 7 days of backups", async () => {
            const g = await runGraph(() => new SnapshotDatabase("shop-db", prodArgs()));
            const inst = g.one(INSTANCE);
            assert.strictEqual(inst.protect, true);
            assert.strictEqual(inst.inputs.deletionProtection, true);
            assert.strictEqual(inst.inputs.skipFinalSnapshot, false);
            assert.strictEqual(inst.inputs.finalSnapshotIdentifier, "shop-db-final");
            assert.strictEqual(inst.inputs.backupRetentionPeriod, 7);
            assert.strictEqual(inst.inputs.tags[TAGS.role], "production");
            assert.strictEqual(inst.inputs.tags[TAGS.expiresAt], undefined);
            assert.strictEqual(await valueOf(g.result.expiresAt), undefined);
        });

        it("sandbox: expiry and source-snapshot tags, no protection, no final snapshot", async () => {
            const g = await runGraph(() => new SnapshotDatabase("sb-db", sandboxArgs({ ttlHours: 48 })));
            const inst = g.one(INSTANCE);
            assert.notStrictEqual(inst.protect, true);
            assert.strictEqual(inst.inputs.deletionProtection, false);
            assert.strictEqual(inst.inputs.skipFinalSnapshot, true);
            assert.strictEqual(inst.inputs.finalSnapshotIdentifier, undefined);
            assert.strictEqual(inst.inputs.tags[TAGS.role], "sandbox");
            assert.strictEqual(inst.inputs.tags[TAGS.expiresAt], expiryFrom(NOW, 48));
            assert.strictEqual(inst.inputs.tags[TAGS.expiresAt], "2025-11-25T12:00:00Z");
            assert.strictEqual(inst.inputs.tags[TAGS.sourceSnapshot], "shop-prod-before-migration-42");
            for (const r of g.resources.filter((x) => x.custom && x.inputs.tags)) {
                assert.strictEqual(r.inputs.tags[TAGS.role], "sandbox", `${r.name} must carry the sandbox role tag`);
            }
        });

        it("the role tag cannot be overridden by the caller's tags", async () => {
            const g = await runGraph(() => new SnapshotDatabase("db", sandboxArgs({ tags: { [TAGS.role]: "production", team: "shop" } })));
            assert.strictEqual(g.one(INSTANCE).inputs.tags[TAGS.role], "sandbox");
            assert.strictEqual(g.one(INSTANCE).inputs.tags.team, "shop");
        });
    });

    describe("validation (nothing is created when it fails)", () => {
        const cases: [string, Partial<SnapshotDatabaseArgs>, RegExp][] = [
            ["no snapshot source", { sourceInstanceIdentifier: undefined }, /no snapshot to restore: set snapshotIdentifier .* or sourceInstanceIdentifier/],
            ["two snapshot sources", { snapshotIdentifier: "x" }, /both snapshotIdentifier and sourceInstanceIdentifier are set/],
            ["a sandbox without an expiry", { ttlHours: undefined }, /a sandbox needs an expiry: set ttlHours/],
            ["a sandbox living too long", { ttlHours: 24 * 365 }, /the longest a sandbox may live is 720 hours/],
            ["an unknown engine", { engine: "sqlserver-ex" as never }, /database engine "sqlserver-ex" is not supported/],
            ["backups out of range", { backupRetentionPeriod: 40 }, /backupRetentionPeriod is 40: it must be an integer from 0 to 35/],
        ];
        for (const [what, extra, message] of cases) {
            it(`refuses ${what}`, async () => {
                const { error, graph } = await expectThrows(() => new SnapshotDatabase("db", sandboxArgs(extra)));
                assert.ok(error instanceof pulumi.ResourceError, `${error}`);
                assert.match(error.message, message);
                assert.strictEqual(graph.resources.filter((r) => r.type !== "switchyard:aws:SnapshotDatabase").length, 0, "no child may be registered");
                assert.strictEqual(graph.invokes.length, 0, "no lookup may run");
            });
        }

        it("refuses a production database without backups, or with an expiry", async () => {
            assert.match((await expectThrows(() => new SnapshotDatabase("db", prodArgs({ backupRetentionPeriod: 0 })))).error.message, /from 1 to 35/);
            assert.match((await expectThrows(() => new SnapshotDatabase("db", prodArgs({ ttlHours: 24 })))).error.message, /ttlHours is for sandboxes/);
        });

        it("checks a ttlHours that is an Output when it resolves", async () => {
            const g = await runGraph(() => new SnapshotDatabase("db", sandboxArgs({ ttlHours: pulumi.output(-3) })));
            await assert.rejects(valueOf(g.result.expiresAt), (e: Error) => e instanceof pulumi.ResourceError && /ttlHours is -3/.test(e.message));
        });
    });

    it("honours its transform hooks", async () => {
        const g = await runGraph(
            () =>
                new SnapshotDatabase(
                    "db",
                    prodArgs({
                        transform: {
                            dbInstance: (a) => ({ ...a, instanceClass: "db.r6g.large", performanceInsightsEnabled: true }),
                            securityGroup: (a) => ({ ...a, description: "custom sg" }),
                            subnetGroup: (a) => ({ ...a, description: "custom subnets" }),
                            parameterGroup: (a) => ({ ...a, parameters: [{ name: "log_min_duration_statement", value: "500" }] }),
                            password: (a) => ({ ...a, length: 40 }),
                        },
                    }),
                ),
        );
        assert.strictEqual(g.one(INSTANCE).inputs.instanceClass, "db.r6g.large");
        assert.ok(!g.one(INSTANCE).ignoreChanges.includes("instanceClass"), "a class set by the transform is applied on later updates");
        assert.strictEqual(g.one(INSTANCE).inputs.performanceInsightsEnabled, true);
        assert.strictEqual(g.one(INSTANCE).inputs.publiclyAccessible, false, "the rest of the computed args stays");
        assert.strictEqual(g.one(SG).inputs.description, "custom sg");
        assert.strictEqual(g.one("aws:rds/subnetGroup:SubnetGroup").inputs.description, "custom subnets");
        assert.deepStrictEqual(g.one("aws:rds/parameterGroup:ParameterGroup").inputs.parameters, [{ name: "log_min_duration_statement", value: "500" }]);
        assert.strictEqual(g.one(DYNAMIC).inputs.length, 40);
    });

    it("gives every child a parent and a stable name", async () => {
        const g = await runGraph(() => new SnapshotDatabase("shop-db", prodArgs()));
        const component = g.one("switchyard:aws:SnapshotDatabase");
        const children = g.resources.filter((r) => r !== component);
        assert.deepStrictEqual(children.map((r) => r.name).sort(), ["shop-db-instance", "shop-db-params", "shop-db-password", "shop-db-sg", "shop-db-subnets"]);
        for (const c of children) {
            assert.strictEqual(c.parent, component.urn, `${c.name} must be a child of the component`);
        }
    });
});
