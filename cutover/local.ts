/**
 * The local adapter: HAProxy's runtime API and stats for weights and samples, PostgreSQL snapshots
 * for the backup, and the stack (config + `up`) for every change of weights.
 */
import * as path from "path";
import { discardStalePartials } from "../components/local/ops/clone";
import { readWeights, serverStats, setIdle, setWeights } from "../components/local/ops/haproxy";
import { isAlive } from "../components/local/ops/proc";
import { idleColor } from "../components/types";
import { snapshotStack, utcStamp } from "../stack/snapshot";
import { StackTarget, UserError } from "../stack/run";
import { switchyardHome } from "../stack/env";
import { probe } from "./probe";
import { pause } from "./run";
import { StackBackedPort, StackStore } from "./stackState";
import { Checkpoint, Color, CutoverPort, Sample, TrafficWeights } from "./types";

export class LocalCutoverPort extends StackBackedPort implements CutoverPort {
    readonly platform = "local";
    private readonly adminSocket: string;
    private readonly testUrl: string;
    private readonly appPorts?: Partial<Record<Color, number>>;
    private readonly appPids?: Partial<Record<Color, number>>;
    private readonly snapshotRoot?: string;

    /**
     * @param store the stack's weights and checkpoint
     * @param target the stack, for snapshots
     * @param outputs the stack's outputs (`adminSocket`, `testUrl`, `appPorts` for latency probes, and
     *   `appPids` to tell a crashed color from a failing one)
     */
    constructor(
        store: StackStore,
        private readonly target: StackTarget,
        outputs: Record<string, unknown>,
        private readonly pair?: string,
    ) {
        super(store);
        if (typeof outputs.adminSocket !== "string" || typeof outputs.testUrl !== "string") {
            throw new UserError(`stack "${target.stackName}" has no router outputs (adminSocket, testUrl): run \`switchyard up ${target.stackName}\` first`);
        }
        this.adminSocket = outputs.adminSocket;
        this.testUrl = outputs.testUrl;
        this.appPorts = outputs.appPorts as Partial<Record<Color, number>> | undefined;
        this.appPids = byColor(outputs.appPids);
        this.snapshotRoot = typeof outputs.snapshotRoot === "string" ? outputs.snapshotRoot : undefined;
    }

    /** The stack's `up`, with a state backend that cannot be written named as such. */
    override async apply(weights: TrafficWeights, checkpoint: Checkpoint): Promise<void> {
        await this.stackWrite(() => super.apply(weights, checkpoint));
    }

    override async record(checkpoint: Checkpoint): Promise<void> {
        await this.stackWrite(() => super.record(checkpoint));
    }

    private async stackWrite(fn: () => Promise<void>): Promise<void> {
        try {
            await fn();
        } catch (e) {
            const named = storageFault((e as Error).message, process.env.PULUMI_BACKEND_URL ?? backendUrlOf(this.target));
            const stack = this.target.stackName;
            throw named ? new Error(`${named}: free space there or make it writable, then run \`switchyard revert ${stack}\` (traffic back on the live color, recorded)`) : e;
        }
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
        const pid = this.appPids?.[color];
        if (pid !== undefined && !isAlive(pid)) {
            // A crash, not a slow or failing color: revert at once, and say so.
            throw new Error(
                `${color}'s app (pid ${pid}) is not running: it exited during the cutover ` +
                    `(HAProxy reports app/${color} ${after.status}${after.checkStatus ? `, check ${after.checkStatus}` : ""})`,
            );
        }
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
        return (await snapshotStack(this.target, { name: `${this.target.stackName}-pre-cutover-${utcStamp()}`, pair: this.pair })).name;
    }

    /** Half-made snapshots whose maker is gone (a backup killed half-way), and any server still running in one. */
    async discardPartialBackups(): Promise<string[]> {
        return typeof this.snapshotRoot === "string" ? discardStalePartials(this.snapshotRoot) : [];
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


/** Pids by color, from the `appPids` output: `{ blue, green }`, or `[blue, green]` from older stacks. */
function byColor(v: unknown): Partial<Record<Color, number>> | undefined {
    if (Array.isArray(v)) {
        return { blue: v[0] as number, green: v[1] as number };
    }
    return v && typeof v === "object" ? (v as Partial<Record<Color, number>>) : undefined;
}

/** The default file backend of a project (what `stack/env.ts` uses when PULUMI_BACKEND_URL is not set). */
function backendUrlOf(target: StackTarget): string {
    return `file://${path.join(switchyardHome(target.root), "state")}`;
}

const STORAGE_CAUSES: readonly [RegExp, string][] = [
    [/no space left on device|ENOSPC/i, "no space left on device (ENOSPC)"],
    [/read-only file system|EROFS/i, "read-only file system (EROFS)"],
    [/disk quota exceeded|EDQUOT/i, "disk quota exceeded (EDQUOT)"],
];

/**
 * Names a failed stack write whose cause is storage: a full disk, a read-only one, or a quota, under
 * the state backend (or, when the file named lies outside it, that file). Pure: from the error's text
 * and the backend's location; undefined when the cause is something else.
 *
 * @example
 * storageFault("write /s/.pulumi/stacks/p/pair.json: no space left on device", "file:///s")
 * // "the stack's state backend file:///s cannot be written: no space left on device (ENOSPC) (writing /s/.pulumi/stacks/p/pair.json)"
 */
export function storageFault(message: string, backend: string): string | undefined {
    const hit = STORAGE_CAUSES.find(([re]) => re.test(message));
    if (!hit) {
        return undefined;
    }
    const file = /(\/[^\s:'"]+):\s*(?:no space left on device|read-only file system|disk quota exceeded)/i.exec(message)?.[1];
    const dir = /^file:\/\/(\/.*?)\/*$/.exec(backend)?.[1];
    if (file && dir && !file.startsWith(`${dir}/`)) {
        return `cannot write ${file}: ${hit[1]}`;
    }
    return `the stack's state backend ${backend} cannot be written: ${hit[1]}${file ? ` (writing ${file})` : ""}`;
}
