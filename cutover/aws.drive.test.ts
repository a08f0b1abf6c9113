/**
 * A whole cutover on the AWS adapter, end to end, against a real moto server: `start(makePlan(…))`
 * and `drive(port, plan, first)` with a real {@link AwsCutoverPort} whose ELBv2, CloudWatch and RDS
 * clients all talk to moto (listeners, target health, GetMetricData, CreateDBSnapshot).
 *
 * The one stand-in is the StackStore. The Pulumi `up` of an AWS stack cannot run offline (no AWS
 * provider plugin), so {@link ListenerStore} does to moto's listeners what that `up` would do to
 * them, and nothing else: its `apply(weights, checkpoint)` sets the main listener's forward weights
 * and points the test listener at the idle color (ModifyListener, as the WeightedListener component
 * declares them: both target groups by weight; the idle one at weight 1) and records the weights and
 * the checkpoint; `readState` returns what it recorded with the stack's outputs; `record` records.
 *
 * Metrics: the port's clock (`now` option) is deterministic, one minute later at each call, so each
 * observation window ends on a known whole second; the test seeds CloudWatch with PutMetricData
 * (namespace AWS/ApplicationELB, dimensions TargetGroup and LoadBalancer, as metricQueries asks)
 * for those windows before the cutover runs. The gate waits its real (short) interval.
 */
import * as assert from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
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
import { idleColor } from "../components/types";
import { motoAlb, motoDb, useMoto } from "../test/support/moto";
import { AwsCutoverPort, backupSnapshotName, loadBalancerDimension, targetGroupDimension } from "./aws";
import { makePlan, start } from "./core";
import { drive } from "./run";
import type { StackState, StackStore } from "./stackState";
import { Checkpoint, CutoverEvent, GateSpec, TrafficWeights } from "./types";

/** What happened, in order: the driver's events and the store's calls, side by side. */
type Entry = string;

/** Stand-in for the stack: does to moto's listeners what the stack's `up` would, and records. */
class ListenerStore implements StackStore {
    weights: TrafficWeights = { blue: 100, green: 0 };
    checkpoint?: Checkpoint;
    /** Every apply: weights, checkpoint phase, and the main listener's weights in moto before it. */
    readonly applies: { weights: TrafficWeights; phase: string; listenerBefore: TrafficWeights }[] = [];
    readonly records: Checkpoint[] = [];

    constructor(
        private readonly elbv2: ElasticLoadBalancingV2Client,
        private readonly outputs: { listenerArn: string; testListenerArn: string; targetGroupArns: { blue: string; green: string } },
        private readonly timeline: Entry[],
    ) {}

    async readState(): Promise<StackState> {
        return { pair: "shop", platform: "aws", weights: this.weights, checkpoint: this.checkpoint, outputs: this.outputs };
    }

    readonly intents: string[] = [];
    async recordIntent(intent: { action: string; weights?: TrafficWeights }): Promise<void> {
        this.intents.push(`${intent.action}${intent.weights ? ` ${w(intent.weights)}` : ""}`);
        this.timeline.push(`store.intent ${intent.action}`);
    }

    async apply(weights: TrafficWeights, checkpoint: Checkpoint): Promise<void> {
        const { listenerArn, testListenerArn, targetGroupArns } = this.outputs;
        const listenerBefore = await forwardWeights(this.elbv2, listenerArn, targetGroupArns);
        this.timeline.push(`store.apply ${w(weights)} (listener was ${w(listenerBefore)})`);
        await this.elbv2.send(
            new ModifyListenerCommand({ ListenerArn: listenerArn, DefaultActions: forward([targetGroupArns.blue, weights.blue], [targetGroupArns.green, weights.green]) }),
        );
        await this.elbv2.send(new ModifyListenerCommand({ ListenerArn: testListenerArn, DefaultActions: forward([targetGroupArns[idleColor(weights)], 1]) }));
        this.applies.push({ weights, phase: checkpoint.phase, listenerBefore });
        this.weights = weights;
        this.checkpoint = checkpoint;
    }

    async record(checkpoint: Checkpoint): Promise<void> {
        this.timeline.push(`store.record ${checkpoint.phase}`);
        this.records.push(checkpoint);
        this.checkpoint = checkpoint;
    }
}

const forward = (...groups: [string, number][]): ListenerAction[] => [
    { Type: "forward", ForwardConfig: { TargetGroups: groups.map(([TargetGroupArn, Weight]) => ({ TargetGroupArn, Weight })) } },
];

const w = (x: TrafficWeights) => `${x.blue}/${x.green}`;

/** A listener's forward weights per color, read straight from moto (not through the adapter). */
async function forwardWeights(elbv2: ElasticLoadBalancingV2Client, arn: string, groups: { blue: string; green: string }): Promise<TrafficWeights> {
    const actions = (await elbv2.send(new DescribeListenersCommand({ ListenerArns: [arn] }))).Listeners![0].DefaultActions ?? [];
    assert.strictEqual(actions.length, 1, `listener ${arn} has one default action`);
    const tuples = actions[0].ForwardConfig?.TargetGroups ?? [];
    const weightOf = (g: string) => tuples.filter((t) => t.TargetGroupArn === g).reduce((a, t) => a + (t.Weight ?? 0), 0);
    assert.ok(
        tuples.every((t) => t.TargetGroupArn === groups.blue || t.TargetGroupArn === groups.green),
        `listener ${arn} forwards only to blue or green: ${JSON.stringify(tuples)}`,
    );
    return { blue: weightOf(groups.blue), green: weightOf(groups.green) };
}

/** A clock one minute further on at every call, from a whole second: each call ends one window. */
class MinuteClock {
    calls = 0;
    constructor(readonly base: number) {}
    tick(n: number): Date {
        return new Date(this.base + n * 60_000);
    }
    readonly now = (): Date => this.tick(++this.calls);
}

describe("cutover aws: a whole cutover driven against moto", function () {
    this.timeout(30_000);
    const moto = useMoto();
    let elbv2: ElasticLoadBalancingV2Client;
    let cloudwatch: CloudWatchClient;
    let rds: RDSClient;
    let lbArn: string;
    let blue: string;
    let green: string;
    let listenerArn: string;
    let testListenerArn: string;
    let server: http.Server;
    let testUrl: string;
    let probed = 0;

    async function targetGroup(name: string, vpcId: string, ip: string): Promise<string> {
        const r = await elbv2.send(new CreateTargetGroupCommand({ Name: name, Protocol: "HTTP", Port: 8080, VpcId: vpcId, TargetType: "ip" }));
        const arn = r.TargetGroups![0].TargetGroupArn!;
        await elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: ip, Port: 8080 }] }));
        return arn;
    }

    /**
     * Seeds one color's ALB metrics for the window ending at `end`: the datapoints sit 100 ms before
     * it, inside the gate's 200 ms window (moto truncates the query's times to whole seconds, so it
     * reads [end - 1 s, end); AWS would read [end - 200 ms, end)).
     */
    async function seed(group: string, end: Date, m: { requests: number; errors5xx: number; latencySeconds: number; msBefore?: number }): Promise<void> {
        const at = new Date(end.getTime() - (m.msBefore ?? 100));
        const dimensions = [
            { Name: "TargetGroup", Value: targetGroupDimension(group) },
            { Name: "LoadBalancer", Value: loadBalancerDimension(lbArn) },
        ];
        const datum = (MetricName: string, Value: number, Unit: "Count" | "Seconds") => ({ MetricName, Value, Unit, Timestamp: at, Dimensions: dimensions });
        await cloudwatch.send(
            new PutMetricDataCommand({
                Namespace: "AWS/ApplicationELB",
                MetricData: [
                    datum("RequestCount", m.requests, "Count"),
                    datum("HTTPCode_Target_5XX_Count", m.errors5xx, "Count"),
                    datum("TargetConnectionErrorCount", 0, "Count"),
                    datum("TargetResponseTime", m.latencySeconds, "Seconds"),
                ],
            }),
        );
    }

    /** Metrics that must never reach the gate: blue's (the other color), and green's just before the window. */
    async function seedDecoys(end: Date): Promise<void> {
        await seed(blue, end, { requests: 1000, errors5xx: 900, latencySeconds: 9 });
        await seed(green, end, { requests: 1000, errors5xx: 900, latencySeconds: 9, msBefore: 30_000 });
    }

    const GATE: Partial<GateSpec> = { intervalMs: 200, minRequests: 100, minSuccessRate: 0.99, maxLatencyMs: 500, failureLimit: 1, inconclusiveLimit: 1, windowsPerStep: 1 };

    before(async function () {
        this.timeout(60_000);
        const conn = { region: "us-east-1", endpoint: moto.server.endpoint };
        elbv2 = new ElasticLoadBalancingV2Client(conn);
        cloudwatch = new CloudWatchClient(conn);
        rds = new RDSClient(conn);

        const alb = await motoAlb(moto.server.endpoint, elbv2, 30);
        const vpcId = alb.vpcId;
        lbArn = alb.lbArn;
        blue = await targetGroup("shop-blue", vpcId, "10.30.0.10");
        green = await targetGroup("shop-green", vpcId, "10.30.1.10");
        listenerArn = (await elbv2.send(new CreateListenerCommand({ LoadBalancerArn: lbArn, Protocol: "HTTP", Port: 80, DefaultActions: forward([blue, 100], [green, 0]) })))
            .Listeners![0].ListenerArn!;
        testListenerArn = (await elbv2.send(new CreateListenerCommand({ LoadBalancerArn: lbArn, Protocol: "HTTP", Port: 8080, DefaultActions: forward([green, 1]) })))
            .Listeners![0].ListenerArn!;

        await motoDb(rds, "shop-prod");

        // The test listener's URL: moto's ALB serves no traffic, so a local server answers for green.
        server = http.createServer((_req, res) => {
            probed++;
            res.end("green ok");
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        testUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    });

    after(async () => {
        server?.closeAllConnections();
        await new Promise((r) => (server ? server.close(r) : r(undefined)));
    });

    /** Blue live: what `up` leaves before a cutover to green. */
    beforeEach(async () => {
        await elbv2.send(new ModifyListenerCommand({ ListenerArn: listenerArn, DefaultActions: forward([blue, 100], [green, 0]) }));
        await elbv2.send(new ModifyListenerCommand({ ListenerArn: testListenerArn, DefaultActions: forward([green, 1]) }));
        probed = 0;
    });

    /** A port on moto and a store over the same listeners, with a shared timeline. */
    function setUp(clock: MinuteClock) {
        const timeline: Entry[] = [];
        const outputs = { listenerArn, testListenerArn, targetGroupArns: { blue, green }, testUrl, databaseIdentifier: "shop-prod" };
        const store = new ListenerStore(elbv2, outputs, timeline);
        const port = new AwsCutoverPort(store, outputs, {
            stackName: 'stack "prod"',
            elbv2,
            cloudwatch,
            rds,
            now: clock.now,
            pretestRequests: 5,
            backupMaxWaitSeconds: 20,
            backupPollSeconds: 1,
        });
        const events: CutoverEvent[] = [];
        const onEvent = (e: CutoverEvent) => {
            events.push(e);
            timeline.push(e.type === "applied" ? `applied ${w(e.served)}` : e.type === "done" ? `done ${e.phase}` : e.type);
        };
        return { timeline, store, port, events, onEvent };
    }

    const wholeSecondsAgo = (ms: number) => Math.floor((Date.now() - ms) / 1000) * 1000;
    const applied = (events: CutoverEvent[]) => events.flatMap((e) => (e.type === "applied" ? [e.served] : []));

    it("promotes green through 50 and 100 on healthy metrics: pretest, RDS backup, listener read back at each step", async () => {
        // Calls of the port's clock: 1 the backup's name, 2 and 3 the ends of the two windows.
        const clock = new MinuteClock(wholeSecondsAgo(3 * 3600_000));
        for (const n of [2, 3]) {
            await seed(green, clock.tick(n), { requests: 200, errors5xx: 0, latencySeconds: 0.02 });
            await seedDecoys(clock.tick(n));
        }
        const { store, port, events, onEvent, timeline } = setUp(clock);

        const state = await store.readState();
        const plan = makePlan({ current: state.weights, steps: [50, 100], gate: GATE, pretest: true, backup: true });
        assert.strictEqual(plan.to, "green");
        const first = start(plan, state.weights, "cutover-e2e-promote", new Date().toISOString());
        const final = await drive(port, plan, first, { onEvent });

        assert.strictEqual(final.phase, "promoted", `reason: ${final.reason}; events: ${JSON.stringify(events)}`);
        assert.deepStrictEqual(final.weights, { blue: 0, green: 100 });
        assert.deepStrictEqual(
            events.map((e) => e.type),
            ["started", "pretest", "backup", "step", "applied", "sample", "verdict", "step", "applied", "sample", "verdict", "done"],
        );

        // What the load balancer in moto forwards now, read without the adapter.
        assert.deepStrictEqual(await forwardWeights(elbv2, listenerArn, { blue, green }), { blue: 0, green: 100 });
        assert.deepStrictEqual(await forwardWeights(elbv2, testListenerArn, { blue, green }), { blue: 1, green: 0 }, "the test listener reaches blue, idle now");

        // The read-backs the engine judged, step by step.
        assert.deepStrictEqual(applied(events), [
            { blue: 50, green: 50 },
            { blue: 0, green: 100 },
        ]);

        // The gate saw green's seeded windows: not blue's metrics, not green's before the window.
        const samples = events.flatMap((e) => (e.type === "sample" ? [e.sample] : []));
        assert.deepStrictEqual(
            samples.map((s) => ({ ...s, latencyMs: Math.round(s.latencyMs! * 1000) / 1000 })),
            [1, 2].map(() => ({ color: "green", requests: 200, errors: 0, latencyMs: 20, healthy: true, windowMs: 200 })),
        );
        const verdicts = events.flatMap((e) => (e.type === "verdict" ? [e.verdict.outcome] : []));
        assert.deepStrictEqual(verdicts, ["pass", "pass"]);

        // The pretest probed the test URL, after checking the test listener reaches green.
        const pretest = events.find((e) => e.type === "pretest");
        assert.ok(pretest?.type === "pretest" && pretest.verdict.outcome === "pass", JSON.stringify(pretest));
        assert.strictEqual(probed, 5);

        // The backup snapshot, named by the port's clock, is in RDS (moto).
        const name = backupSnapshotName("shop-prod", clock.tick(1));
        assert.strictEqual(final.backup, name);
        assert.deepStrictEqual(
            events.flatMap((e) => (e.type === "backup" ? [e.name] : [])),
            [name],
        );
        const snaps = (await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: name }))).DBSnapshots ?? [];
        assert.deepStrictEqual(
            snaps.map((s) => [s.DBSnapshotIdentifier, s.DBInstanceIdentifier, s.Status, s.SnapshotType]),
            [[name, "shop-prod", "available", "manual"]],
        );
        assert.strictEqual(clock.calls, 3, "the port read its clock for the backup and two windows");

        // The stack went through each step, then recorded the end.
        assert.deepStrictEqual(
            store.applies.map((a) => [w(a.weights), a.phase]),
            [
                ["50/50", "stepping"],
                ["0/100", "stepping"],
            ],
        );
        assert.deepStrictEqual(
            store.records.map((c) => [c.id, c.phase, w(c.weights)]),
            [["cutover-e2e-promote", "promoted", "0/100"]],
        );
        const after = await store.readState();
        assert.deepStrictEqual([after.weights, after.checkpoint?.phase], [{ blue: 0, green: 100 }, "promoted"]);
        assert.strictEqual(timeline[timeline.length - 1], "store.record promoted");
    });

    it("reverts at once through ModifyListener when green's 5xx fail the gate, then brings the stack along", async () => {
        // Calls of the port's clock: 1 the end of the first window. A second, healthy window would
        // let the cutover go on, were it read instead of the first.
        const clock = new MinuteClock(wholeSecondsAgo(2 * 3600_000));
        await seed(green, clock.tick(1), { requests: 200, errors5xx: 30, latencySeconds: 0.02 });
        await seed(green, clock.tick(2), { requests: 200, errors5xx: 0, latencySeconds: 0.02 });
        await seedDecoys(clock.tick(1));
        const { store, port, events, onEvent, timeline } = setUp(clock);

        const state = await store.readState();
        const plan = makePlan({ current: state.weights, steps: [50, 100], gate: GATE, pretest: false, backup: false });
        const first = start(plan, state.weights, "cutover-e2e-revert", new Date().toISOString());
        const final = await drive(port, plan, first, { onEvent });

        assert.strictEqual(final.phase, "reverted", `reason: ${final.reason}; events: ${JSON.stringify(events)}`);
        assert.strictEqual(
            final.reason,
            "gate failed at green 50%: success rate 85.00% < 99.00% (30 of 200 requests failed; conclusive by the sequential test, false alarms ≤ 0.05% of windows)",
        );
        assert.deepStrictEqual(final.weights, { blue: 100, green: 0 });
        assert.strictEqual(clock.calls, 1, "one window was observed");

        assert.deepStrictEqual(await forwardWeights(elbv2, listenerArn, { blue, green }), { blue: 100, green: 0 });
        assert.deepStrictEqual(await forwardWeights(elbv2, testListenerArn, { blue, green }), { blue: 0, green: 1 }, "the test listener reaches green, idle again");

        // The step's read-back, the immediate one after ModifyListener, then the one after the stack's apply.
        assert.deepStrictEqual(applied(events), [
            { blue: 50, green: 50 },
            { blue: 100, green: 0 },
            { blue: 100, green: 0 },
        ]);
        assert.deepStrictEqual(timeline, [
            "started",
            "step",
            // The intent first, then the listener (ModifyListener), read back; the stack's up runs in
            // the background while the window is observed: the listener already serves the step.
            "store.intent apply",
            "applied 50/50",
            "store.apply 50/50 (listener was 50/50)",
            "sample",
            "verdict",
            "revert",
            "store.intent revert",
            // applyNow: traffic back on blue in moto before the stack is touched.
            "applied 100/0",
            "store.apply 100/0 (listener was 100/0)",
            "applied 100/0",
            "done reverted",
            "store.record reverted",
        ]);
        assert.deepStrictEqual(
            store.applies.map((a) => [w(a.weights), a.phase]),
            [
                ["50/50", "stepping"],
                ["100/0", "reverting"],
            ],
        );
        const sample = events.find((e) => e.type === "sample");
        assert.ok(sample?.type === "sample");
        assert.deepStrictEqual({ ...sample.sample, latencyMs: Math.round(sample.sample.latencyMs! * 1000) / 1000 }, {
            color: "green",
            requests: 200,
            errors: 30,
            latencyMs: 20,
            healthy: true,
            windowMs: 200,
        });
        assert.strictEqual(probed, 0, "no pretest was asked for");
        assert.deepStrictEqual(
            store.records.map((c) => [c.id, c.phase, c.reason]),
            [["cutover-e2e-revert", "reverted", final.reason]],
        );
    });
});
