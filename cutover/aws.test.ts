import * as assert from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { CloudWatchClient, MetricDataResult, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import {
    Action as ListenerAction,
    CreateListenerCommand,
    CreateTargetGroupCommand,
    DescribeListenersCommand,
    ElasticLoadBalancingV2Client,
    ModifyListenerCommand,
    RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { DescribeDBSnapshotsCommand, RDSClient } from "@aws-sdk/client-rds";
import { UserError } from "../stack/errors";
import { motoAlb, motoDb, useMoto } from "../test/support/moto";
import {
    AwsCutoverPort,
    LISTENER_ARN,
    METRIC_IDS,
    TARGET_GROUP_ARN,
    anyHealthy,
    awsCutoverOutputs,
    awsFailureCause,
    awsHint,
    checkOutputArn,
    backupSnapshotName,
    listenerWeights,
    loadBalancerDimension,
    metricPeriodSeconds,
    metricQueries,
    sampleFromMetrics,
    targetGroupDimension,
    withWeights,
} from "./aws";
import { judge } from "./core";
import type { StackState, StackStore } from "./stackState";
import { Checkpoint, DEFAULT_GATE, TrafficWeights } from "./types";

const ACCOUNT = "arn:aws:elasticloadbalancing:us-east-1:123456789012";
const BLUE = `${ACCOUNT}:targetgroup/shop-blue/0123456789abcdef`;
const GREEN = `${ACCOUNT}:targetgroup/shop-green/fedcba9876543210`;
const LISTENER = `${ACCOUNT}:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2`;
const TEST_LISTENER = `${ACCOUNT}:listener/app/shop/50dc6c495c0c9188/0a1b2c3d4e5f6a7b`;
const GROUPS = { blue: BLUE, green: GREEN };

const forward = (...groups: [string, number][]): ListenerAction[] => [
    { Type: "forward", ForwardConfig: { TargetGroups: groups.map(([TargetGroupArn, Weight]) => ({ TargetGroupArn, Weight })) } },
];

/** A StackStore that records what it is asked. */
class RecordingStore implements StackStore {
    readonly calls: unknown[][] = [];
    constructor(private readonly state: StackState) {}
    async readState(): Promise<StackState> {
        this.calls.push(["readState"]);
        return this.state;
    }
    async recordIntent(i: { action: string; checkpoint: Checkpoint }): Promise<void> {
        this.calls.push(["intent", i.action, i.checkpoint.id]);
    }
    async apply(w: TrafficWeights, cp: Checkpoint): Promise<void> {
        this.calls.push(["apply", w, cp.id]);
    }
    async record(cp: Checkpoint): Promise<void> {
        this.calls.push(["record", cp.id]);
    }
}

const storeFor = (outputs: Record<string, unknown>) => new RecordingStore({ pair: "shop", platform: "aws", weights: { blue: 100, green: 0 }, outputs });

describe("cutover aws", () => {
    describe("pure helpers", () => {
        it("takes the TargetGroup dimension from a target group ARN, and refuses another ARN", () => {
            assert.strictEqual(targetGroupDimension(BLUE), "targetgroup/shop-blue/0123456789abcdef");
            assert.throws(() => targetGroupDimension(LISTENER), /listener\/app\/shop.* is not a target group ARN.*targetGroupArns output/);
        });

        it("takes the LoadBalancer dimension from a load balancer or listener ARN, ALBs only", () => {
            assert.strictEqual(loadBalancerDimension(LISTENER), "app/shop/50dc6c495c0c9188");
            assert.strictEqual(loadBalancerDimension(`${ACCOUNT}:loadbalancer/app/shop/50dc6c495c0c9188`), "app/shop/50dc6c495c0c9188");
            assert.throws(() => loadBalancerDimension(`${ACCOUNT}:listener/net/shop/50dc6c495c0c9188/f2f7`), /listener\/net\/shop.* is not the ARN of an Application Load Balancer/);
            assert.throws(() => loadBalancerDimension(BLUE), /targetgroup\/shop-blue.* is not the ARN of an Application Load Balancer.*listenerArn output/);
        });

        describe("listenerWeights", () => {
            const table: [string, ListenerAction[], TrafficWeights][] = [
                ["the weights as written", forward([BLUE, 90], [GREEN, 10]), { blue: 90, green: 10 }],
                ["in either order", forward([GREEN, 75], [BLUE, 25]), { blue: 25, green: 75 }],
                ["a color left out as 0", forward([GREEN, 100]), { blue: 0, green: 100 }],
                ["a plain forward as all traffic", [{ Type: "forward", TargetGroupArn: BLUE }], { blue: 100, green: 0 }],
                ["ALB weights above 100 scaled to 0..100", forward([BLUE, 600], [GREEN, 200]), { blue: 75, green: 25 }],
                ["the forward after an authenticate action", [{ Type: "authenticate-oidc" }, ...forward([BLUE, 50], [GREEN, 50])], { blue: 50, green: 50 }],
            ];
            for (const [what, actions, expected] of table) {
                it(`reads ${what}`, () => assert.deepStrictEqual(listenerWeights(LISTENER, actions, GROUPS), expected));
            }

            it("names the listener and the stray target group when a group is not a color's", () => {
                const other = `${ACCOUNT}:targetgroup/legacy/1111111111111111`;
                assert.throws(
                    () => listenerWeights(LISTENER, forward([BLUE, 90], [other, 10]), GROUPS),
                    (e: Error) => e.message.includes(`listener ${LISTENER} forwards to target group ${other}`) && /neither blue's .* nor green's/.test(e.message),
                );
            });

            it("names the listener when it has no forward action, or forwards nothing", () => {
                const fixed: ListenerAction[] = [{ Type: "fixed-response", FixedResponseConfig: { StatusCode: "503" } }];
                assert.throws(() => listenerWeights(LISTENER, fixed, GROUPS), (e: Error) => e.message.startsWith(`listener ${LISTENER} has no weighted forward action (its default actions: fixed-response)`));
                assert.throws(() => listenerWeights(LISTENER, [], GROUPS), /has no weighted forward action \(its default actions: none\)/);
                assert.throws(() => listenerWeights(LISTENER, forward([BLUE, 0], [GREEN, 0]), GROUPS), /gives both target groups weight 0/);
            });
        });

        it("uses one-minute periods at least, rounded up to whole minutes", () => {
            assert.deepStrictEqual([5_000, 60_000, 61_000, 300_000].map(metricPeriodSeconds), [60, 60, 120, 300]);
        });

        it("queries the four ALB target group metrics with both dimensions", () => {
            const q = metricQueries("targetgroup/shop-blue/1", "app/shop/2", 120);
            assert.deepStrictEqual(
                q.map((x) => [x.Id, x.MetricStat?.Metric?.MetricName, x.MetricStat?.Stat, x.MetricStat?.Period]),
                [
                    [METRIC_IDS.requests, "RequestCount", "Sum", 120],
                    [METRIC_IDS.targetErrors, "HTTPCode_Target_5XX_Count", "Sum", 120],
                    [METRIC_IDS.connectionErrors, "TargetConnectionErrorCount", "Sum", 120],
                    [METRIC_IDS.latency, "TargetResponseTime", "Average", 120],
                ],
            );
            for (const x of q) {
                assert.strictEqual(x.MetricStat?.Metric?.Namespace, "AWS/ApplicationELB");
                assert.deepStrictEqual(x.MetricStat?.Metric?.Dimensions, [
                    { Name: "TargetGroup", Value: "targetgroup/shop-blue/1" },
                    { Name: "LoadBalancer", Value: "app/shop/2" },
                ]);
            }
        });

        describe("sampleFromMetrics", () => {
            const t1 = new Date("2025-03-04T05:06:00Z");
            const t2 = new Date("2025-03-04T05:07:00Z");
            const result = (Id: string, points: [Date, number][]): MetricDataResult => ({
                Id,
                StatusCode: "Complete",
                Timestamps: points.map(([t]) => t),
                Values: points.map(([, v]) => v),
            });

            it("sums requests and errors (target 5xx and connection errors) and weights latency by requests", () => {
                const s = sampleFromMetrics(
                    "green",
                    120_000,
                    [
                        result(METRIC_IDS.requests, [[t1, 30], [t2, 10]]),
                        result(METRIC_IDS.targetErrors, [[t1, 2]]),
                        result(METRIC_IDS.connectionErrors, [[t2, 1]]),
                        result(METRIC_IDS.latency, [[t1, 0.1], [t2, 0.5]]),
                    ],
                    true,
                );
                // (30 × 100 ms + 10 × 500 ms) / 40 = 200 ms
                assert.deepStrictEqual({ ...s, latencyMs: Math.round(s.latencyMs! * 1000) / 1000 }, { color: "green", requests: 40, errors: 3, latencyMs: 200, healthy: true, windowMs: 120_000 });
            });

            it("averages latency plainly when some period has no request count", () => {
                const s = sampleFromMetrics("blue", 60_000, [result(METRIC_IDS.requests, [[t1, 30]]), result(METRIC_IDS.latency, [[t1, 0.1], [t2, 0.5]])], true);
                assert.strictEqual(Math.round(s.latencyMs!), 300);
            });

            it("concatenates pages of one query", () => {
                const s = sampleFromMetrics("blue", 60_000, [result(METRIC_IDS.requests, [[t1, 5]]), result(METRIC_IDS.requests, [[t2, 7]])], false);
                assert.strictEqual(s.requests, 12);
                assert.strictEqual(s.healthy, false);
            });

            it("reads no datapoints as no requests and no latency", () => {
                const s = sampleFromMetrics("blue", 5000, [result(METRIC_IDS.requests, []), result(METRIC_IDS.latency, [])], true);
                assert.deepStrictEqual(s, { color: "blue", requests: 0, errors: 0, healthy: true, windowMs: 5000 });
            });

            it("refuses a query CloudWatch could not answer, naming the color and metric", () => {
                const failed: MetricDataResult = { Id: METRIC_IDS.latency, Label: "TargetResponseTime", StatusCode: "Forbidden", Messages: [{ Code: "x", Value: "not authorized" }] };
                assert.throws(() => sampleFromMetrics("green", 5000, [failed], true), /CloudWatch answered Forbidden for green's TargetResponseTime metric: not authorized/);
            });
        });

        it("counts a target group healthy when at least one target is healthy", () => {
            const t = (State: string) => ({ TargetHealth: { State: State as "healthy" } });
            assert.strictEqual(anyHealthy([t("unhealthy"), t("healthy")]), true);
            assert.strictEqual(anyHealthy([t("unhealthy"), t("draining"), t("initial")]), false);
            assert.strictEqual(anyHealthy([]), false);
        });

        it("names the backup after the database and the UTC time", () => {
            assert.strictEqual(backupSnapshotName("shop-prod", new Date("2025-03-04T05:06:07.890Z")), "shop-prod-pre-cutover-20250304050607");
        });

        describe("awsCutoverOutputs", () => {
            const full = { listenerArn: LISTENER, targetGroupArns: GROUPS, testListenerArn: TEST_LISTENER, testUrl: "http://alb:8080", databaseIdentifier: "shop-prod", url: "http://alb" };

            it("keeps the outputs the cutover reads", () => {
                assert.deepStrictEqual(awsCutoverOutputs(full), { listenerArn: LISTENER, targetGroupArns: GROUPS, testListenerArn: TEST_LISTENER, testUrl: "http://alb:8080", databaseIdentifier: "shop-prod" });
                const minimal = awsCutoverOutputs({ listenerArn: LISTENER, targetGroupArns: GROUPS, testUrl: "" });
                assert.strictEqual(minimal.testUrl, undefined);
                assert.strictEqual(minimal.databaseIdentifier, undefined);
            });

            it("names the missing output and the stack", () => {
                assert.throws(() => awsCutoverOutputs({ ...full, listenerArn: undefined }, 'stack "prod"'), /stack "prod" has no listenerArn output: .*run `switchyard up` on stack "prod"/);
                assert.throws(() => awsCutoverOutputs({ ...full, targetGroupArns: { blue: BLUE } }), /the stack has no targetGroupArns output with both \{ blue, green \}/);
                assert.throws(() => awsCutoverOutputs({ adminSocket: "/tmp/x" }), /has no listenerArn output/);
            });

            it("checks each ARN's form before any AWS call, naming the output", () => {
                const table: [string, Record<string, unknown>, string][] = [
                    ["a target group ARN without its id", { targetGroupArns: { ...GROUPS, green: `${ACCOUNT}:targetgroup/shop-green` } }, "targetGroupArns.green output"],
                    ["a target group ARN with an upper-case id", { targetGroupArns: { ...GROUPS, blue: `${ACCOUNT}:targetgroup/shop-blue/0123456789ABCDEF` } }, "targetGroupArns.blue output"],
                    ["a listener ARN for a target group output", { targetGroupArns: { ...GROUPS, green: LISTENER } }, "targetGroupArns.green output"],
                    ["a target group ARN for the listener", { listenerArn: BLUE }, "listenerArn output"],
                    ["a network load balancer's listener", { listenerArn: `${ACCOUNT}:listener/net/shop/50dc6c495c0c9188/f2f7dc8efc522ab2` }, "listenerArn output"],
                    ["an account of 11 digits", { listenerArn: LISTENER.replace("123456789012", "12345678901") }, "listenerArn output"],
                    ["a malformed test listener", { testListenerArn: "arn:test" }, "testListenerArn output"],
                    ["one target group for both colors", { targetGroupArns: { blue: BLUE, green: BLUE } }, "gives blue and green the same target group"],
                    ["the listener as the test listener", { testListenerArn: LISTENER }, "testListenerArn output is its listenerArn"],
                ];
                for (const [what, over, named] of table) {
                    assert.throws(
                        () => awsCutoverOutputs({ ...full, ...over }, 'stack "prod"'),
                        (e: Error) => e instanceof UserError && e.message.includes(named) && e.message.includes("nothing was changed") && e.message.includes("on stack \"prod\""),
                        what,
                    );
                }
                assert.match(checkOutputArn("targetGroup", "targetGroupArns.green", "x", 'stack "prod"') ?? "", /^stack "prod"'s targetGroupArns\.green output is "x", not a target group ARN \(arn:aws:elasticloadbalancing:<region>:<12-digit account>:targetgroup\/<name>\/<16 hex digits>\)/);
                assert.ok(TARGET_GROUP_ARN.test(`arn:aws-cn:elasticloadbalancing:cn-north-1:123456789012:targetgroup/a/0123456789abcdef`), "other partitions");
                assert.ok(LISTENER_ARN.test(`arn:aws:elasticloadbalancing:ap-southeast-2:123456789012:listener/app/my-alb-1/0123456789abcdef/fedcba9876543210`));
            });
        });

        describe("failure hints", () => {
            const sdkError = (name: string, status?: number, code?: string) => Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status }, code });
            it("names a permission only where one can be the cause", () => {
                const table: [Error, string, RegExp][] = [
                    [sdkError("AccessDenied", 403), "permission", /the caller lacks elasticloadbalancing:ModifyListener/],
                    [sdkError("UnauthorizedOperation", 403), "permission", /lacks/],
                    [sdkError("SomethingElse", 403), "permission", /lacks/],
                    [sdkError("InvalidClientTokenId", 403), "credentials", /credentials are missing, invalid or expired/],
                    [sdkError("CredentialsProviderError"), "credentials", /credentials/],
                    [sdkError("ListenerNotFound", 400), "not-found", /^; check the outputs$/],
                    [sdkError("DBInstanceNotFoundFault", 404), "not-found", /check the outputs/],
                    [sdkError("ListenerNotFoundException", 400), "not-found", /check the outputs/],
                    [sdkError("Throttling", 400), "throttled", /throttled/],
                    [sdkError("Error", undefined, "ECONNREFUSED"), "network", /could not be reached/],
                    [sdkError("ValidationError", 400), "other", /^$/],
                    [sdkError("InvalidDBInstanceState", 400), "other", /^$/],
                    [sdkError("InternalFailure", 500), "other", /^$/],
                ];
                for (const [e, cause, hint] of table) {
                    assert.strictEqual(awsFailureCause(e), cause, e.name);
                    const h = awsHint(e, "elasticloadbalancing:ModifyListener", "check the outputs");
                    assert.match(h, hint, e.name);
                    assert.strictEqual(/permission|lacks/.test(h), cause === "permission", `${e.name}: ${h}`);
                }
            });

            it("a CloudWatch InternalError is not blamed on permissions; Forbidden is", () => {
                const failed = (StatusCode: "InternalError" | "Forbidden"): MetricDataResult => ({ Id: METRIC_IDS.requests, Label: "RequestCount", StatusCode });
                assert.throws(() => sampleFromMetrics("green", 5000, [failed("InternalError")], true), (e: Error) => /answered InternalError/.test(e.message) && !/lacks|permission/.test(e.message));
                assert.throws(() => sampleFromMetrics("green", 5000, [failed("Forbidden")], true), /answered Forbidden .*the caller lacks cloudwatch:GetMetricData/);
            });
        });

        it("delegates state, apply and record to the stack store", async () => {
            const store = storeFor({ listenerArn: LISTENER, targetGroupArns: GROUPS });
            const port = new AwsCutoverPort(store, { listenerArn: LISTENER, targetGroupArns: GROUPS });
            const cp = { id: "cutover-1" } as Checkpoint;
            assert.strictEqual(port.platform, "aws");
            assert.deepStrictEqual((await port.readState()).weights, { blue: 100, green: 0 });
            await port.apply({ blue: 90, green: 10 }, cp);
            await port.record(cp);
            assert.deepStrictEqual(store.calls, [["readState"], ["apply", { blue: 90, green: 10 }, "cutover-1"], ["record", "cutover-1"]]);
        });
    });

    describe("against a moto server", () => {
        const moto = useMoto();
        let elbv2: ElasticLoadBalancingV2Client;
        let cloudwatch: CloudWatchClient;
        let rds: RDSClient;
        let lbArn: string;
        let blue: string;
        let green: string;
        let stray: string;
        let listenerArn: string;
        let testListenerArn: string;

        const clients = () => ({ elbv2, cloudwatch, rds });
        const outputs = (extra: Record<string, unknown> = {}) => ({ listenerArn, targetGroupArns: { blue, green }, ...extra });

        async function targetGroup(name: string, vpcId: string): Promise<string> {
            const r = await elbv2.send(new CreateTargetGroupCommand({ Name: name, Protocol: "HTTP", Port: 8080, VpcId: vpcId, TargetType: "ip" }));
            return r.TargetGroups![0].TargetGroupArn!;
        }

        async function listener(port: number, actions: ListenerAction[]): Promise<string> {
            const r = await elbv2.send(new CreateListenerCommand({ LoadBalancerArn: lbArn, Protocol: "HTTP", Port: port, DefaultActions: actions }));
            return r.Listeners![0].ListenerArn!;
        }

        before(async () => {
            const conn = { region: "us-east-1", endpoint: moto.server.endpoint };
            elbv2 = new ElasticLoadBalancingV2Client(conn);
            cloudwatch = new CloudWatchClient(conn);
            rds = new RDSClient(conn);

            const alb = await motoAlb(moto.server.endpoint, elbv2, 20);
            const vpcId = alb.vpcId;
            lbArn = alb.lbArn;
            blue = await targetGroup("shop-blue", vpcId);
            green = await targetGroup("shop-green", vpcId);
            stray = await targetGroup("shop-legacy", vpcId);
            await elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: blue, Targets: [{ Id: "10.20.0.10", Port: 8080 }] }));
            listenerArn = await listener(80, forward([blue, 90], [green, 10]));
            testListenerArn = await listener(8080, forward([green, 1]));

            await motoDb(rds, "shop-prod");
        });

        describe("servedWeights", () => {
            it("reads back the listener's weights, and the new ones after a change", async () => {
                const port = new AwsCutoverPort(storeFor(outputs()), outputs(), clients());
                assert.deepStrictEqual(await port.servedWeights(), { blue: 90, green: 10 });
                await elbv2.send(new ModifyListenerCommand({ ListenerArn: listenerArn, DefaultActions: forward([blue, 40], [green, 60]) }));
                assert.deepStrictEqual(await port.servedWeights(), { blue: 40, green: 60 });
                await elbv2.send(new ModifyListenerCommand({ ListenerArn: listenerArn, DefaultActions: forward([blue, 90], [green, 10]) }));
            });

            it("applyNow sets the listener's weights at once, keeping stickiness, and points the test listener at the idle color", async () => {
                const sticky: ListenerAction[] = [
                    { Type: "forward", ForwardConfig: { TargetGroups: [{ TargetGroupArn: blue, Weight: 40 }, { TargetGroupArn: green, Weight: 60 }], TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 300 } } },
                ];
                await elbv2.send(new ModifyListenerCommand({ ListenerArn: listenerArn, DefaultActions: sticky }));
                const port = new AwsCutoverPort(storeFor(outputs({ testListenerArn })), outputs({ testListenerArn }), clients());
                await port.applyNow({ blue: 100, green: 0 });
                assert.deepStrictEqual(await port.servedWeights(), { blue: 100, green: 0 });
                const after = (await elbv2.send(new DescribeListenersCommand({ ListenerArns: [listenerArn] }))).Listeners![0].DefaultActions![0];
                assert.strictEqual(after.ForwardConfig?.TargetGroupStickinessConfig?.Enabled, true, "stickiness kept");
                const test = (await elbv2.send(new DescribeListenersCommand({ ListenerArns: [testListenerArn] }))).Listeners![0].DefaultActions![0];
                assert.deepStrictEqual(
                    test.ForwardConfig?.TargetGroups?.map((g) => [g.TargetGroupArn, g.Weight]),
                    [[blue, 0], [green, 100]],
                    "the test listener forwards to green, the idle color now",
                );
                await elbv2.send(new ModifyListenerCommand({ ListenerArn: listenerArn, DefaultActions: forward([blue, 90], [green, 10]) }));
                await elbv2.send(new ModifyListenerCommand({ ListenerArn: testListenerArn, DefaultActions: forward([green, 1]) }));
            });

            it("withWeights replaces only the forward action's weights", () => {
                const actions: ListenerAction[] = [{ Type: "authenticate-oidc", Order: 1 }, { Type: "forward", Order: 2, TargetGroupArn: "arn:blue" }];
                assert.deepStrictEqual(withWeights("arn:l", actions, { blue: "arn:blue", green: "arn:green" }, { blue: 25, green: 75 }), [
                    { Type: "authenticate-oidc", Order: 1 },
                    { Type: "forward", Order: 2, TargetGroupArn: undefined, ForwardConfig: { TargetGroups: [{ TargetGroupArn: "arn:blue", Weight: 25 }, { TargetGroupArn: "arn:green", Weight: 75 }] } },
                ]);
                assert.throws(() => withWeights("arn:l", [{ Type: "fixed-response" }], { blue: "b", green: "g" }, { blue: 1, green: 0 }), /listener arn:l has no forward action to set weights on/);
            });

            it("names the listener and the target group that belongs to neither color", async () => {
                const straying = await listener(81, forward([blue, 50], [stray, 50]));
                const port = new AwsCutoverPort(storeFor({}), outputs({ listenerArn: straying }), clients());
                await assert.rejects(port.servedWeights(), (e: Error) => e.message.includes(`listener ${straying} forwards to target group ${stray}, which is neither blue's`));
            });

            it("names a listener without a forward action", async () => {
                const fixed = await listener(82, [{ Type: "fixed-response", FixedResponseConfig: { StatusCode: "503", ContentType: "text/plain" } }]);
                const port = new AwsCutoverPort(storeFor({}), outputs({ listenerArn: fixed }), clients());
                await assert.rejects(port.servedWeights(), (e: Error) => e.message.startsWith(`listener ${fixed} has no weighted forward action (its default actions: fixed-response)`));
            });

            it("names a listener that does not exist, with no hint at permissions", async () => {
                const gone = listenerArn.replace(/\/[^/]+$/, "/0000000000000000");
                const port = new AwsCutoverPort(storeFor({}), outputs({ listenerArn: gone }), clients());
                await assert.rejects(port.servedWeights(), (e: Error) => e.message.startsWith(`cannot read listener ${gone}: `) && e.message.includes("check the stack's listenerArn output") && !/permission|lacks/.test(e.message));
            });

            it("moto's ARNs have the forms the adapter checks", () => {
                assert.ok(TARGET_GROUP_ARN.test(blue) && TARGET_GROUP_ARN.test(green), `${blue} ${green}`);
                assert.ok(LISTENER_ARN.test(listenerArn) && LISTENER_ARN.test(testListenerArn), `${listenerArn} ${testListenerArn}`);
            });

            it("refuses a malformed target group ARN from the outputs before any ModifyListener: the listener keeps its weights", async () => {
                const describe = async () => (await elbv2.send(new DescribeListenersCommand({ ListenerArns: [listenerArn] }))).Listeners![0].DefaultActions;
                const before = await describe();
                for (const bad of [green.replace(/\/[0-9a-f]{16}$/, ""), green.replace(/[0-9a-f]{16}$/, "not-a-hex-id-123"), `${green} `]) {
                    const malformed = outputs({ testListenerArn, targetGroupArns: { blue, green: bad } });
                    assert.throws(
                        () => new AwsCutoverPort(storeFor(malformed), malformed, { ...clients(), stackName: 'stack "prod"' }),
                        (e: Error) => e instanceof UserError && e.message.startsWith(`stack "prod"'s targetGroupArns.green output is ${JSON.stringify(bad)}, not a target group ARN`),
                    );
                }
                assert.deepStrictEqual(await describe(), before, "the listener's actions in moto are unchanged");
                assert.deepStrictEqual(await new AwsCutoverPort(storeFor(outputs()), outputs(), clients()).servedWeights(), { blue: 90, green: 10 });
            });
        });

        describe("sample", () => {
            const at = (end: Date, msBefore: number) => new Date(end.getTime() - msBefore);

            async function put(group: string, end: Date, points: [string, number, number][]): Promise<void> {
                await cloudwatch.send(
                    new PutMetricDataCommand({
                        Namespace: "AWS/ApplicationELB",
                        MetricData: points.map(([MetricName, Value, msBefore]) => ({
                            MetricName,
                            Value,
                            Timestamp: at(end, msBefore),
                            Unit: MetricName === "TargetResponseTime" ? "Seconds" : "Count",
                            Dimensions: [
                                { Name: "TargetGroup", Value: targetGroupDimension(group) },
                                { Name: "LoadBalancer", Value: loadBalancerDimension(lbArn) },
                            ],
                        })),
                    }),
                );
            }

            it("computes requests, errors and latency of the color's target group over the window, with its health", async () => {
                // A fixed end of window on a whole second: moto truncates query times to seconds.
                const end = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
                const windowMs = 2000;
                await put(blue, end, [
                    ["RequestCount", 30, 1500],
                    ["RequestCount", 10, 500],
                    ["HTTPCode_Target_5XX_Count", 2, 1500],
                    ["TargetConnectionErrorCount", 1, 500],
                    ["TargetResponseTime", 0.1, 1500],
                    ["TargetResponseTime", 0.3, 500],
                    ["RequestCount", 1000, 30_000], // before the window
                    ["HTTPCode_Target_5XX_Count", 500, 30_000],
                ]);
                await put(green, end, [
                    ["RequestCount", 7, 1000],
                    ["TargetResponseTime", 0.05, 1000],
                ]);
                const port = new AwsCutoverPort(storeFor({}), outputs(), { ...clients(), now: () => end });

                const started = Date.now();
                const b = await port.sample("blue", windowMs);
                assert.ok(Date.now() - started >= windowMs - 5, "sample waits for the window");
                assert.deepStrictEqual({ ...b, latencyMs: Math.round(b.latencyMs!) }, { color: "blue", requests: 40, errors: 3, latencyMs: 200, healthy: true, windowMs });

                const g = await port.sample("green", 10);
                assert.deepStrictEqual({ ...g, latencyMs: Math.round(g.latencyMs!) }, { color: "green", requests: 7, errors: 0, latencyMs: 50, healthy: false, windowMs: 10 });
            });

            it("reads a quiet window as no requests", async () => {
                const end = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
                const port = new AwsCutoverPort(storeFor({}), outputs(), { ...clients(), now: () => end });
                assert.deepStrictEqual(await port.sample("blue", 10), { color: "blue", requests: 0, errors: 0, healthy: true, windowMs: 10 });
            });

            it("stops waiting when aborted", async () => {
                const port = new AwsCutoverPort(storeFor({}), outputs(), clients());
                const ac = new AbortController();
                const started = Date.now();
                setTimeout(() => ac.abort(), 20);
                await assert.rejects(port.sample("blue", 60_000, ac.signal), /aborted/);
                assert.ok(Date.now() - started < 5000);
            });
        });

        describe("pretest", () => {
            let server: http.Server;
            let testUrl: string;
            let served = 0;
            let failEvery = 0;

            before(async () => {
                server = http.createServer((_req, res) => {
                    served++;
                    res.statusCode = failEvery > 0 && served % failEvery === 0 ? 500 : 200;
                    res.end("ok");
                });
                await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
                testUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
            });
            after(async () => {
                server.closeAllConnections();
                await new Promise((r) => server.close(r));
            });

            it("probes the idle color through the test listener, healthy when no request failed", async () => {
                served = 0;
                failEvery = 0;
                const port = new AwsCutoverPort(storeFor({}), outputs({ testUrl, testListenerArn }), { ...clients(), pretestRequests: 8 });
                const s = await port.pretest("green");
                assert.strictEqual(served, 8);
                assert.strictEqual(s.color, "green");
                assert.strictEqual(s.requests, 8);
                assert.strictEqual(s.errors, 0);
                assert.strictEqual(s.healthy, true);
                assert.ok(s.latencyMs !== undefined && s.latencyMs >= 0);
            });

            it("counts non-2xx answers as errors, and the gate fails the pretest on them", async () => {
                served = 0;
                failEvery = 4;
                const port = new AwsCutoverPort(storeFor({}), outputs({ testUrl, testListenerArn }), { ...clients(), pretestRequests: 8 });
                const s = await port.pretest("green");
                assert.strictEqual(s.errors, 2);
                const v = judge(s, DEFAULT_GATE, { strict: true });
                assert.strictEqual(v.outcome, "fail");
                assert.match(v.reasons.join("; "), /success rate 75\.00% < 99\.00% \(2 of 8 requests failed\)/);
            });

            it("refuses to probe a color the test listener does not reach", async () => {
                served = 0;
                const port = new AwsCutoverPort(storeFor({}), outputs({ testUrl, testListenerArn }), clients());
                await assert.rejects(port.pretest("blue"), (e: Error) => e.message.startsWith(`test listener ${testListenerArn} forwards to {"blue":0,"green":1}, not to blue alone`));
                assert.strictEqual(served, 0, "no request was sent");
            });

            it("names the missing testUrl output", async () => {
                const port = new AwsCutoverPort(storeFor({}), outputs(), { ...clients(), stackName: 'stack "prod"' });
                await assert.rejects(port.pretest("green"), /stack "prod" has no testUrl output/);
            });
        });

        describe("backup", () => {
            const fast = { backupMaxWaitSeconds: 20, backupPollSeconds: 1 };

            it("snapshots the database, waits until available and returns the snapshot's name", async () => {
                const now = () => new Date("2025-03-04T05:06:07Z");
                const port = new AwsCutoverPort(storeFor({}), outputs({ databaseIdentifier: "shop-prod" }), { ...clients(), ...fast, now });
                const name = await port.backup();
                assert.strictEqual(name, "shop-prod-pre-cutover-20250304050607");
                const listed = (await rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: "shop-prod" }))).DBSnapshots ?? [];
                const snap = listed.find((s) => s.DBSnapshotIdentifier === name);
                assert.ok(snap, `DescribeDBSnapshots lists ${name}: ${JSON.stringify(listed.map((s) => s.DBSnapshotIdentifier))}`);
                assert.strictEqual(snap.Status, "available");
                assert.strictEqual(snap.SnapshotType, "manual");
                assert.deepStrictEqual(snap.TagList?.find((t) => t.Key === "switchyard:purpose")?.Value, "pre-cutover");
            });

            it("fails naming a database that does not exist", async () => {
                const port = new AwsCutoverPort(storeFor({}), outputs({ databaseIdentifier: "no-such-db" }), { ...clients(), ...fast });
                await assert.rejects(port.backup(), (e: Error) => /backup of database no-such-db failed: CreateDBSnapshot no-such-db-pre-cutover-\d{14}: .*DBInstanceNotFound.*; check the stack's databaseIdentifier output and the region$/.test(e.message) && !/permission|lacks/.test(e.message));
            });

            it("names the missing databaseIdentifier output", async () => {
                const port = new AwsCutoverPort(storeFor({}), outputs(), clients());
                await assert.rejects(port.backup(), /the stack has no databaseIdentifier output/);
            });
        });
    });
});
