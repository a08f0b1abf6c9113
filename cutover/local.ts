/**
 * The local adapter: HAProxy's runtime API and stats for weights and samples, PostgreSQL snapshots
 * for the backup, and the stack (config + `up`) for every change of weights.
 */
import { readWeights, serverStats, setIdle, setWeights } from "../components/local/ops/haproxy";
import { idleColor } from "../components/types";
import { snapshotStack, utcStamp } from "../stack/snapshot";
import { StackTarget, UserError } from "../stack/run";
import { probe } from "./probe";
import { pause } from "./run";
import { StackBackedPort, StackStore } from "./stackState";
import { Color, CutoverPort, Sample, TrafficWeights } from "./types";

export class LocalCutoverPort extends StackBackedPort implements CutoverPort {
    readonly platform = "local";
    private readonly adminSocket: string;
    private readonly testUrl: string;
    private readonly appPorts?: Partial<Record<Color, number>>;

    /**
     * @param store the stack's weights and checkpoint
     * @param target the stack, for snapshots
     * @param outputs the stack's outputs (`adminSocket`, `testUrl`, and `appPorts` for latency probes)
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
        this.appPorts = outputs.appPorts as Partial<Record<Color, number>> | undefined;
    }

    async servedWeights(): Promise<TrafficWeights> {
        return readWeights(this.adminSocket);
    }

    /** HAProxy's runtime API: weights and the test frontend's idle color, in milliseconds. */
    async applyNow(weights: TrafficWeights): Promise<void> {
        await setWeights(this.adminSocket, weights);
        await setIdle(this.adminSocket, idleColor(weights));
    }

    /**
     * Requests and errors: the difference of HAProxy's per-server counters across the window (the
     * live traffic). Latency: the mean of probes sent straight to the color during the window, because
     * HAProxy's `rtime` averages over the server's last 1,024 requests and hardly moves in a short
     * window; without the app's port, `rtime` it is.
     */
    async sample(color: Color, windowMs: number, signal?: AbortSignal): Promise<Sample> {
        const before = (await serverStats(this.adminSocket))[color];
        const port = this.appPorts?.[color];
        const [probed] = await Promise.all([port ? probeSpread(`http://127.0.0.1:${port}/`, windowMs, 5, signal) : Promise.resolve(undefined), pause(windowMs, signal)]);
        const after = (await serverStats(this.adminSocket))[color];
        const requests = Math.max(0, after.requests - before.requests);
        return {
            color,
            requests,
            errors: Math.max(0, after.errors - before.errors),
            latencyMs: requests > 0 ? (probed ?? after.rtimeMs) : undefined,
            healthy: after.status.startsWith("UP"),
            windowMs,
        };
    }

    pretest(color: Color): Promise<Sample> {
        return probe(this.testUrl, color);
    }

    async backup(): Promise<string> {
        return (await snapshotStack(this.target, { name: `${this.target.stackName}-pre-cutover-${utcStamp()}` })).name;
    }
}

/** Mean time of `count` GETs spread over the window (a request's time counts even when it fails). */
async function probeSpread(url: string, windowMs: number, count: number, signal?: AbortSignal): Promise<number | undefined> {
    const times: number[] = [];
    const gap = windowMs / (count + 1);
    await Promise.all(
        Array.from({ length: count }, async (_, i) => {
            try {
                await pause(gap * (i + 1), signal);
            } catch {
                return;
            }
            const t0 = performance.now();
            try {
                const r = await fetch(url, { signal: AbortSignal.timeout(Math.max(windowMs, 5000)) });
                await r.arrayBuffer();
            } catch {
                /* its time still counts */
            }
            times.push(performance.now() - t0);
        }),
    );
    return times.length > 0 ? times.reduce((a, b) => a + b, 0) / times.length : undefined;
}

