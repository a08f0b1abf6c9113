import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { TAGS } from "../types";
import { Sandbox, SandboxArgs } from "./sandbox";
import { Graph, expectThrows, mockArn, runGraph, valueOf } from "./testkit";

const INSTANCE = "aws:rds/instance:Instance";
const SG = "aws:ec2/securityGroup:SecurityGroup";
const TASK = "aws:ecs/taskDefinition:TaskDefinition";
const NOW = new Date("2025-11-23T12:00:00Z");
const PROD = "organization/switchyard/prod";
const PROD_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:1.4.2";
const STACKS = {
    [PROD]: { databaseIdentifier: "shop-prod", engine: "postgres", engineVersion: "16.4", appImage: PROD_IMAGE, url: "https://shop.example.com" },
};

function args(extra: Partial<SandboxArgs> = {}): SandboxArgs {
    return {
        productionStack: PROD,
        ttlHours: 24,
        version: "1.5.0",
        vpcId: "vpc-1",
        subnetIds: ["subnet-private-a", "subnet-private-b"],
        clock: () => NOW,
        database: { databaseName: "shop" },
        ...extra,
    };
}

describe("aws Sandbox", () => {
    let g: Graph<Sandbox>;
    before(async () => {
        g = await runGraph(() => new Sandbox("try-150", args()), { stacks: STACKS });
    });

    it("finds production through a StackReference and restores its database's latest snapshot", () => {
        const ref = g.one("pulumi:pulumi:StackReference");
        assert.strictEqual(ref.read, true);
        assert.strictEqual(ref.inputs.name, PROD);
        const lookups = g.invokes.filter((i) => i.token === "aws:rds/getSnapshot:getSnapshot").map((i) => i.inputs);
        assert.deepStrictEqual(lookups, [{ dbInstanceIdentifier: "shop-prod", mostRecent: true }]);
        const db = g.one(INSTANCE).inputs;
        assert.strictEqual(db.snapshotIdentifier, "shop-prod-before-migration-42");
        assert.strictEqual(db.engine, "postgres");
        assert.strictEqual(db.engineVersion, "16.4");
    });

    it("takes engine, version and instance class from production, not from the snapshot", async () => {
        const stacks = { [PROD]: { ...STACKS[PROD], engineVersion: "16.6" } };
        const r = await runGraph(() => new Sandbox("sb", args()), { stacks, instances: [{ identifier: "shop-prod", instanceClass: "db.r6g.xlarge", engine: "postgres", engineVersion: "16.6" }] });
        const db = r.one(INSTANCE);
        assert.strictEqual(db.inputs.engineVersion, "16.6", "production's version (the snapshot's is 16.4)");
        assert.strictEqual(db.inputs.engine, "postgres");
        assert.strictEqual(db.inputs.instanceClass, "db.r6g.xlarge", "production database's class");
        assert.strictEqual(await valueOf(r.result.engineVersion), "16.6");
    });

    it("has a database that is never public and reachable only from the sandbox's app", () => {
        const db = g.one(INSTANCE);
        assert.strictEqual(db.inputs.publiclyAccessible, false);
        assert.strictEqual(db.inputs.storageEncrypted, true);
        const dbSg = g.one(SG, "try-150-db-sg").inputs;
        assert.deepStrictEqual(dbSg.ingress.map((r: any) => [r.fromPort, r.securityGroups, r.cidrBlocks]), [[5432, ["sg-try-150-app-sg"], undefined]]);
    });

    it("has its own security groups and an internal ALB reachable from the VPC only", () => {
        const alb = g.one("aws:lb/loadBalancer:LoadBalancer").inputs;
        assert.strictEqual(alb.internal, true);
        assert.deepStrictEqual(alb.subnets, ["subnet-private-a", "subnet-private-b"]);
        assert.deepStrictEqual(alb.securityGroups, ["sg-try-150-alb-sg"]);
        const albSg = g.one(SG, "try-150-alb-sg").inputs;
        assert.deepStrictEqual(albSg.ingress.map((r: any) => [r.fromPort, r.cidrBlocks]), [[80, ["10.0.0.0/16"]]]);
        assert.deepStrictEqual(
            g.all(SG).map((s) => s.name).sort(),
            ["try-150-alb-sg", "try-150-app-sg", "try-150-db-sg"],
        );
    });

    it("runs the candidate version, by default on production's image, against the sandbox database", () => {
        const c = JSON.parse(g.one(TASK).inputs.containerDefinitions)[0];
        assert.strictEqual(c.image, PROD_IMAGE);
        const env = Object.fromEntries(c.environment.map((e: any) => [e.name, e.value]));
        assert.deepStrictEqual([env.VERSION, env.COLOR], ["1.5.0", "green"]);
        assert.match(g.one("aws:ssm/parameter:Parameter").inputs.value, /@try-150-db-instance-abc123\./);
        const listener = g.one("aws:lb/listener:Listener").inputs;
        assert.deepStrictEqual(listener.defaultActions[0].forward.targetGroups, [{ arn: mockArn("aws:lb/targetGroup:TargetGroup", "try-150-app-tg"), weight: 1 }]);
        assert.strictEqual(g.one("aws:ecs/service:Service").inputs.desiredCount, 1);
        const tg = g.one("aws:lb/targetGroup:TargetGroup").inputs;
        assert.deepStrictEqual([tg.healthCheck.enabled, tg.healthCheck.path], [true, "/healthz"], "the candidate's target group has a health check");
    });

    it("gives every child a parent and a stable name", () => {
        const top = g.one("switchyard:aws:Sandbox");
        assert.deepStrictEqual(
            g.childrenOf(top.urn).map((r) => `${r.type} ${r.name}`).sort(),
            [
                "aws:ec2/securityGroup:SecurityGroup try-150-alb-sg",
                "aws:ec2/securityGroup:SecurityGroup try-150-app-sg",
                "aws:lb/listener:Listener try-150-listener",
                "aws:lb/loadBalancer:LoadBalancer try-150-alb",
                "pulumi:pulumi:StackReference try-150-production",
                "switchyard:aws:ColorEnvironment try-150-app",
                "switchyard:aws:SnapshotDatabase try-150-db",
                "switchyard:index:ProductionDatabase try-150-production-db",
            ],
        );
        const components = new Set(g.resources.filter((r) => !r.custom).map((r) => r.urn));
        for (const r of g.resources.filter((x) => x !== top)) {
            assert.ok(components.has(r.parent), `${r.type} ${r.name} must have a component as parent`);
        }
    });

    it("tags every resource as a sandbox with its expiry, and the database with its source snapshot", () => {
        const expiry = "2025-11-24T12:00:00Z";
        const tagged = g.resources.filter((r) => r.custom && r.inputs.tags);
        assert.ok(tagged.length > 10);
        for (const r of tagged) {
            assert.strictEqual(r.inputs.tags[TAGS.role], "sandbox", `${r.type} ${r.name}`);
            assert.strictEqual(r.inputs.tags[TAGS.expiresAt], expiry, `${r.type} ${r.name}`);
        }
        assert.strictEqual(g.one(INSTANCE).inputs.tags[TAGS.sourceSnapshot], "shop-prod-before-migration-42");
    });

    it("protects nothing and keeps no final snapshot", () => {
        for (const r of g.resources) {
            assert.notStrictEqual(r.protect, true, `${r.type} ${r.name}`);
        }
        const db = g.one(INSTANCE).inputs;
        assert.strictEqual(db.deletionProtection, false);
        assert.strictEqual(db.skipFinalSnapshot, true);
    });

    it("exports its url, expiry and provenance", async () => {
        assert.strictEqual(await valueOf(g.result.expiresAt), "2025-11-24T12:00:00Z");
        assert.strictEqual(await valueOf(g.result.sourceSnapshotIdentifier), "shop-prod-before-migration-42");
        assert.strictEqual(await valueOf(g.result.url), "http://try-150-alb-123456.us-east-1.elb.amazonaws.com");
        assert.strictEqual(await valueOf(g.result.appImage), PROD_IMAGE);
    });

    it("restores a named snapshot and runs a given image when asked", async () => {
        const r = await runGraph(
            () => new Sandbox("sb", args({ image: "example.com/shop:1.5.0", database: { snapshotIdentifier: "rds:shop-prod-2025-11-20-03-10" } })),
            { stacks: STACKS },
        );
        assert.strictEqual(r.one(INSTANCE).inputs.snapshotIdentifier, "rds:shop-prod-2025-11-20-03-10");
        assert.strictEqual(JSON.parse(r.one(TASK).inputs.containerDefinitions)[0].image, "example.com/shop:1.5.0");
    });

    it("fails clearly when the production stack lacks an output it reads", async () => {
        const r = await runGraph(() => new Sandbox("sb", args()), { stacks: { [PROD]: { engine: "postgres", engineVersion: "16.4", appImage: PROD_IMAGE } } });
        await assert.rejects(valueOf(r.result.sourceSnapshotIdentifier), /the production stack does not export databaseIdentifier: a Sandbox reads databaseIdentifier, engine, engineVersion, appImage/);
        assert.strictEqual(r.all(INSTANCE).length, 0);
    });

    describe("validation (nothing is created when it fails)", () => {
        const cases: [string, Partial<SandboxArgs>, RegExp][] = [
            ["a sandbox without an expiry", { ttlHours: undefined }, /a sandbox needs an expiry: set ttlHours \(for example 24\)/],
            ["a zero expiry", { ttlHours: 0 }, /ttlHours is 0: it must be a positive number of hours/],
            ["an unknown engine", { database: { engine: "oracle-se2" as never } }, /database engine "oracle-se2" is not supported/],
            ["no production stack", { productionStack: "" }, /productionStack is missing/],
            ["an internet-facing ALB without public subnets", { internal: false }, /needs publicSubnetIds/],
            [
                "a password of its own choosing (it could be production's)",
                { database: { masterPassword: "correct-horse-battery" } },
                /masterPassword is set for a sandbox: a sandbox restored from production's snapshot always gets credentials of its own/,
            ],
        ];
        for (const [what, extra, message] of cases) {
            it(`refuses ${what}`, async () => {
                const { error, graph } = await expectThrows(() => new Sandbox("sb", args(extra)), { stacks: STACKS });
                assert.ok(error instanceof pulumi.ResourceError);
                assert.match(error.message, message);
                assert.deepStrictEqual(graph.resources.map((r) => r.type), ["switchyard:aws:Sandbox"], "not even the StackReference is read");
            });
        }
    });

    it("gets credentials of its own: a password generated for it, or one RDS manages and the app reads from the secret", async () => {
        const own = await runGraph(() => new Sandbox("sb", args()), { stacks: STACKS });
        assert.strictEqual(own.one("aws:rds/instance:Instance").inputs.password, "mock-password-of-sb-db-password", "a password generated for the sandbox");
        const m = await runGraph(() => new Sandbox("sb", args({ database: { manageMasterUserPassword: true } })), { stacks: STACKS });
        const inst = m.one("aws:rds/instance:Instance").inputs;
        assert.deepStrictEqual([inst.manageMasterUserPassword, "password" in inst], [true, false], "RDS manages it: no password in the state");
        assert.strictEqual(m.all("pulumi-nodejs:dynamic:Resource").length, 0);
        const c = JSON.parse(m.one("aws:ecs/taskDefinition:TaskDefinition").inputs.containerDefinitions)[0];
        const secret = c.secrets.find((s: { name: string }) => s.name === "DATABASE_PASSWORD");
        assert.match(secret?.valueFrom ?? "", /^arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-.*:password::$/);
        const policy = JSON.parse(m.one("aws:iam/rolePolicy:RolePolicy", "sb-app-read-database-password").inputs.policy);
        assert.deepStrictEqual(policy.Statement[0].Action, ["secretsmanager:GetSecretValue"]);
        assert.doesNotMatch(m.one("aws:ssm/parameter:Parameter").inputs.value, /:[^@/]+@/, "DATABASE_URL carries no password");
    });

    it("honours its transform hooks", async () => {
        const r = await runGraph(
            () =>
                new Sandbox(
                    "sb",
                    args({
                        transform: {
                            production: (a) => ({ ...a, name: "organization/switchyard/prod-eu" }),
                            loadBalancer: (a) => ({ ...a, idleTimeout: 30 }),
                            loadBalancerSecurityGroup: (a) => ({ ...a, description: "custom alb sg" }),
                            appSecurityGroup: (a) => ({ ...a, description: "custom app sg" }),
                            database: (a) => ({ ...a, instanceClass: "db.t4g.small" }),
                            app: (a) => ({ ...a, desiredCount: 2 }),
                            listener: (a) => ({ ...a, port: 8000 }),
                        },
                    }),
                ),
            { stacks: { "organization/switchyard/prod-eu": STACKS[PROD] } },
        );
        assert.strictEqual(r.one("pulumi:pulumi:StackReference").inputs.name, "organization/switchyard/prod-eu");
        assert.strictEqual(r.one("aws:lb/loadBalancer:LoadBalancer").inputs.idleTimeout, 30);
        assert.strictEqual(r.one(SG, "sb-alb-sg").inputs.description, "custom alb sg");
        assert.strictEqual(r.one(SG, "sb-app-sg").inputs.description, "custom app sg");
        assert.strictEqual(r.one(INSTANCE).inputs.instanceClass, "db.t4g.small");
        assert.strictEqual(r.one("aws:ecs/service:Service").inputs.desiredCount, 2);
        assert.strictEqual(r.one("aws:lb/listener:Listener").inputs.port, 8000);
    });
});
