/**
 * The local adapter: HAProxy's runtime API and stats for weights and samples, PostgreSQL snapshots
 * for the backup, and the stack (config + `up`) for every change of weights.
 */
import { readWeights, serverStats, setIdle, setWeights } from "../components/local/ops/haproxy";
import { idleColor } from "../components/types";
import { snapshotStack } from "../stack/snapshot";
import { StackTarget, UserError } from "../stack/run";
import { probe } from "./probe";
import { pause } from "./run";
import { StackBackedPort, StackStore } from "./stackState";
import { Color, CutoverPort, Sample, TrafficWeights } from "./types";

export class LocalCutoverPort extends StackBackedPort implements CutoverPort {
    readonly platform = "local";
    private readonly adminSocket: string;
    private readonly testUrl: string;

    /**
     * @param store the stack's weights and checkpoint
     * @param target the stack, for snapshots
     * @param outputs the stack's outputs (`adminSocket`, `testUrl`)
     */
    constructor(
        store: StackStore,
        private readonly target: StackTarget,
        outputs: Record<string, unknown>,
    ) {
        super(store);
        if (typeof outputs.adminSocket !== "string" || typeof outputs.testUrl !== "string") {
            throw new UserError(`stack "${target.stackName}" has no router outputs (adminSocket, testUrl): run \`switchyard up ${target.stackName}\` first`);
        }
        this.adminSocket = outputs.adminSocket;
        this.testUrl = outputs.testUrl;
    }

    async servedWeights(): Promise<TrafficWeights> {
        return readWeights(this.adminSocket);
    }

    /** HAProxy's runtime API: weights and the test frontend's idle color, in milliseconds. */
    async applyNow(weights: TrafficWeights): Promise<void> {
        await setWeights(this.adminSocket, weights);
        await setIdle(this.adminSocket, idleColor(weights));
    }

    /** Difference of HAProxy's per-server counters across the window. */
    async sample(color: Color, windowMs: number, signal?: AbortSignal): Promise<Sample> {
        const before = (await serverStats(this.adminSocket))[color];
        await pause(windowMs, signal);
        const after = (await serverStats(this.adminSocket))[color];
        const requests = Math.max(0, after.requests - before.requests);
        return {
            color,
            requests,
            errors: Math.max(0, after.errors - before.errors),
            latencyMs: requests > 0 ? after.rtimeMs : undefined,
            healthy: after.status.startsWith("UP"),
            windowMs,
        };
    }

    pretest(color: Color): Promise<Sample> {
        return probe(this.testUrl, color);
    }

    async backup(): Promise<string> {
        return (await snapshotStack(this.target, { name: `${this.target.stackName}-pre-cutover-${stamp()}` })).name;
    }
}

const stamp = () => new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
