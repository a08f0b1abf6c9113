/**
 * AWS flags: the S3 bucket and object and each color's flagd sidecar as a resource graph (under
 * mocks); the S3 put and get a flag step uses, against the moto server.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { awsProgram } from "./program";
import { expectThrows, valueOf } from "./testkit";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { useMoto } from "../../test/support/moto";
import { flagdText, servedRollouts, withRollout, FlagsConfig } from "../flags";
import { ColorEnvironment } from "./colorEnvironment";
import { AwsFlags, FLAGD_CONTAINER, FLAGD_IMAGE, getFlags, parseS3Uri, putFlags } from "./flags";
import { mockArn, runGraph } from "./testkit";

const BUCKET = "aws:s3/bucket:Bucket";
const OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2";
const TASK = "aws:ecs/taskDefinition:TaskDefinition";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const FLAGS: FlagsConfig = { "new-checkout": { rollout: "internal" } };

describe("aws flags: the resource graph (mocks)", () => {
    it("a private, encrypted bucket holds the flagd file of the flags", async () => {
        const g = await runGraph(() => new AwsFlags("shop-flags", { flags: FLAGS }));
        const bucket = g.one(BUCKET);
        assert.strictEqual(bucket.inputs.forceDestroy, true);
        assert.strictEqual(bucket.inputs.tags["switchyard:role"], "production");
        const obj = g.one(OBJECT);
        assert.strictEqual(obj.inputs.key, "shop-flags/flags.flagd.json");
        assert.strictEqual(obj.inputs.content, flagdText(FLAGS));
        assert.strictEqual(obj.inputs.contentType, "application/json");
        assert.deepStrictEqual(servedRollouts(obj.inputs.content), { "new-checkout": "internal" });
        const pab = g.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock");
        assert.ok(pab.inputs.blockPublicAcls && pab.inputs.blockPublicPolicy && pab.inputs.ignorePublicAcls && pab.inputs.restrictPublicBuckets);
        g.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration");
        for (const r of [bucket, obj]) assert.strictEqual(r.parent.endsWith("switchyard:aws:Flags::shop-flags"), true, r.parent);
    });

    it("a color's task gets a flagd sidecar syncing from the object, the app pointed at it, and a role that may read it", async () => {
        const g = await runGraph(() => {
            const flags = new AwsFlags("shop-flags", { flags: FLAGS });
            const env = new ColorEnvironment("shop-green", {
                color: "green",
                version: "1.5.0",
                image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:1.5.0",
                vpcId: "vpc-1",
                subnetIds: ["subnet-a"],
                securityGroupIds: ["sg-app"],
                flags: { uri: flags.uri, objectArn: flags.objectArn },
            });
            return { uri: flags.uri, env };
        });
        const defs = JSON.parse(g.one(TASK).inputs.containerDefinitions);
        assert.deepStrictEqual(defs.map((d: { name: string }) => d.name), ["app", FLAGD_CONTAINER]);
        const [app, flagd] = defs;
        const bucketId = mockArn(BUCKET, "shop-flags-bucket");
        assert.strictEqual(flagd.image, FLAGD_IMAGE);
        assert.deepStrictEqual(flagd.command.slice(0, 3), ["start", "--uri", `s3://${bucketId}/shop-flags/flags.flagd.json`]);
        const env = Object.fromEntries(app.environment.map((e: { name: string; value: string }) => [e.name, e.value]));
        assert.strictEqual(env.FLAGD_RESOLVER, "in-process");
        assert.strictEqual(env.FLAGD_HOST, "localhost");
        assert.strictEqual(env.FLAGD_PORT, "8015");
        assert.deepStrictEqual(app.dependsOn, [{ containerName: FLAGD_CONTAINER, condition: "START" }]);
        const role = g.one("aws:iam/role:Role", "shop-green-task-role");
        assert.strictEqual(g.one(TASK).inputs.taskRoleArn, mockArn("aws:iam/role:Role", role.name));
        const policy = JSON.parse(g.one(ROLE_POLICY, "shop-green-read-flags").inputs.policy);
        assert.deepStrictEqual(policy.Statement[0].Action, ["s3:GetObject"]);
        assert.deepStrictEqual(policy.Statement[0].Resource, [`${mockArn(BUCKET, "shop-flags-bucket")}/shop-flags/flags.flagd.json`]);
    });
});

describe("aws flags: the config-driven program (mocks)", () => {
    const prod = (flags: unknown): Record<string, string> => {
        const doc = YAML.parse(fs.readFileSync(path.resolve(__dirname, "..", "..", "stacks", "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, unknown> };
        const all: Record<string, unknown> = { ...doc.config, "switchyard:flags": flags };
        return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
    };
    it("switchyard:flags gives the pair an S3 flagd file and both colors a sidecar; the outputs name the object", async () => {
        const g = await runGraph(() => awsProgram(new pulumi.Config("switchyard")), { config: prod({ "new-checkout": { rollout: 10 } }), stack: "prod" });
        assert.deepStrictEqual(servedRollouts(g.one(OBJECT).inputs.content), { "new-checkout": 10 });
        for (const c of ["blue", "green"]) {
            const defs = JSON.parse(g.one(TASK, `shop-${c}-task`).inputs.containerDefinitions);
            assert.deepStrictEqual(defs.map((d: { name: string }) => d.name), ["app", FLAGD_CONTAINER], c);
        }
        const out = g.result as Record<string, pulumi.Output<unknown>>;
        assert.strictEqual(await valueOf(out.flagsKey), "shop-flags/flags.flagd.json");
        assert.match(String(await valueOf(out.flagsUri)), /^s3:\/\/.+\/shop-flags\/flags\.flagd\.json$/);
    });
    it("a bad flag definition is refused naming the flag, and nothing is made", async () => {
        const { error, graph } = await expectThrows(() => awsProgram(new pulumi.Config("switchyard")), { config: prod({ "new-checkout": { defaultVariant: "maybe" } }), stack: "prod" });
        assert.match(error.message, /switchyard:flags\.new-checkout: defaultVariant "maybe" is not a variant/);
        assert.deepStrictEqual(graph?.resources.filter((r) => r.type === BUCKET || r.type === OBJECT) ?? [], []);
    });
});

describe("aws flags: parseS3Uri", () => {
    it("splits s3://bucket/key", () => {
        assert.deepStrictEqual(parseS3Uri("s3://shop-flags-1a2b/shop/flags.flagd.json"), { bucket: "shop-flags-1a2b", key: "shop/flags.flagd.json" });
        assert.strictEqual(parseS3Uri("https://example.com/x"), undefined);
    });
});

describe("aws flags: putFlags and getFlags on S3 (moto server)", function () {
    this.timeout(60_000);
    const moto = useMoto();
    const client = () => new S3Client({ endpoint: moto.server.endpoint, forcePathStyle: true, region: "us-east-1" });

    it("puts the flagd file, reads it back, and a change is served whole", async () => {
        const s3 = client();
        await s3.send(new CreateBucketCommand({ Bucket: "shop-flags" }));
        assert.strictEqual(await getFlags(s3, "shop-flags", "shop/flags.flagd.json"), undefined, "no object yet");
        await putFlags(s3, "shop-flags", "shop/flags.flagd.json", flagdText(FLAGS));
        assert.strictEqual(await getFlags(s3, "shop-flags", "shop/flags.flagd.json"), flagdText(FLAGS));
        const at10 = withRollout(FLAGS, "new-checkout", 10);
        await putFlags(s3, "shop-flags", "shop/flags.flagd.json", flagdText(at10));
        assert.deepStrictEqual(servedRollouts((await getFlags(s3, "shop-flags", "shop/flags.flagd.json"))!), { "new-checkout": 10 });
    });

    it("a missing bucket is an error, not an empty answer", async () => {
        await assert.rejects(() => putFlags(client(), "no-such-bucket", "k.flagd.json", "{}"), /NoSuchBucket|does not exist/);
    });
});
