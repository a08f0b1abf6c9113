/**
 * The local adapter: HAProxy's runtime API and stats for weights and samples, PostgreSQL snapshots
 * for the backup, and the stack (config + `up`) for every change of weights.
 */
import * as path from "path";
import { discardStalePartials } from "../components/local/ops/clone";
import { pinWeights, readWeights, serverStats, setIdle, setWeights, streamGateLog, WATCH_ANY, watchColor } from "../components/local/ops/haproxy";
import { isAlive } from "../components/local/ops/proc";
import { COLORS, idleColor } from "../components/types";
import { snapshotStack, utcStamp } from "../stack/snapshot";
import { StackTarget, UserError } from "../stack/run";
import { switchyardHome } from "../stack/env";
import { probe } from "./probe";
import { pause } from "./run";
import { StackBackedPort, StackStore } from "./stackState";
import { Checkpoint, Color, CutoverPort, FlagStage, GateSpec, Sample, TrafficWeights, Watch } from "./types";
import { FlagsConfig, parseFlagsHeader } from "../components/flags";
import { FlagsPort } from "./flags";
import { FileFlags } from "./flagsFile";

/** Timed answers per second the gate's log aims at: enough for a p99, cheap for HAProxy and for us. */
export const TIMED_PER_SECOND = 2000;

export class LocalCutoverPort extends StackBackedPort implements CutoverPort {
    readonly platform = "local";
    private readonly adminSocket: string;
    private readonly testUrl: string;
    private readonly appPorts?: Partial<Record<Color, number>>;
    private readonly appPids?: Partial<Record<Color, number>>;
    private readonly snapshotRoot?: string;
    /** The flagd file the stack writes, set at once for a flag step (absent: the stack serves no flags). */
    readonly flags?: FlagsPort;
    private readonly flagsConfig?: FlagsConfig;

    /**
     * @param store the stack's weights and checkpoint
     * @param target the stack, for snapshots
     * @param outputs the stack's outputs (`adminSocket`, `testUrl`, `appPorts` for latency probes, and
     *   `appPids` to tell a crashed color from a failing one)
     * @param flags the stack's flag file (`flagsFile`) and its `switchyard:flags`, when it declares flags
     */
    constructor(
        store: StackStore,
        private readonly target: StackTarget,
        outputs: Record<string, unknown>,
        private readonly pair?: string,
        flags?: { readonly file: string; readonly config: FlagsConfig },
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
        if (flags) {
            this.flags = new FileFlags(flags.file, flags.config);
            this.flagsConfig = flags.config;
        }
    }

    /** The stack's `up`, with a state backend that cannot be written named as such. */
    override async apply(weights: TrafficWeights, checkpoint: Checkpoint, flags?: Readonly<Record<string, FlagStage>>): Promise<void> {
        await this.stackWrite(() => super.apply(weights, checkpoint, flags));
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
        this.checkAlive(color, after);
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

    /** HAProxy keeps these weights while a step's `up` finishes (`pinWeights`). */
    async hold(weights: TrafficWeights | undefined): Promise<void> {
        await pinWeights(this.adminSocket, weights);
    }

    /**
     * A window read at every tick. Requests and errors: HAProxy's per-server counters since the window
     * opened (exact). Response times: the color's answers in HAProxy's gate log (a ring in memory, no
     * file or port), a share of them chosen so that about TIMED_PER_SECOND are timed: the percentile,
     * the mean and the count slower than the ceiling come from those. A router without the gate log
     * (started by an older version) gives the mean of its `rtime` and no percentile.
     */
    async watch(color: Color, gate: GateSpec, flag?: string): Promise<Watch> {
        if (flag !== undefined) {
            return this.watchFlag(color, gate, flag);
        }
        const socket = this.adminSocket;
        const before = (await serverStats(socket))[color];
        const t0 = performance.now();
        const times: number[] = [];
        let slow = 0;
        let sum = 0;
        let log: { close: () => void } | undefined;
        let permille = 1000;
        try {
            log = await streamGateLog(socket, (a) => {
                if (a.server !== color || a.totalMs < 0) return;
                times.push(a.totalMs);
                sum += a.totalMs;
                if (a.totalMs > gate.maxLatencyMs) slow++;
            });
            await watchColor(socket, color, permille);
        } catch {
            log?.close();
            log = undefined;
        }
        return {
            read: async () => {
                const now = (await serverStats(socket))[color];
                const windowMs = performance.now() - t0;
                this.checkAlive(color, now);
                const requests = Math.max(0, now.requests - before.requests);
                if (log && windowMs > 0) {
                    const perSecond = (requests * 1000) / windowMs;
                    const want = perSecond > 0 ? Math.max(10, Math.min(1000, Math.round((1000 * TIMED_PER_SECOND) / perSecond))) : 1000;
                    if (Math.abs(want - permille) > permille / 4) {
                        permille = want;
                        await watchColor(socket, color, permille).catch(() => undefined);
                    }
                }
                const timed = times.length;
                return {
                    color,
                    requests,
                    errors: Math.max(0, now.errors - before.errors),
                    latencyMs: log ? (timed > 0 ? sum / timed : undefined) : requests > 0 ? now.rtimeMs : undefined,
                    ...(log ? { timed, slow, percentile: gate.latencyPercentile, ...(timed > 0 ? { percentileMs: percentileOf(times, gate.latencyPercentile) } : {}) } : {}),
                    healthy: now.status.startsWith("UP"),
                    windowMs: Math.round(windowMs),
                };
            },
            close: async () => {
                if (log) {
                    log.close();
                    await watchColor(socket, undefined).catch(() => undefined);
                }
            },
        };
    }

    /**
     * A flag step's window: the answers served with the flag on, from either color (the gate log of
     * both, with the app's flag header), judged apart from the rest so the flagged path's errors are
     * not diluted. Requests, errors and times all come from the logged share of the answers (about
     * TIMED_PER_SECOND a second, at random: the error share is the same in the share as in the whole);
     * unflagged answers are counted too, for the operator. A router without the gate log cannot tell
     * flagged answers: the window fails, naming it.
     */
    private async watchFlag(color: Color, gate: GateSpec, flag: string): Promise<Watch> {
        const socket = this.adminSocket;
        const on = this.flagsConfig?.[flag]?.onVariant ?? "on";
        const served = await readWeights(socket);
        const serving = COLORS.filter((c) => served[c] > 0);
        const total = async () => {
            const st = await serverStats(socket);
            return { st, requests: serving.reduce((n, c) => n + st[c].requests, 0) };
        };
        const before = await total();
        const t0 = performance.now();
        const times: number[] = [];
        let errors = 0;
        let slow = 0;
        let sum = 0;
        let unflagged = 0;
        let permille = 1000;
        const log = await streamGateLog(socket, (a) => {
            if (parseFlagsHeader(a.flags)[flag] !== on) {
                unflagged++;
                return;
            }
            times.push(a.totalMs);
            if (a.status >= 500 || a.status < 0) errors++;
            if (a.totalMs >= 0) {
                sum += a.totalMs;
                if (a.totalMs > gate.maxLatencyMs) slow++;
            }
        });
        try {
            await watchColor(socket, WATCH_ANY, permille);
        } catch (e) {
            log.close();
            throw e;
        }
        return {
            read: async () => {
                const now = await total();
                const windowMs = performance.now() - t0;
                for (const c of serving) this.checkAlive(c, now.st[c]);
                const all = Math.max(0, now.requests - before.requests);
                if (windowMs > 0) {
                    const perSecond = (all * 1000) / windowMs;
                    const want = perSecond > 0 ? Math.max(10, Math.min(1000, Math.round((1000 * TIMED_PER_SECOND) / perSecond))) : 1000;
                    if (Math.abs(want - permille) > permille / 4) {
                        permille = want;
                        await watchColor(socket, WATCH_ANY, permille).catch(() => undefined);
                    }
                }
                const timedOk = times.filter((t) => t >= 0);
                return {
                    color,
                    requests: times.length,
                    errors,
                    latencyMs: timedOk.length > 0 ? sum / timedOk.length : undefined,
                    timed: timedOk.length,
                    slow,
                    percentile: gate.latencyPercentile,
                    ...(timedOk.length > 0 ? { percentileMs: percentileOf(timedOk, gate.latencyPercentile) } : {}),
                    healthy: serving.every((c) => now.st[c].status.startsWith("UP")),
                    windowMs: Math.round(windowMs),
                    flag: { name: flag, unflagged },
                };
            },
            close: async () => {
                log.close();
                await watchColor(socket, undefined).catch(() => undefined);
            },
        };
    }

    /** A crash, not a slow or failing color: revert at once, and say so. */
    private checkAlive(color: Color, st: { status: string; checkStatus?: string }): void {
        const pid = this.appPids?.[color];
        if (pid !== undefined && !isAlive(pid)) {
            throw new Error(
                `${color}'s app (pid ${pid}) is not running: it exited during the cutover ` +
                    `(HAProxy reports app/${color} ${st.status}${st.checkStatus ? `, check ${st.checkStatus}` : ""})`,
            );
        }
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

/**
 * The nearest-rank percentile of values (sorted in a copy). Pure.
 * @example percentileOf([5, 1, 3, 2, 4], 50) // 3
 */
export function percentileOf(values: readonly number[], p: number): number {
    const sorted = Float64Array.from(values).sort();
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
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
