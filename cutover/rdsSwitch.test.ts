/**
 * The AWS switch of an `rds-blue-green` pair (`rdsSwitch.ts`): the pure judgements (plan, lag gate,
 * timeout, progress), then the switch against a real moto server: RDS (instances, a blue/green
 * deployment, SwitchoverBlueGreenDeployment), CloudWatch (ReplicaLag through GetMetricData) and the
 * router (an ALB listener, set and read back through the AWS cutover port).
 *
 * What moto plays and what it does not (each stand-in is named in its test's title):
 * - moto switches a deployment over at once: the call answers SWITCHOVER_IN_PROGRESS, the next
 *   describe says SWITCHOVER_COMPLETED, the source is renamed `<name>-old1` and the target takes its
 *   name. It takes SwitchoverTimeout and ignores it, runs none of RDS's guardrails, never fails and
 *   never rolls back: SWITCHOVER_FAILED is stood in for by rewriting moto's describe answer.
 * - moto replicates nothing and publishes no RDS metrics: the green instance's `ReplicaLag` is put
 *   by the test (PutMetricData in AWS/RDS, which AWS itself reserves to RDS).
 */
import * as assert from "assert";
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { Action as ListenerAction, CreateListenerCommand, CreateTargetGroupCommand, ElasticLoadBalancingV2Client, RegisterTargetsCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { RDSClient } from "@aws-sdk/client-rds";
import { createBlueGreen, describeBlueGreen, describeInstance, switchoverBlueGreen, waitForBlueGreen } from "../components/aws/rdsApi";
import { motoAlb, motoDb, useMoto } from "../test/support/moto";
import { AwsCutoverPort } from "./aws";
import { makePlan, operatorRevert, resume, start } from "./core";
import { formatEvent } from "./display";
import { DbSwitchRefused } from "./dbswitch";
import { rdsDatabaseSwitch } from "./rdsSwitch";
import {
    checkRdsBlueGreenSteps,
    cutoverDatabaseMode,
    DEFAULT_SWITCHOVER_TIMEOUT_SECONDS,
    instanceIdOfArn,
    judgeReplicaLag,
    latestDatapoint,
    switchoverProgress,
    switchoverTimeoutOf,
} from "./rdsSwitchPlan";
import { drive } from "./run";
import type { StackState, StackStore } from "./stackState";
import type { DatabaseSwitch } from "./switchStep";
import type { Checkpoint, CutoverEvent, CutoverPort, TrafficWeights } from "./types";

const BLUE = { blue: 100, green: 0 };

describe("rds-blue-green switchover: the judgements (pure)", () => {
    it("the plan: one step to 100, a gradual shift refused saying why", () => {
        assert.deepStrictEqual(makePlan({ current: BLUE, databaseMode: "rds-blue-green" }).steps, [100]);
        assert.throws(() => makePlan({ current: BLUE, steps: [10, 50, 100], databaseMode: "rds-blue-green" }), /refused for database mode "rds-blue-green": the database moves in one RDS switchover.*no switchback; at 10, 50% the new color would be judged against the old database/);
        assert.throws(() => makePlan({ current: BLUE, steps: "canary-10", databaseMode: "rds-blue-green" }), /one RDS switchover/);
        assert.strictEqual(checkRdsBlueGreenSteps([100]), undefined);
        assert.deepStrictEqual(makePlan({ current: BLUE, steps: [10, 100] }).steps, [10, 100], "a shared database takes any plan");
    });

    it("the mode: rds-blue-green when the AWS pair exports a deployment, else its databaseMode output", () => {
        assert.strictEqual(cutoverDatabaseMode({ rdsBlueGreenDeploymentId: "bgd-abc" }), "rds-blue-green");
        assert.strictEqual(cutoverDatabaseMode({ rdsBlueGreenDeploymentId: "" }), undefined);
        assert.strictEqual(cutoverDatabaseMode({}), undefined);
        assert.strictEqual(cutoverDatabaseMode({ databaseMode: "replicated" }), "replicated");
    });

    it("the lag gate: over the limit refused with the lag, at or under it passed, no datapoint refused as unknown", () => {
        const at = new Date("2026-11-30T12:00:00Z");
        const over = judgeReplicaLag({ instance: "shop-db-green-abc", seconds: 120, at }, 30);
        assert.strictEqual(over.ok, false);
        assert.match(over.message, /shop-db-green-abc is 120 s behind blue \(ReplicaLag .* at 12:00:00 UTC; limit 30 s\): the switchover waits/);
        assert.strictEqual(judgeReplicaLag({ instance: "g", seconds: 30, at }, 30).ok, true);
        assert.strictEqual(judgeReplicaLag({ instance: "g", seconds: 0 }).ok, true);
        const none = judgeReplicaLag({ instance: "g" });
        assert.strictEqual(none.ok, false);
        assert.match(none.message, /no replica lag was reported for the green instance g/);
    });

    it("the latest datapoint, whatever the order", () => {
        const t = (s: number) => new Date(Date.UTC(2026, 10, 30, 12, 0, s));
        assert.deepStrictEqual(latestDatapoint([t(1), t(30), t(10)], [5, 0, 9]), { value: 0, at: t(30) });
        assert.strictEqual(latestDatapoint([], []), undefined);
        assert.strictEqual(latestDatapoint(undefined, undefined), undefined);
    });

    it("the timeout: seconds or a duration in 30..3600, else an error naming the key and the value", () => {
        assert.strictEqual(switchoverTimeoutOf(undefined), DEFAULT_SWITCHOVER_TIMEOUT_SECONDS);
        assert.strictEqual(switchoverTimeoutOf({ steps: [100] }), 300);
        assert.strictEqual(switchoverTimeoutOf({ switchoverTimeout: 90 }), 90);
        assert.strictEqual(switchoverTimeoutOf({ switchoverTimeout: "2m" }), 120);
        assert.strictEqual(switchoverTimeoutOf({ switchoverTimeout: "1h" }), 3600);
        assert.match(String(switchoverTimeoutOf({ switchoverTimeout: 10 })), /^switchyard:cutover\.switchoverTimeout: 10 is not a whole number of seconds from 30 to 3600/);
        assert.match(String(switchoverTimeoutOf({ switchoverTimeout: "2h" })), /switchyard:cutover\.switchoverTimeout: "2h"/);
        assert.match(String(switchoverTimeoutOf({ switchoverTimeout: "soon" })), /switchyard:cutover\.switchoverTimeout is "soon"/);
        assert.match(String(switchoverTimeoutOf({ switchoverTimeout: 45.5 })), /45\.5 is not a whole number/);
    });

    it("a switchover's progress: completed, failed states named, a rollback to AVAILABLE named, else waiting", () => {
        const o = { seenInProgress: false, elapsedMs: 1000, timeoutSeconds: 300 };
        assert.deepStrictEqual(switchoverProgress({ status: "SWITCHOVER_COMPLETED" }, o), { done: true });
        assert.deepStrictEqual(switchoverProgress({ status: "SWITCHOVER_IN_PROGRESS" }, o), { done: false, state: "SWITCHOVER_IN_PROGRESS" });
        assert.deepStrictEqual(switchoverProgress({ status: "AVAILABLE" }, o), { done: false, state: "AVAILABLE" }, "RDS has not started yet");
        for (const s of ["SWITCHOVER_FAILED", "INVALID_CONFIGURATION"]) {
            const p = switchoverProgress({ status: s, statusDetails: "replication degraded" }, o);
            assert.ok(!p.done && p.failed === `its status is ${s} (replication degraded)`, JSON.stringify(p));
        }
        const rolledBack = switchoverProgress({ status: "AVAILABLE" }, { ...o, seenInProgress: true });
        assert.ok(!rolledBack.done && /rolled the switchover back .*SwitchoverTimeout 300 s.*nothing moved/.test(rolledBack.failed ?? ""), JSON.stringify(rolledBack));
        const late = switchoverProgress({ status: "AVAILABLE" }, { ...o, elapsedMs: 301_000 });
        assert.ok(!late.done && /rolled the switchover back/.test(late.failed ?? ""));
        assert.ok(!switchoverProgress(undefined, o).done);
    });

    it("the instance of an ARN; a cluster's refused", () => {
        assert.strictEqual(instanceIdOfArn("arn:aws:rds:us-east-1:123456789012:db:shop-db-green-abcdef"), "shop-db-green-abcdef");
        assert.throws(() => instanceIdOfArn("arn:aws:rds:us-east-1:123456789012:cluster:shop"), /not a DB instance ARN/);
    });

    it("the switchover event as an operator line: an RDS switchover, and a revert that moved the router only", () => {
        const at = "2026-11-30T12:00:00.000Z";
        const moved = formatEvent({ type: "switchover", at, from: "blue", to: "green", pauseMs: 800, refusedWrites: 0, lag: "0 s: within the limit", detail: "RDS blue/green deployment bgd-1 switched over" });
        assert.strictEqual(moved, "12:00:00 switchover blue → green: RDS blue/green deployment bgd-1 switched over (lag before: 0 s: within the limit)");
        const kept = formatEvent({ type: "switchover", at, from: "green", to: "blue", pauseMs: 0, refusedWrites: 0, lag: "not read", databaseMoved: false, detail: "router only, the database NOT moved: RDS has no switchback" });
        assert.strictEqual(kept, "12:00:00 switchover green → blue: router only, the database NOT moved: RDS has no switchback");
    });
});

describe("rds-blue-green switchover against moto: lag gate, SwitchoverBlueGreenDeployment, router, no switchback", function () {
    this.timeout(60_000);
    const moto = useMoto();
    let rds: RDSClient;
    let cloudwatch: CloudWatchClient;
    let port: AwsCutoverPort;
    let elbv2: ElasticLoadBalancingV2Client;
    let outputs: { listenerArn: string; targetGroupArns: { blue: string; green: string } };
    let deploymentId: string;
    let greenInstance: string;
    /** SwitchoverBlueGreenDeployment requests as sent. */
    const switchovers: Record<string, unknown>[] = [];
    /** A fixed clock ten minutes back, so every datapoint the test puts is in the past. */
    const T = Math.floor(Date.now() / 1000) * 1000 - 10 * 60_000;

    const forward = (...groups: [string, number][]): ListenerAction[] => [
        { Type: "forward", ForwardConfig: { TargetGroups: groups.map(([TargetGroupArn, Weight]) => ({ TargetGroupArn, Weight })) } },
    ];

    /** The green instance's ReplicaLag, put as RDS would publish it. */
    async function putLag(instance: string, seconds: number, at: Date): Promise<void> {
        await cloudwatch.send(
            new PutMetricDataCommand({
                Namespace: "AWS/RDS",
                MetricData: [{ MetricName: "ReplicaLag", Value: seconds, Unit: "Seconds", Timestamp: at, Dimensions: [{ Name: "DBInstanceIdentifier", Value: instance }] }],
            }),
        );
    }

    const switchAt = (ms: number, extra: Partial<Parameters<typeof rdsDatabaseSwitch>[1]> = {}): DatabaseSwitch =>
        rdsDatabaseSwitch(
            { rdsBlueGreenDeploymentId: deploymentId },
            { route: (w) => port.applyNow(w), rds, cloudwatch, switchoverTimeoutSeconds: 120, pollMs: 100, now: () => new Date(T + ms), ...extra },
        )!;

    before(async function () {
        this.timeout(60_000);
        const conn = { region: "us-east-1", endpoint: moto.server.endpoint };
        rds = new RDSClient(conn);
        cloudwatch = new CloudWatchClient(conn);
        elbv2 = new ElasticLoadBalancingV2Client(conn);
        rds.middlewareStack.add(
            (next, context) => async (args) => {
                if (context.commandName === "SwitchoverBlueGreenDeploymentCommand") switchovers.push(args.input as Record<string, unknown>);
                return next(args);
            },
            { step: "initialize", name: "recordSwitchovers" },
        );

        // The router: an ALB listener forwarding to both colors' target groups, all on blue.
        const { vpcId, lbArn } = await motoAlb(moto.server.endpoint, elbv2, 31);
        const group = async (name: string, ip: string) => {
            const arn = (await elbv2.send(new CreateTargetGroupCommand({ Name: name, Protocol: "HTTP", Port: 8080, VpcId: vpcId, TargetType: "ip" }))).TargetGroups![0].TargetGroupArn!;
            await elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: ip, Port: 8080 }] }));
            return arn;
        };
        const blue = await group("shop-blue", "10.31.0.10");
        const green = await group("shop-green", "10.31.1.10");
        const listenerArn = (await elbv2.send(new CreateListenerCommand({ LoadBalancerArn: lbArn, Protocol: "HTTP", Port: 80, DefaultActions: forward([blue, 100], [green, 0]) }))).Listeners![0].ListenerArn!;
        // Only the router is used: the store (the stack) is never reached.
        outputs = { listenerArn, targetGroupArns: { blue, green } };
        port = new AwsCutoverPort({} as StackStore, outputs, { elbv2, cloudwatch, rds });

        // Production and its blue/green deployment, created (as the stack's update does) and AVAILABLE.
        await motoDb(rds, "shop-db");
        const source = await describeInstance(rds, "shop-db");
        const created = await createBlueGreen(rds, { name: "shop-db-bluegreen", sourceArn: source!.arn!, targetEngineVersion: "17.2" });
        const ready = await waitForBlueGreen(rds, created.identifier, "AVAILABLE", { intervalMs: 100, timeoutMs: 10_000 });
        deploymentId = created.identifier;
        greenInstance = instanceIdOfArn(ready.target!);
    });

    it("no ReplicaLag datapoint: refused, naming that no lag was reported; nothing moved", async () => {
        await assert.rejects(switchAt(0).switchover("blue", "green"), (e: Error) => {
            assert.ok(e instanceof DbSwitchRefused, String(e));
            assert.match(e.message, new RegExp(`switchover from blue to green refused: no replica lag was reported for the green instance ${greenInstance}`));
            return true;
        });
        assert.strictEqual((await describeBlueGreen(rds, deploymentId))?.status, "AVAILABLE");
        assert.strictEqual(switchovers.length, 0);
        assert.deepStrictEqual(await port.servedWeights(), BLUE);
    });

    it("ReplicaLag 120 s: refused with 120 in the message; the deployment untouched, the router where it stood", async () => {
        await putLag(greenInstance, 120, new Date(T - 30_000));
        await putLag("shop-db", 0, new Date(T - 20_000)); // blue's own metric: never the gate's
        await assert.rejects(switchAt(0).switchover("blue", "green"), (e: Error) => {
            assert.ok(e instanceof DbSwitchRefused, String(e));
            assert.match(e.message, new RegExp(`refused: the green instance ${greenInstance} is 120 s behind blue .*limit 30 s\\): the switchover waits until it catches up`));
            return true;
        });
        const b = await describeBlueGreen(rds, deploymentId);
        assert.strictEqual(b?.status, "AVAILABLE");
        assert.strictEqual(instanceIdOfArn(b!.target!), greenInstance);
        assert.notStrictEqual((await describeInstance(rds, "shop-db"))?.engineVersion, "17.2", "production is still blue's instance");
        assert.ok(await describeInstance(rds, greenInstance), "the green instance keeps its name");
        assert.strictEqual(switchovers.length, 0, "SwitchoverBlueGreenDeployment never called");
        assert.deepStrictEqual(await port.servedWeights(), BLUE);
    });

    it("ReplicaLag 0 s: SwitchoverBlueGreenDeployment with its timeout (moto switches at once and ignores the timeout), then the router 0/100", async () => {
        const blueVersion = (await describeInstance(rds, "shop-db"))?.engineVersion;
        await putLag(greenInstance, 0, new Date(T + 90_000));
        const r = await switchAt(120_000).switchover("blue", "green");
        assert.strictEqual(r.databaseMoved, undefined);
        assert.match(r.lag, /is 0 s behind blue.*within the limit/);
        assert.match(r.detail ?? "", new RegExp(`deployment ${deploymentId} switched over in .* s \\(SwitchoverTimeout 120 s.*production as shop-db; replication has stopped: RDS has no switchback`));
        assert.deepStrictEqual(switchovers, [{ BlueGreenDeploymentIdentifier: deploymentId, SwitchoverTimeout: 120 }]);
        const b = await describeBlueGreen(rds, deploymentId);
        assert.strictEqual(b?.status, "SWITCHOVER_COMPLETED");
        // moto renames as RDS does: green took production's name, blue is kept as -old1.
        assert.strictEqual((await describeInstance(rds, "shop-db"))?.engineVersion, "17.2");
        assert.strictEqual((await describeInstance(rds, "shop-db-old1"))?.engineVersion, blueVersion);
        assert.strictEqual(await describeInstance(rds, greenInstance), undefined);
        assert.deepStrictEqual(await port.servedWeights(), { blue: 0, green: 100 });
    });

    it("a revert after the switchover: no switchback; the router alone goes back, the database stays, and the report says so", async () => {
        const sw = switchAt(200_000);
        const r = await sw.switchover("green", "blue");
        assert.strictEqual(r.databaseMoved, false);
        assert.match(r.detail ?? "", /router only, the database NOT moved: deployment bgd-\w+ is SWITCHOVER_COMPLETED already, and RDS has no switchback: .*nothing replicates back to shop-db-old1, so switching the database back would lose the writes made since/);
        assert.strictEqual(switchovers.length, 1, "no second SwitchoverBlueGreenDeployment");
        assert.strictEqual((await describeBlueGreen(rds, deploymentId))?.status, "SWITCHOVER_COMPLETED");
        assert.strictEqual((await describeInstance(rds, "shop-db"))?.engineVersion, "17.2", "production is still the switched-over instance");
        assert.deepStrictEqual(await port.servedWeights(), BLUE);
        const lines = await sw.reconcile();
        assert.strictEqual(lines.length, 1);
        assert.match(lines[0], /^none since the switchover of RDS blue\/green deployment .*: RDS has no switchback/);
    });

    it("SWITCHOVER_FAILED (stood in for: moto never fails a switchover, so its describe answer is rewritten) is named; the router not moved", async () => {
        await motoDb(rds, "shop-db2");
        const created = await createBlueGreen(rds, { name: "shop-db2-bluegreen", sourceArn: (await describeInstance(rds, "shop-db2"))!.arn! });
        const ready = await waitForBlueGreen(rds, created.identifier, "AVAILABLE", { intervalMs: 100, timeoutMs: 10_000 });
        await putLag(instanceIdOfArn(ready.target!), 0, new Date(T + 90_000));
        const failing = new RDSClient({ region: "us-east-1", endpoint: moto.server.endpoint });
        let called = false;
        failing.middlewareStack.add(
            (next, context) => async (args) => {
                const out = await next(args);
                if (context.commandName === "SwitchoverBlueGreenDeploymentCommand") called = true;
                if (context.commandName === "DescribeBlueGreenDeploymentsCommand" && called) {
                    const o = out.output as { BlueGreenDeployments?: { Status?: string; StatusDetails?: string }[] };
                    for (const d of o.BlueGreenDeployments ?? []) Object.assign(d, { Status: "SWITCHOVER_FAILED", StatusDetails: "Switchover failed: replica lag exceeded the timeout" });
                }
                return out;
            },
            { step: "initialize", name: "standInFailure" },
        );
        const sw = rdsDatabaseSwitch({ rdsBlueGreenDeploymentId: created.identifier }, { route: (w) => port.applyNow(w), rds: failing, cloudwatch, pollMs: 100, now: () => new Date(T + 120_000) })!;
        await assert.rejects(sw.switchover("blue", "green"), /switchover of RDS blue\/green deployment bgd-\w+ failed: its status is SWITCHOVER_FAILED \(Switchover failed: replica lag exceeded the timeout\)/);
        assert.ok(called);
        assert.deepStrictEqual(await port.servedWeights(), BLUE, "the router stays on blue");
    });
    it("through the driver: a cutover refused by the lag gate stops with nothing moved; at lag 0 one step promotes; the revert moves the router only", async () => {
        await motoDb(rds, "shop-db3");
        const created = await createBlueGreen(rds, { name: "shop-db3-bluegreen", sourceArn: (await describeInstance(rds, "shop-db3"))!.arn! });
        const ready = await waitForBlueGreen(rds, created.identifier, "AVAILABLE", { intervalMs: 100, timeoutMs: 10_000 });
        const green3 = instanceIdOfArn(ready.target!);
        const pairOutputs = { ...outputs, rdsBlueGreenDeploymentId: created.identifier };
        const store = new RecordingStore(pairOutputs);
        const pair = new AwsCutoverPort(store, pairOutputs, { elbv2, cloudwatch, rds });
        store.router = pair;
        let clock = T + 300_000;
        (pair as CutoverPort).databases = rdsDatabaseSwitch(pairOutputs, { route: (w) => pair.applyNow(w), rds, cloudwatch, pollMs: 100, now: () => new Date(clock) });
        // No traffic in moto's ALB: the one window after the step is judged on target health alone (1 s: moto reads whole seconds).
        const plan = makePlan({ current: BLUE, databaseMode: cutoverDatabaseMode(pairOutputs), pretest: false, backup: false, gate: { intervalMs: 1000, tickMs: 250, minRequests: 0, windowsPerStep: 1 } });
        assert.deepStrictEqual(plan.steps, [100]);
        const events: CutoverEvent[] = [];
        const onEvent = (e: CutoverEvent) => events.push(e);

        await putLag(green3, 120, new Date(clock - 30_000));
        const refused = await drive(pair, plan, start(plan, BLUE, "c1", new Date(T).toISOString()), { onEvent });
        assert.strictEqual(refused.phase, "failed", refused.reason);
        assert.match(refused.reason ?? "", /is 120 s behind blue/);
        assert.deepStrictEqual(store.log, ["intent switch 0/100"], "no up: nothing moved");
        assert.strictEqual((await describeBlueGreen(rds, created.identifier))?.status, "AVAILABLE");
        assert.deepStrictEqual(await pair.servedWeights(), BLUE);

        clock += 120_000;
        await putLag(green3, 0, new Date(clock - 30_000));
        const promoted = await drive(pair, plan, start(plan, BLUE, "c2", new Date(clock).toISOString()), { onEvent });
        assert.strictEqual(promoted.phase, "promoted", promoted.reason);
        assert.deepStrictEqual(store.log.slice(1), ["intent switch 0/100", "up 0/100 (router 0/100)"], "the switchover moved the router before up recorded it");
        assert.strictEqual((await describeBlueGreen(rds, created.identifier))?.status, "SWITCHOVER_COMPLETED");
        assert.strictEqual((await describeInstance(rds, "shop-db3-old1"))?.identifier, "shop-db3-old1");
        const sw = events.find((e) => e.type === "switchover");
        assert.ok(sw && sw.type === "switchover" && sw.databaseMoved === undefined && /switched over in/.test(sw.detail ?? ""), JSON.stringify(sw));

        const back = operatorRevert(await pair.servedWeights(), promoted, "c3", new Date(clock).toISOString());
        const reverted = await drive(pair, plan, back, { onEvent });
        assert.strictEqual(reverted.phase, "reverted", reverted.reason);
        assert.deepStrictEqual(store.log.slice(3), ["intent revert 100/0", "up 100/0 (router 100/0)"]);
        const kept = events.filter((e) => e.type === "switchover").at(-1);
        assert.ok(kept && kept.type === "switchover" && kept.databaseMoved === false && kept.from === "green" && kept.to === "blue", JSON.stringify(kept));
        assert.match(formatEvent(kept) ?? "", /switchover green → blue: router only, the database NOT moved: .*RDS has no switchback/);
        assert.strictEqual((await describeBlueGreen(rds, created.identifier))?.status, "SWITCHOVER_COMPLETED", "the database stays switched over");
        assert.deepStrictEqual(await pair.servedWeights(), BLUE);
    });
    it("resumed after a kill between the RDS switchover and the router: no second SwitchoverBlueGreenDeployment, the router follows, up records it", async () => {
        await motoDb(rds, "shop-db4");
        const created = await createBlueGreen(rds, { name: "shop-db4-bluegreen", sourceArn: (await describeInstance(rds, "shop-db4"))!.arn! });
        await waitForBlueGreen(rds, created.identifier, "AVAILABLE", { intervalMs: 100, timeoutMs: 10_000 });
        const pairOutputs = { ...outputs, rdsBlueGreenDeploymentId: created.identifier };
        const store = new RecordingStore(pairOutputs);
        const pair = new AwsCutoverPort(store, pairOutputs, { elbv2, cloudwatch, rds });
        store.router = pair;
        const sw = rdsDatabaseSwitch(pairOutputs, { route: (w) => pair.applyNow(w), rds, cloudwatch, pollMs: 100, now: () => new Date(T + 600_000) })!;
        (pair as CutoverPort).databases = sw;
        const plan = makePlan({ current: BLUE, databaseMode: "rds-blue-green", pretest: false, backup: false, gate: { intervalMs: 1000, tickMs: 250, minRequests: 0, windowsPerStep: 1 } });
        const first = start(plan, BLUE, "c1", new Date(T).toISOString());
        // The cutover recorded its switch intent and called SwitchoverBlueGreenDeployment, then was killed.
        await store.recordIntent({ action: "switch", weights: { blue: 0, green: 100 } });
        const before = switchovers.length;
        await switchoverBlueGreen(rds, created.identifier, { wait: false, switchoverTimeoutSeconds: 60 });
        assert.deepStrictEqual(await pair.servedWeights(), BLUE);

        assert.deepStrictEqual(await sw.reconcile(), [`none since the switchover of RDS blue/green deployment ${created.identifier}: RDS has no switchback: since the switchover of blue/green deployment ${created.identifier} nothing replicates back to shop-db4-old1, so switching the database back would lose the writes made since`]);
        const cp = await drive(pair, plan, resume(first.checkpoint, plan, new Date(T).toISOString()));
        assert.strictEqual(cp.phase, "promoted", cp.reason);
        assert.strictEqual(switchovers.length, before + 1, "only the call before the kill");
        assert.deepStrictEqual(store.log, ["intent switch 0/100", "intent switch 0/100", "up 0/100 (router 0/100)"]);
        assert.deepStrictEqual(await pair.servedWeights(), { blue: 0, green: 100 });
        await pair.applyNow(BLUE); // the listener back for any later test
    });
});

/**
 * Stand-in for the stack (its `up` cannot run offline: no AWS provider plugin): records intents and
 * applies, and reads the router back at each `up` (what the listener served when the stack recorded it).
 */
class RecordingStore implements StackStore {
    weights: TrafficWeights = { ...BLUE };
    checkpoint?: Checkpoint;
    readonly log: string[] = [];
    router?: { servedWeights(): Promise<TrafficWeights> };
    constructor(private readonly outputs: Record<string, unknown>) {}
    async readState(): Promise<StackState> {
        return { pair: "shop", platform: "aws", weights: this.weights, checkpoint: this.checkpoint, outputs: this.outputs };
    }
    async recordIntent(i: { action: string; weights?: TrafficWeights }): Promise<void> {
        this.log.push(`intent ${i.action}${i.weights ? ` ${i.weights.blue}/${i.weights.green}` : ""}`);
    }
    async apply(w: TrafficWeights, cp: Checkpoint): Promise<void> {
        const r = await this.router!.servedWeights();
        this.log.push(`up ${w.blue}/${w.green} (router ${r.blue}/${r.green})`);
        this.weights = w;
        this.checkpoint = cp;
    }
    async record(cp: Checkpoint): Promise<void> {
        this.checkpoint = cp;
    }
}
