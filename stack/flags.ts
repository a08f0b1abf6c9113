/**
 * `switchyard flags <stack>`: each flag's rollout as the stack's configuration declares it, as the
 * stack's state recorded it, as the served flagd file says (the local file, or the S3 object), and,
 * on the local platform, as each color's app serves it to a sample of users (its GET /flags).
 */
import { S3Client } from "@aws-sdk/client-s3";
import { FLAGS_CONFIG_KEY, FlagsConfig, RolloutStage, formatStage, rolloutOf, servedRollouts } from "../components/flags";
import { readFlagsFile } from "../components/local/flagsFile";
import { getFlags } from "../components/aws/flags";
import { LOCAL_FLAGS_FILE_TYPE } from "../components/local/flags";
import { COLORS, Color, TYPE_TOKENS } from "../components/types";
import { UserError } from "./errors";
import { openStack, stateResources, StackTarget } from "./run";

/** What one color's app serves for a flag to its sample of users. */
export interface AppSample {
    readonly sampled: number;
    /** Users served each variant. */
    readonly variants: Readonly<Record<string, number>>;
    /** Share (0..1) of the sample served a variant that is not the flag's default. */
    readonly onShare: number;
}

/** One flag, as each place holds it. */
export interface FlagStatus {
    readonly name: string;
    /** In the stack's configuration (`switchyard:flags`); undefined when the program gives the flags. */
    readonly configured?: RolloutStage;
    /** As the stack's state recorded it at the last update. */
    readonly inState?: RolloutStage;
    /** As the served file says. */
    readonly served?: RolloutStage;
    /** Per color (local): what the app serves, or why it could not be asked. */
    readonly apps?: Partial<Record<Color, AppSample | { readonly error: string }>>;
}

export interface FlagsStatus {
    readonly stack: string;
    readonly platform: "local" | "aws";
    /** The served file: its path, or `s3://bucket/key`. */
    readonly source: string;
    readonly flags: FlagStatus[];
    /** Where the places disagree, one line each. */
    readonly disagreements: string[];
}

export interface FlagsStatusOptions {
    /**
     * Users each color's app evaluates the flags for (local); 0 asks no app.
     * @default 1000
     */
    readonly sample?: number;
    /** The S3 client reading an AWS stack's object. @default new S3Client({}) */
    readonly s3?: S3Client;
    /** Milliseconds an app has to answer. @default 10000 */
    readonly appTimeoutMs?: number;
}

const S3_OBJECTS = ["aws:s3/bucketObjectv2:BucketObjectv2", "aws:s3/bucketObject:BucketObject"];

async function askApp(port: number, sample: number, timeoutMs: number): Promise<Record<string, { defaultVariant?: string; sampled: number; variants: Record<string, number> }>> {
    const res = await fetch(`http://127.0.0.1:${port}/flags?sample=${sample}`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`GET /flags answered ${res.status}`);
    return ((await res.json()) as { flags: Record<string, { defaultVariant?: string; sampled: number; variants: Record<string, number> }> }).flags;
}

/** Each flag of a stack as its configuration, its state, the served file and (local) the apps hold it. */
export async function flagsStatus(target: StackTarget, opts: FlagsStatusOptions = {}): Promise<FlagsStatus> {
    const stack = await openStack(target);
    const config = await stack.getAllConfig();
    const configText = config[FLAGS_CONFIG_KEY]?.value;
    let configured: FlagsConfig | undefined;
    if (configText !== undefined) {
        try {
            configured = JSON.parse(configText) as FlagsConfig;
        } catch (e) {
            throw new UserError(`${FLAGS_CONFIG_KEY} of stack ${target.stackName} is not JSON: ${(e as Error).message}`);
        }
    }
    const resources = await stateResources(stack);
    const local = resources.find((r) => r.type === LOCAL_FLAGS_FILE_TYPE);
    const s3 = resources.find((r) => S3_OBJECTS.includes(r.type) && String(r.outputs.key ?? "").endsWith(".flagd.json"));
    let platform: "local" | "aws";
    let source: string;
    let servedText: string | undefined;
    let stateText: string | undefined;
    let stateFlags: FlagsConfig | undefined;
    if (local) {
        platform = "local";
        source = String(local.outputs.path);
        servedText = readFlagsFile(source);
        stateFlags = local.outputs.flags as FlagsConfig | undefined;
        stateText = local.outputs.content as string | undefined;
    } else if (s3) {
        platform = "aws";
        source = `s3://${s3.outputs.bucket}/${s3.outputs.key}`;
        servedText = await getFlags(opts.s3 ?? new S3Client({}), String(s3.outputs.bucket), String(s3.outputs.key));
        stateText = s3.outputs.content as string | undefined;
    } else {
        throw new UserError(`stack ${target.stackName} serves no flags: declare them in ${FLAGS_CONFIG_KEY} (e.g. {"new-checkout": {"rollout": "off"}}) and run up`);
    }
    const served = servedText !== undefined ? servedRollouts(servedText) : {};
    const inState = stateFlags ? Object.fromEntries(Object.keys(stateFlags).map((n) => [n, rolloutOf(stateFlags!, n)])) : stateText ? servedRollouts(stateText) : {};

    // The apps (local): each color's GET /flags, at the ports the pair recorded.
    const sample = opts.sample ?? 1000;
    const appAnswers: Partial<Record<Color, Awaited<ReturnType<typeof askApp>> | { error: string }>> = {};
    const pair = resources.find((r) => r.type === TYPE_TOKENS.localBlueGreen);
    const ports = (pair?.outputs.appPorts ?? {}) as Partial<Record<Color, number>>;
    if (platform === "local" && sample > 0) {
        for (const c of COLORS) {
            if (ports[c] === undefined) continue;
            try {
                appAnswers[c] = await askApp(ports[c]!, sample, opts.appTimeoutMs ?? 10_000);
            } catch (e) {
                appAnswers[c] = { error: (e as Error).message };
            }
        }
    }

    const names = [...new Set([...Object.keys(configured ?? {}), ...Object.keys(inState), ...Object.keys(served)])].sort();
    const disagreements: string[] = [];
    const flags: FlagStatus[] = names.map((name) => {
        const cfg = configured?.[name] !== undefined ? rolloutOf(configured, name) : undefined;
        const apps: Partial<Record<Color, AppSample | { error: string }>> = {};
        for (const [c, a] of Object.entries(appAnswers) as [Color, Awaited<ReturnType<typeof askApp>> | { error: string }][]) {
            if ("error" in a && typeof a.error === "string") {
                apps[c] = { error: a.error };
                continue;
            }
            const f = (a as Awaited<ReturnType<typeof askApp>>)[name];
            if (!f) {
                apps[c] = { error: "the app does not serve this flag" };
                continue;
            }
            const on = Object.entries(f.variants).reduce((s, [v, n]) => s + (v !== f.defaultVariant ? n : 0), 0);
            apps[c] = { sampled: f.sampled, variants: f.variants, onShare: f.sampled > 0 ? on / f.sampled : 0 };
        }
        const where = [
            ["config", configured ? cfg : "(given by the program)"],
            ["state", inState[name]],
            ["served", served[name]],
        ] as const;
        const stages = where.filter(([, v]) => v !== "(given by the program)").map(([w, v]) => [w, v === undefined ? "absent" : formatStage(v as RolloutStage)]);
        if (new Set(stages.map(([, v]) => v)).size > 1) {
            disagreements.push(`${name}: ${stages.map(([w, v]) => `${w} ${v}`).join(", ")}`);
        }
        return { name, configured: cfg, inState: inState[name], served: served[name], ...(Object.keys(apps).length > 0 ? { apps } : {}) };
    });
    return { stack: target.stackName, platform, source, flags, disagreements };
}

/** The status as the terminal shows it. */
export function formatFlagsStatus(s: FlagsStatus): string {
    const show = (v: RolloutStage | undefined) => (v === undefined ? "-" : formatStage(v));
    const lines = [`flags of ${s.stack} (${s.platform}), served from ${s.source}`];
    for (const f of s.flags) {
        lines.push(`  ${f.name}: config ${show(f.configured)}, state ${show(f.inState)}, served ${show(f.served)}`);
        for (const [c, a] of Object.entries(f.apps ?? {})) {
            lines.push(
                "error" in a
                    ? `    ${c} app: ${a.error}`
                    : `    ${c} app: on for ${(100 * a.onShare).toFixed(1)}% of ${a.sampled} sample users (${Object.entries(a.variants)
                          .map(([v, n]) => `${v} ${n}`)
                          .join(", ")})`,
            );
        }
    }
    if (s.flags.length === 0) lines.push("  (no flags)");
    for (const d of s.disagreements) lines.push(`DISAGREES: ${d}`);
    return lines.join("\n") + "\n";
}
