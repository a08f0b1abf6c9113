import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { TAGS } from "../types";
import { AWS_TAGS } from "./common";
import { awsProgram, imageForVersion } from "./program";
import { runGraph, valueOf } from "./testkit";

const STACKS_DIR = path.resolve(__dirname, "..", "..", "stacks");
const REPO = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop";

/** A stack file's config as the engine hands it to the program: structured values as JSON. */
function stackConfig(file: string, override: Record<string, unknown> = {}): Record<string, string> {
    const doc = YAML.parse(fs.readFileSync(path.join(STACKS_DIR, file), "utf8")) as { config: Record<string, unknown> };
    const all = { ...doc.config, ...override };
    return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

function images(g: { one(t: string, n?: string): { inputs: Record<string, any> } }, name: string): string {
    return JSON.parse(g.one("aws:ecs/taskDefinition:TaskDefinition", name).inputs.containerDefinitions)[0].image;
}

describe("aws program", () => {
    describe("imageForVersion", () => {
        const cases: [string, string, string][] = [
            [`${REPO}:1.4.2`, "1.5.0", `${REPO}:1.5.0`],
            [REPO, "1.5.0", `${REPO}:1.5.0`],
            ["localhost:5000/shop:old", "2.0.0", "localhost:5000/shop:2.0.0"],
            ["localhost:5000/shop", "2.0.0", "localhost:5000/shop:2.0.0"],
            [`${REPO}@sha256:${"a".repeat(64)}`, "9.9.9", `${REPO}@sha256:${"a".repeat(64)}`],
        ];
        for (const [image, version, expected] of cases) {
            it(`${image} at ${version} is ${expected}`, () => assert.strictEqual(imageForVersion(image, version), expected));
        }
    });

    it("builds the production pair from stacks/Pulumi.prod.yaml", async () => {
        const config = stackConfig("Pulumi.prod.yaml");
        assert.strictEqual(config["switchyard:platform"], "aws");
        const g = await runGraph(() => awsProgram(new pulumi.Config("switchyard")), { config, stack: "prod" });
        assert.strictEqual(g.one("switchyard:aws:BlueGreen").name, "shop");
        const main = g.one("aws:lb/listener:Listener", "shop-listener-main").inputs;
        assert.deepStrictEqual(main.defaultActions[0].forward.targetGroups.map((t: any) => t.weight), [100, 0]);
        assert.deepStrictEqual(main.defaultActions[0].forward.stickiness, { enabled: true, duration: 3600 });
        assert.strictEqual(main.protocol, "HTTPS");
        assert.strictEqual(main.port, 443);
        assert.strictEqual(main.tags[AWS_TAGS.cutoverSteps], "10,25,50,100");
        assert.strictEqual(images(g, "shop-blue-task"), `${REPO}:1.4.2`);
        assert.strictEqual(images(g, "shop-green-task"), `${REPO}:1.5.0`);
        const db = g.one("aws:rds/instance:Instance");
        assert.strictEqual(db.protect, true);
        assert.strictEqual(db.inputs.instanceClass, "db.r6g.large");
        assert.strictEqual(db.inputs.multiAz, true);
        assert.strictEqual(db.inputs.tags[TAGS.role], "production");
        assert.deepStrictEqual(g.invokes.find((i) => i.token === "aws:rds/getSnapshot:getSnapshot")?.inputs, { dbInstanceIdentifier: "shop-prod", mostRecent: true });
        for (const tg of g.all("aws:lb/targetGroup:TargetGroup")) {
            assert.deepStrictEqual([tg.inputs.healthCheck.path, tg.inputs.healthCheck.interval], ["/healthz", 10]);
        }
        const outputs = g.result;
        assert.deepStrictEqual(Object.keys(outputs).filter((k) => ["databaseIdentifier", "engine", "engineVersion", "appImage"].includes(k)).sort(), ["appImage", "databaseIdentifier", "engine", "engineVersion"]);
        assert.strictEqual(await valueOf(outputs.url), "https://shop-alb-123456.us-east-1.elb.amazonaws.com");
        assert.strictEqual(await valueOf(outputs.appImage), `${REPO}:1.4.2`);
    });

    it("builds a sandbox from stacks/Pulumi.sandbox.yaml, reading the prod stack's outputs", async () => {
        const config = stackConfig("Pulumi.sandbox.yaml");
        const stacks = { "organization/switchyard/prod": { databaseIdentifier: "shop-db-instance-1a2b3c", engine: "postgres", engineVersion: "16.4", appImage: `${REPO}:1.4.2` } };
        const snapshots = [
            { identifier: "rds:shop-db-instance-1a2b3c-2025-11-22-03-10", instanceIdentifier: "shop-db-instance-1a2b3c", createdAt: new Date("2025-11-22T03:10:00Z"), status: "available", type: "automated", engine: "postgres", engineVersion: "16.4" },
        ];
        const g = await runGraph(() => awsProgram(new pulumi.Config("switchyard")), { config, stacks, snapshots, stack: "sandbox" });
        assert.strictEqual(g.one("switchyard:aws:Sandbox").name, "shop");
        assert.strictEqual(g.one("pulumi:pulumi:StackReference").inputs.name, "organization/switchyard/prod");
        const db = g.one("aws:rds/instance:Instance").inputs;
        assert.strictEqual(db.snapshotIdentifier, "rds:shop-db-instance-1a2b3c-2025-11-22-03-10");
        assert.strictEqual(db.instanceClass, "db.t4g.medium");
        assert.strictEqual(db.publiclyAccessible, false);
        assert.deepStrictEqual([db.manageMasterUserPassword, "password" in db], [true, false], "RDS manages the sandbox's own password (switchyard:database.manageMasterUserPassword)");
        assert.match(db.tags[TAGS.expiresAt], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        assert.strictEqual(g.one("aws:lb/loadBalancer:LoadBalancer").inputs.internal, true);
        assert.strictEqual(images(g, "shop-app-task"), `${REPO}:1.5.0`);
        const expires = Date.parse(await valueOf(g.result.expiresAt as pulumi.Output<string>));
        assert.ok(Math.abs(expires - (Date.now() + 24 * 3600_000)) < 60_000, "expires 24 hours from now");
    });

    it("refuses snapshot mode in a blue-green stack with the shared message", async () => {
        const config = stackConfig("Pulumi.prod.yaml", { "switchyard:database": { mode: "snapshot", sourceInstance: "shop-prod" } });
        await assert.rejects(
            runGraph(() => awsProgram(new pulumi.Config("switchyard")), { config }),
            /switchyard:database.mode: database mode "snapshot" is refused for live colors/,
        );
    });

    it("refuses switchyard:databasePassword in a sandbox stack: a sandbox gets credentials of its own", async () => {
        const config = stackConfig("Pulumi.sandbox.yaml", { "switchyard:databasePassword": "correct-horse-battery" });
        const stacks = { "organization/switchyard/prod": { databaseIdentifier: "shop-db-instance-1a2b3c", engine: "postgres", engineVersion: "16.4", appImage: `${REPO}:1.4.2` } };
        await assert.rejects(
            runGraph(() => awsProgram(new pulumi.Config("switchyard")), { config, stacks, stack: "sandbox" }),
            /switchyard:databasePassword: masterPassword is set for a sandbox: a sandbox restored from production's snapshot always gets credentials of its own/,
        );
    });

    it("refuses a sandbox stack without ttlHours", async () => {
        const config = stackConfig("Pulumi.sandbox.yaml", { "switchyard:sandbox": { productionStack: "organization/switchyard/prod" } });
        await assert.rejects(runGraph(() => awsProgram(new pulumi.Config("switchyard")), { config }), (e: Error) => e instanceof pulumi.ResourceError && /a sandbox needs an expiry/.test(e.message));
    });
});
