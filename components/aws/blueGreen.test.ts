import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { TAGS, TrafficWeights } from "../types";
import { BlueGreen, BlueGreenArgs } from "./blueGreen";
import { AWS_TAGS } from "./common";
import { Graph, Recorded, expectThrows, mockArn, runGraph, stableJson, valueOf } from "./testkit";

const LISTENER = "aws:lb/listener:Listener";
const TG = "aws:lb/targetGroup:TargetGroup";
const SG = "aws:ec2/securityGroup:SecurityGroup";
const SERVICE = "aws:ecs/service:Service";
const TASK = "aws:ecs/taskDefinition:TaskDefinition";
const INSTANCE = "aws:rds/instance:Instance";
const DYNAMIC = "pulumi-nodejs:dynamic:Resource";
const REPO = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop";

function args(traffic: TrafficWeights = { blue: 100, green: 0 }, extra: Partial<BlueGreenArgs> = {}): BlueGreenArgs {
    return {
        traffic,
        colors: { blue: { version: "1.4.2", image: `${REPO}:1.4.2` }, green: { version: "1.5.0", image: `${REPO}:1.5.0` } },
        app: { port: 8080, healthCheck: { path: "/healthz" } },
        database: { mode: "shared", engine: "postgres", sourceInstanceIdentifier: "shop-prod", databaseName: "shop" },
        vpcId: "vpc-1",
        subnetIds: ["subnet-private-a", "subnet-private-b"],
        publicSubnetIds: ["subnet-public-a", "subnet-public-b"],
        cutover: { steps: [10, 25, 50, 100] },
        ...extra,
    };
}

describe("aws BlueGreen", () => {
    let g: Graph<BlueGreen>;
    before(async () => {
        g = await runGraph(() => new BlueGreen("shop", args()));
    });

    it("builds two colors, a weighted listener, the ALB with its security group, and the production database", () => {
        const components = g.resources.filter((r) => !r.custom).map((r) => `${r.type} ${r.name}`);
        assert.deepStrictEqual(components.sort(), [
            "switchyard:aws:BlueGreen shop",
            "switchyard:aws:ColorEnvironment shop-blue",
            "switchyard:aws:ColorEnvironment shop-green",
            "switchyard:aws:SnapshotDatabase shop-db",
            "switchyard:aws:WeightedListener shop-listener",
        ]);
        assert.strictEqual(g.all("aws:lb/loadBalancer:LoadBalancer").length, 1);
        assert.strictEqual(g.all(SERVICE).length, 2);
        assert.strictEqual(g.all(TG).length, 2);
        assert.strictEqual(g.all(LISTENER).length, 2);
        assert.strictEqual(g.all(INSTANCE).length, 1, "both colors share one database");
        const alb = g.one("aws:lb/loadBalancer:LoadBalancer").inputs;
        assert.strictEqual(alb.internal, false);
        assert.deepStrictEqual(alb.subnets, ["subnet-public-a", "subnet-public-b"]);
        assert.deepStrictEqual(alb.securityGroups, ["sg-shop-alb-sg"]);
    });

    it("puts a health check on every target group", () => {
        for (const tg of g.all(TG)) {
            assert.strictEqual(tg.inputs.healthCheck.enabled, true, tg.name);
            assert.strictEqual(tg.inputs.healthCheck.path, "/healthz", tg.name);
            assert.strictEqual(tg.inputs.targetType, "ip", tg.name);
        }
    });

    it("forwards by the weights, tests the idle color, and tags the cutover plan", () => {
        const main = g.one(LISTENER, "shop-listener-main").inputs;
        assert.deepStrictEqual(main.defaultActions[0].forward.targetGroups, [
            { arn: mockArn(TG, "shop-blue-tg"), weight: 100 },
            { arn: mockArn(TG, "shop-green-tg"), weight: 0 },
        ]);
        assert.strictEqual(main.tags[AWS_TAGS.cutoverSteps], "10,25,50,100");
        const test = g.one(LISTENER, "shop-listener-test").inputs;
        assert.deepStrictEqual(test.defaultActions[0].forward.targetGroups, [{ arn: mockArn(TG, "shop-green-tg"), weight: 1 }]);
    });

    it("gives each color its own version and image, and both the shared database's URL", () => {
        for (const [color, version] of [["blue", "1.4.2"], ["green", "1.5.0"]]) {
            const c = JSON.parse(g.one(TASK, `shop-${color}-task`).inputs.containerDefinitions)[0];
            assert.strictEqual(c.image, `${REPO}:${version}`);
            assert.ok(c.environment.some((e: { name: string; value: string }) => e.name === "VERSION" && e.value === version));
            assert.ok(c.environment.some((e: { name: string; value: string }) => e.name === "COLOR" && e.value === color));
            const param = g.one("aws:ssm/parameter:Parameter", `shop-${color}-database-url`);
            assert.match(param.inputs.value, /^postgres:\/\/shop_admin:.*@shop-db-instance-abc123\..*:5432\/shop$/);
        }
    });

    it("admits only the app's security group to the database, and only the ALB's to the app", () => {
        const appSg = g.one(SG, "shop-app-sg");
        const dbSg = g.one(SG, "shop-db-sg");
        assert.deepStrictEqual(dbSg.inputs.ingress.map((r: any) => [r.fromPort, r.toPort, r.securityGroups, r.cidrBlocks]), [[5432, 5432, [`sg-${appSg.name}`], undefined]]);
        assert.deepStrictEqual(appSg.inputs.ingress.map((r: any) => [r.fromPort, r.securityGroups]), [[8080, ["sg-shop-alb-sg"]]]);
        for (const svc of g.all(SERVICE)) {
            assert.deepStrictEqual(svc.inputs.networkConfiguration.securityGroups, [`sg-${appSg.name}`]);
            assert.strictEqual(svc.inputs.networkConfiguration.assignPublicIp, false);
        }
        const db = g.one(INSTANCE);
        assert.strictEqual(db.inputs.publiclyAccessible, false);
        assert.strictEqual(db.protect, true);
        assert.strictEqual(db.inputs.deletionProtection, true);
    });

    it("opens the test listener to the VPC only", () => {
        const alb = g.one(SG, "shop-alb-sg").inputs;
        const byPort = Object.fromEntries(alb.ingress.map((r: any) => [r.fromPort, r.cidrBlocks]));
        assert.deepStrictEqual(byPort, { 80: ["0.0.0.0/0"], 8080: ["10.0.0.0/16"] });
    });

    it("starts the services only after the listeners exist", () => {
        const listeners = g.all(LISTENER).map((l) => l.urn);
        for (const svc of g.all(SERVICE)) {
            for (const l of listeners) {
                assert.ok(svc.dependencies.includes(l), `${svc.name} must depend on ${l}`);
            }
        }
    });

    it("tags every resource with the production role", () => {
        const tagged = g.resources.filter((r) => r.custom && r.type !== DYNAMIC);
        assert.ok(tagged.length > 15);
        for (const r of tagged.filter((x) => x.type !== "aws:iam/rolePolicyAttachment:RolePolicyAttachment" && x.type !== "aws:iam/rolePolicy:RolePolicy")) {
            assert.strictEqual(r.inputs.tags?.[TAGS.role], "production", `${r.type} ${r.name}`);
        }
    });

    it("exports what a sandbox reads", async () => {
        const r = g.result;
        assert.strictEqual(await valueOf(r.databaseIdentifier), "shop-db-instance-abc123");
        assert.strictEqual(await valueOf(r.engine), "postgres");
        assert.strictEqual(await valueOf(r.engineVersion), "16.4");
        assert.strictEqual(await valueOf(r.appImage), `${REPO}:1.4.2`, "the live color's image");
        assert.strictEqual(await valueOf(r.url), "http://shop-alb-123456.us-east-1.elb.amazonaws.com");
        assert.strictEqual(await valueOf(r.testUrl), "http://shop-alb-123456.us-east-1.elb.amazonaws.com:8080");
        assert.deepStrictEqual(await valueOf(r.targetGroupArns), { blue: mockArn(TG, "shop-blue-tg"), green: mockArn(TG, "shop-green-tg") });
        assert.strictEqual(await valueOf(r.listenerArn), mockArn(LISTENER, "shop-listener-main"));
        assert.strictEqual(await valueOf(r.rdsBlueGreenDeploymentId), undefined);
    });

    it("moving from blue-live to green-live changes only the listeners", async () => {
        const before = await runGraph(() => new BlueGreen("shop", args({ blue: 100, green: 0 })));
        const after = await runGraph(() => new BlueGreen("shop", args({ blue: 0, green: 100 })));
        const key = (r: Recorded) => stableJson({ inputs: r.inputs, protect: r.protect, ignoreChanges: r.ignoreChanges, dependencies: [...r.dependencies].sort(), parent: r.parent });
        const a = new Map(before.resources.map((r) => [r.urn, r]));
        const b = new Map(after.resources.map((r) => [r.urn, r]));
        assert.deepStrictEqual([...a.keys()].sort(), [...b.keys()].sort(), "the same resources exist before and after");
        const changed = [...a.keys()].filter((urn) => key(a.get(urn)!) !== key(b.get(urn)!)).map((urn) => `${a.get(urn)!.type} ${a.get(urn)!.name}`);
        assert.deepStrictEqual(changed.sort(), [`${LISTENER} shop-listener-main`, `${LISTENER} shop-listener-test`]);
        const mainAfter = after.one(LISTENER, "shop-listener-main").inputs;
        assert.deepStrictEqual(mainAfter.defaultActions[0].forward.targetGroups.map((t: any) => t.weight), [0, 100]);
        // On the main listener, the weights are all that changed.
        const withoutWeights = (g: Graph<BlueGreen>) => {
            const inputs = JSON.parse(JSON.stringify(g.one(LISTENER, "shop-listener-main").inputs));
            for (const tg of inputs.defaultActions[0].forward.targetGroups) {
                delete tg.weight;
            }
            return stableJson(inputs);
        };
        assert.strictEqual(withoutWeights(after), withoutWeights(before), "the main listener changes only in its weights");
        assert.deepStrictEqual(after.one(LISTENER, "shop-listener-test").inputs.defaultActions[0].forward.targetGroups, [{ arn: mockArn(TG, "shop-blue-tg"), weight: 1 }]);
        // The resources the brief names explicitly, to be sure they were compared at all.
        for (const type of [SERVICE, TASK, TG, INSTANCE]) {
            assert.ok(before.all(type).length > 0, type);
        }
        assert.strictEqual(await valueOf(after.result.appImage), `${REPO}:1.5.0`);
    });

    it("gives every child a parent and a stable name", () => {
        const top = g.one("switchyard:aws:BlueGreen");
        assert.deepStrictEqual(
            g.childrenOf(top.urn).map((r) => `${r.type} ${r.name}`).sort(),
            [
                "aws:ec2/securityGroup:SecurityGroup shop-alb-sg",
                "aws:ec2/securityGroup:SecurityGroup shop-app-sg",
                "aws:ecs/cluster:Cluster shop-cluster",
                "aws:lb/loadBalancer:LoadBalancer shop-alb",
                "switchyard:aws:ColorEnvironment shop-blue",
                "switchyard:aws:ColorEnvironment shop-green",
                "switchyard:aws:SnapshotDatabase shop-db",
                "switchyard:aws:WeightedListener shop-listener",
            ],
        );
        // Everything else belongs to one of the child components: nothing is left at the stack's root.
        const components = new Set(g.resources.filter((r) => !r.custom).map((r) => r.urn));
        for (const r of g.resources.filter((x) => x !== top)) {
            assert.ok(components.has(r.parent), `${r.type} ${r.name} must have a component as parent`);
        }
    });

    describe("database modes", () => {
        it('"shared": one production database for both colors, protected, with no blue/green preparation', () => {
            assert.strictEqual(g.all(INSTANCE).length, 1);
            const db = g.one(INSTANCE);
            assert.strictEqual(db.name, "shop-db-instance");
            assert.strictEqual(db.protect, true);
            assert.strictEqual(db.inputs.deletionProtection, true);
            assert.strictEqual(db.inputs.snapshotIdentifier, "shop-prod-before-migration-42");
            assert.deepStrictEqual(g.one("aws:rds/parameterGroup:ParameterGroup", "shop-db-params").inputs.parameters, []);
            assert.strictEqual(g.all(DYNAMIC).filter((d) => d.inputs.kind === "switchyard:aws:RdsBlueGreenDeployment").length, 0);
            const urls = ["blue", "green"].map((c) => g.one("aws:ssm/parameter:Parameter", `shop-${c}-database-url`).inputs.value);
            assert.strictEqual(urls[0], urls[1], "both colors connect to the same database");
        });

        it('refuses "snapshot" for a live pair, pointing to rds-blue-green, before creating anything', async () => {
            const { error, graph } = await expectThrows(() => new BlueGreen("shop", args(undefined, { database: { mode: "snapshot", sourceInstanceIdentifier: "shop-prod" } })));
            assert.ok(error instanceof pulumi.ResourceError);
            assert.match(error.message, /database mode "snapshot" is refused for live colors: .* or "rds-blue-green" for an engine upgrade/);
            assert.deepStrictEqual(graph.resources.map((r) => r.type), ["switchyard:aws:BlueGreen"]);
            assert.strictEqual(graph.invokes.length, 0);
        });

        it('"rds-blue-green" prepares the production database for a blue/green deployment', async () => {
            const r = await runGraph(() => new BlueGreen("shop", args(undefined, { database: { mode: "rds-blue-green", sourceInstanceIdentifier: "shop-prod" } })));
            const params = r.one("aws:rds/parameterGroup:ParameterGroup", "shop-db-params").inputs.parameters;
            assert.deepStrictEqual(params, [{ name: "rds.logical_replication", value: "1", applyMethod: "pending-reboot" }]);
            assert.ok(r.one(INSTANCE).inputs.backupRetentionPeriod >= 1);
            assert.strictEqual(r.all(DYNAMIC).filter((d) => d.inputs.kind === "switchyard:aws:RdsBlueGreenDeployment").length, 0, "no green copy until a target is given");
        });

        it('"rds-blue-green" with a target creates the green copy in the update, and never switches over', async () => {
            const r = await runGraph(
                () =>
                    new BlueGreen(
                        "shop",
                        args(undefined, { database: { mode: "rds-blue-green", sourceInstanceIdentifier: "shop-prod", blueGreen: { targetEngineVersion: "17.2" } } }),
                    ),
            );
            const bg = r.all(DYNAMIC).find((d) => d.inputs.kind === "switchyard:aws:RdsBlueGreenDeployment")!;
            assert.ok(bg, "a blue/green deployment resource");
            assert.strictEqual(bg.name, "shop-db-bluegreen");
            assert.strictEqual(bg.inputs.sourceArn, mockArn(INSTANCE, "shop-db-instance"));
            assert.strictEqual(bg.inputs.targetEngineVersion, "17.2");
            const green = r.one("aws:rds/parameterGroup:ParameterGroup", "shop-db-green-params").inputs;
            assert.strictEqual(green.family, "postgres17");
            assert.strictEqual(bg.inputs.targetParameterGroupName, "shop-db-green-params", "the green copy uses the new family's parameter group");
            assert.ok(!("switchover" in bg.inputs), "switching over is a separate, explicit call");
            assert.strictEqual(await valueOf(r.result.rdsBlueGreenDeploymentId), "bgd-mock0123456789ab");
        });

        it("refuses a blue/green target outside mode rds-blue-green", async () => {
            const { error } = await expectThrows(() => new BlueGreen("shop", args(undefined, { database: { mode: "shared", sourceInstanceIdentifier: "shop-prod", blueGreen: {} } })));
            assert.match(error.message, /database.blueGreen is set but the mode is "shared"/);
        });
    });

    describe("validation (nothing is created when it fails)", () => {
        const cases: [string, BlueGreenArgs, RegExp][] = [
            ["weights out of range", args({ blue: 100, green: 101 }), /traffic weight for green is 101: it must be an integer from 0 to 100/],
            ["an unknown database mode", args(undefined, { database: { mode: "clone" as never, sourceInstanceIdentifier: "x" } }), /database mode "clone" is unknown/],
            ["an unknown engine", args(undefined, { database: { mode: "shared", engine: "mariadb" as never, sourceInstanceIdentifier: "x" } }), /database engine "mariadb" is not supported/],
            ["no snapshot source", args(undefined, { database: { mode: "shared" } }), /production database: no snapshot to restore/],
            ["a color without a version", args(undefined, { colors: { blue: { version: "1.4.2", image: "x" }, green: { version: "" } } }), /color green has no version/],
            ["a falling cutover plan", args(undefined, { cutover: { steps: [50, 25, 100] } }), /cutover step 2 \(25\) does not rise/],
            ["a color with neither image nor build", args(undefined, { colors: { blue: { version: "1" }, green: { version: "2" } } }), /color blue: give exactly one of image/],
        ];
        for (const [what, a, message] of cases) {
            it(`refuses ${what}`, async () => {
                const { error, graph } = await expectThrows(() => new BlueGreen("shop", a));
                assert.ok(error instanceof pulumi.ResourceError);
                assert.match(error.message, message);
                assert.deepStrictEqual(graph.resources.map((r) => r.type), ["switchyard:aws:BlueGreen"]);
            });
        }
    });

    it("honours its transform hooks", async () => {
        const r = await runGraph(
            () =>
                new BlueGreen(
                    "shop",
                    args(undefined, {
                        transform: {
                            loadBalancer: (a) => ({ ...a, idleTimeout: 120 }),
                            loadBalancerSecurityGroup: (a) => ({ ...a, description: "custom alb sg" }),
                            appSecurityGroup: (a) => ({ ...a, description: "custom app sg" }),
                            cluster: (a) => ({ ...a, settings: [] }),
                            database: (a) => ({ ...a, instanceClass: "db.r6g.xlarge", transform: { dbInstance: (i) => ({ ...i, multiAz: true }) } }),
                            colorEnvironment: (a) => ({ ...a, desiredCount: a.color === "green" ? 1 : 4 }),
                            listener: (a) => ({ ...a, testPort: 9090 }),
                            greenParameterGroup: (a) => ({ ...a, description: "custom green params" }),
                            rdsBlueGreenDeployment: (a) => ({ ...a, timeoutMinutes: 240 }),
                        },
                        database: { mode: "rds-blue-green", sourceInstanceIdentifier: "shop-prod", blueGreen: { targetEngineVersion: "17.2" } },
                    }),
                ),
        );
        assert.strictEqual(r.one("aws:rds/parameterGroup:ParameterGroup", "shop-db-green-params").inputs.description, "custom green params");
        assert.strictEqual(r.one(DYNAMIC, "shop-db-bluegreen").inputs.timeoutMinutes, 240);
        assert.strictEqual(r.one(DYNAMIC, "shop-db-bluegreen").inputs.targetEngineVersion, "17.2", "the rest of the computed args stays");
        assert.strictEqual(r.one("aws:lb/loadBalancer:LoadBalancer").inputs.idleTimeout, 120);
        assert.strictEqual(r.one(SG, "shop-alb-sg").inputs.description, "custom alb sg");
        assert.strictEqual(r.one(SG, "shop-app-sg").inputs.description, "custom app sg");
        assert.deepStrictEqual(r.one("aws:ecs/cluster:Cluster").inputs.settings, []);
        assert.strictEqual(r.one(INSTANCE).inputs.instanceClass, "db.r6g.xlarge");
        assert.strictEqual(r.one(INSTANCE).inputs.multiAz, true);
        assert.strictEqual(r.one(SERVICE, "shop-blue-service").inputs.desiredCount, 4);
        assert.strictEqual(r.one(SERVICE, "shop-green-service").inputs.desiredCount, 1);
        assert.strictEqual(r.one(LISTENER, "shop-listener-test").inputs.port, 9090);
    });

    it("scales a color down (warm: false, after a cutover's keep-warm time): its ECS service's desired count is 0, the other's stays", async () => {
        const r = await runGraph(
            () =>
                new BlueGreen(
                    "shop",
                    args({ blue: 0, green: 100 }, { colors: { blue: { version: "1.4.2", image: `${REPO}:1.4.2`, warm: false }, green: { version: "1.5.0", image: `${REPO}:1.5.0` } } }),
                ),
        );
        assert.strictEqual(r.one(SERVICE, "shop-blue-service").inputs.desiredCount, 0);
        assert.strictEqual(r.one(SERVICE, "shop-green-service").inputs.desiredCount, 2);
    });
});
