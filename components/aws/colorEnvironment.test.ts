import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { TAGS } from "../types";
import { ColorEnvironment, ColorEnvironmentArgs, healthCheckTimeout } from "./colorEnvironment";
import { Graph, expectThrows, mockArn, runGraph } from "./testkit";

const TG = "aws:lb/targetGroup:TargetGroup";
const TASK = "aws:ecs/taskDefinition:TaskDefinition";
const SERVICE = "aws:ecs/service:Service";
const PARAM = "aws:ssm/parameter:Parameter";
const IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:1.5.0";

function args(extra: Partial<ColorEnvironmentArgs> = {}): ColorEnvironmentArgs {
    return {
        color: "green",
        version: "1.5.0",
        image: IMAGE,
        vpcId: "vpc-1",
        subnetIds: ["subnet-a", "subnet-b"],
        securityGroupIds: ["sg-app"],
        ...extra,
    };
}

function container(g: Graph<unknown>): any {
    const defs = JSON.parse(g.one(TASK).inputs.containerDefinitions);
    assert.strictEqual(defs.length, 1);
    return defs[0];
}

function env(c: any): Record<string, string> {
    return Object.fromEntries(c.environment.map((e: { name: string; value: string }) => [e.name, e.value]));
}

describe("aws ColorEnvironment", () => {
    it("runs the image on Fargate with PORT, COLOR and VERSION, and DATABASE_URL injected from a SecureString", async () => {
        const g = await runGraph(() => new ColorEnvironment("shop-green", args({ port: 9000, databaseUrl: "postgres://u:pw@db:5432/shop", environment: { LOG_LEVEL: "debug" } })));
        const c = container(g);
        assert.strictEqual(c.image, IMAGE);
        assert.deepStrictEqual(env(c), { COLOR: "green", LOG_LEVEL: "debug", PORT: "9000", VERSION: "1.5.0" });
        assert.deepStrictEqual(c.portMappings, [{ containerPort: 9000, protocol: "tcp" }]);
        const param = g.one(PARAM);
        assert.strictEqual(param.inputs.type, "SecureString");
        assert.strictEqual(param.inputs.value, "postgres://u:pw@db:5432/shop");
        assert.ok(param.secretInputs.includes("value"), "DATABASE_URL must be stored as a secret");
        assert.deepStrictEqual(c.secrets, [{ name: "DATABASE_URL", valueFrom: mockArn(PARAM, param.name) }]);
        assert.ok(!JSON.stringify(c).includes("pw@db"), "the password must not appear in the task definition");
        const policy = JSON.parse(g.one("aws:iam/rolePolicy:RolePolicy").inputs.policy);
        assert.deepStrictEqual(policy.Statement[0].Action, ["ssm:GetParameters"]);
        assert.deepStrictEqual(policy.Statement[0].Resource, [mockArn(PARAM, param.name)]);

        const task = g.one(TASK).inputs;
        assert.deepStrictEqual(task.requiresCompatibilities, ["FARGATE"]);
        assert.strictEqual(task.networkMode, "awsvpc");
        const svc = g.one(SERVICE).inputs;
        assert.strictEqual(svc.launchType, "FARGATE");
        assert.deepStrictEqual(svc.networkConfiguration, { subnets: ["subnet-a", "subnet-b"], securityGroups: ["sg-app"], assignPublicIp: false });
        assert.deepStrictEqual(svc.loadBalancers, [{ targetGroupArn: mockArn(TG, "shop-green-tg"), containerName: "app", containerPort: 9000 }]);
        assert.strictEqual(svc.desiredCount, 2);
    });

    it("has no DATABASE_URL and no parameter without a database", async () => {
        const g = await runGraph(() => new ColorEnvironment("c", args()));
        assert.deepStrictEqual(container(g).secrets, []);
        assert.strictEqual(g.all(PARAM).length, 0);
        assert.strictEqual(env(container(g)).DATABASE_URL, undefined);
    });

    it("has an IP target group with the default /healthz health check and deregistration delay", async () => {
        const g = await runGraph(() => new ColorEnvironment("c", args()));
        const tg = g.one(TG).inputs;
        assert.strictEqual(tg.targetType, "ip");
        assert.strictEqual(tg.port, 8080);
        assert.strictEqual(tg.deregistrationDelay, 30);
        assert.deepStrictEqual(tg.healthCheck, {
            enabled: true,
            protocol: "HTTP",
            path: "/healthz",
            interval: 5,
            timeout: 4,
            healthyThreshold: 2,
            unhealthyThreshold: 3,
            matcher: "200-299",
        });
    });

    it("takes the health check and deregistration delay from its arguments", async () => {
        const g = await runGraph(() =>
            new ColorEnvironment("c", args({ healthCheck: { path: "/ready", intervalSeconds: 30, unhealthyThreshold: 5 }, deregistrationDelaySeconds: 120 })),
        );
        const tg = g.one(TG).inputs;
        assert.strictEqual(tg.deregistrationDelay, 120);
        assert.strictEqual(tg.healthCheck.path, "/ready");
        assert.strictEqual(tg.healthCheck.interval, 30);
        assert.strictEqual(tg.healthCheck.timeout, 29);
        assert.strictEqual(tg.healthCheck.unhealthyThreshold, 5);
        assert.strictEqual(tg.healthCheck.healthyThreshold, 2);
    });

    it("keeps the health check timeout shorter than the interval, within the ALB's bounds", () => {
        assert.deepStrictEqual([5, 6, 30, 300].map(healthCheckTimeout), [4, 5, 29, 120]);
    });

    it("builds the image and pushes it to a new ECR repository with the registry's token", async () => {
        const g = await runGraph(() => new ColorEnvironment("shop-blue", args({ image: undefined, build: { context: "./app", dockerfile: "Dockerfile.prod" } })));
        const repo = g.one("aws:ecr/repository:Repository");
        const image = g.one("docker:index/image:Image");
        const url = `123456789012.dkr.ecr.us-east-1.amazonaws.com/${repo.name}`;
        assert.strictEqual(image.inputs.imageName, `${url}:1.5.0`);
        assert.deepStrictEqual(image.inputs.build, { context: "./app", dockerfile: "Dockerfile.prod", platform: "linux/amd64" });
        assert.deepStrictEqual(image.inputs.registry, { server: url, username: "AWS", password: "mock-ecr-token" });
        assert.ok(image.secretInputs.includes("registry"), "the registry password must be a secret");
        const tokenCalls = g.invokes.filter((i) => i.token === "aws:ecr/getAuthorizationToken:getAuthorizationToken");
        assert.deepStrictEqual(tokenCalls.map((i) => i.inputs), [{ registryId: "123456789012" }]);
        assert.match(container(g).image, new RegExp(`^${url}@sha256:`), "the service runs the pushed digest");
    });

    it("tags every child with its role and color", async () => {
        const g = await runGraph(() => new ColorEnvironment("c", args({ color: "blue", tags: { team: "shop" } })));
        const tagged = g.resources.filter((r) => r.custom && r.inputs.tags);
        assert.ok(tagged.length >= 5);
        for (const r of tagged) {
            assert.strictEqual(r.inputs.tags[TAGS.role], "production", r.name);
            assert.strictEqual(r.inputs.tags[TAGS.color], "blue", r.name);
            assert.strictEqual(r.inputs.tags.team, "shop", r.name);
        }
    });

    it("gives every child a parent and a stable name", async () => {
        const built = await runGraph(() => new ColorEnvironment("shop-green", args({ image: undefined, build: { context: "./app" }, databaseUrl: "postgres://x" })));
        const component = built.one("switchyard:aws:ColorEnvironment");
        const children = built.resources.filter((r) => r !== component);
        assert.deepStrictEqual(children.map((r) => r.name).sort(), [
            "shop-green-cluster",
            "shop-green-database-url",
            "shop-green-execution-policy",
            "shop-green-execution-role",
            "shop-green-image",
            "shop-green-logs",
            "shop-green-read-database-url",
            "shop-green-repo",
            "shop-green-service",
            "shop-green-task",
            "shop-green-tg",
        ]);
        for (const c of children) {
            assert.strictEqual(c.parent, component.urn, `${c.name} must be a child of the component`);
        }
        const shared = await runGraph(() => new ColorEnvironment("shop-green", args({ clusterArn: "arn:cluster" })));
        assert.deepStrictEqual(
            shared.resources.filter((r) => r.custom).map((r) => r.name).sort(),
            ["shop-green-execution-policy", "shop-green-execution-role", "shop-green-logs", "shop-green-service", "shop-green-task", "shop-green-tg"],
            "a given image, cluster and no database: no repository, image, cluster or parameter",
        );
        assert.strictEqual(shared.one(SERVICE).inputs.cluster, "arn:cluster");
    });

    describe("validation (nothing is created when it fails)", () => {
        const cases: [string, Partial<ColorEnvironmentArgs>, RegExp][] = [
            ["both an image and a build", { build: { context: "." } }, /give exactly one of image .* or build/],
            ["neither an image nor a build", { image: undefined }, /give exactly one of image .* or build/],
            ["an environment overriding DATABASE_URL", { environment: { DATABASE_URL: "x" } }, /environment sets DATABASE_URL: PORT, COLOR, VERSION, DATABASE_URL are set by Switchyard/],
            ["a health check every second", { healthCheck: { intervalSeconds: 1 } }, /health check intervalSeconds is 1: it must be an integer from 5 to 300/],
            ["a relative health check path", { healthCheck: { path: "healthz" } }, /health check path is "healthz": it must start with "\/"/],
            ["a port out of range", { port: 70000 }, /port is 70000: it must be an integer from 1 to 65535/],
            ["an unknown color", { color: "red" as never }, /color "red" is unknown/],
        ];
        for (const [what, extra, message] of cases) {
            it(`refuses ${what}`, async () => {
                const { error, graph } = await expectThrows(() => new ColorEnvironment("c", args(extra)));
                assert.ok(error instanceof pulumi.ResourceError);
                assert.match(error.message, message);
                assert.deepStrictEqual(graph.resources.map((r) => r.type), ["switchyard:aws:ColorEnvironment"]);
            });
        }
    });

    it("honours its transform hooks", async () => {
        const g = await runGraph(
            () =>
                new ColorEnvironment(
                    "c",
                    args({
                        image: undefined,
                        build: { context: "./app" },
                        databaseUrl: "postgres://x",
                        transform: {
                            repository: (a) => ({ ...a, imageTagMutability: "IMMUTABLE" }),
                            image: (a) => ({ ...a, skipPush: true }),
                            cluster: (a) => ({ ...a, settings: [] }),
                            logGroup: (a) => ({ ...a, retentionInDays: 7 }),
                            executionRole: (a) => ({ ...a, description: "custom role" }),
                            executionPolicy: (a) => ({ ...a, policyArn: "arn:aws:iam::123456789012:policy/custom-execution" }),
                            databaseUrlParameter: (a) => ({ ...a, tier: "Advanced" }),
                            databaseUrlPolicy: (a) => ({ ...a, name: "custom-read-database-url" }),
                            targetGroup: (a) => ({ ...a, slowStart: 60 }),
                            taskDefinition: (a) => ({ ...a, cpu: "1024" }),
                            service: (a) => ({ ...a, enableExecuteCommand: true }),
                        },
                    }),
                ),
        );
        assert.strictEqual(g.one("aws:ecr/repository:Repository").inputs.imageTagMutability, "IMMUTABLE");
        assert.strictEqual(g.one("docker:index/image:Image").inputs.skipPush, true);
        assert.deepStrictEqual(g.one("aws:ecs/cluster:Cluster").inputs.settings, []);
        assert.strictEqual(g.one("aws:cloudwatch/logGroup:LogGroup").inputs.retentionInDays, 7);
        assert.strictEqual(g.one("aws:iam/role:Role").inputs.description, "custom role");
        assert.strictEqual(g.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment").inputs.policyArn, "arn:aws:iam::123456789012:policy/custom-execution");
        assert.strictEqual(g.one(PARAM).inputs.tier, "Advanced");
        assert.strictEqual(g.one("aws:iam/rolePolicy:RolePolicy").inputs.name, "custom-read-database-url");
        assert.deepStrictEqual(JSON.parse(g.one("aws:iam/rolePolicy:RolePolicy").inputs.policy).Statement[0].Action, ["ssm:GetParameters"], "the rest of the computed args stays");
        assert.strictEqual(g.one(TG).inputs.slowStart, 60);
        assert.strictEqual(g.one(TG).inputs.targetType, "ip");
        assert.strictEqual(g.one(TASK).inputs.cpu, "1024");
        assert.strictEqual(g.one(SERVICE).inputs.enableExecuteCommand, true);
    });
});
