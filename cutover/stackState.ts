/**
 * The cutover's truth in the stack. Three records must agree:
 * - the **intent**: the action the cutover is about to take (set weights, revert, back up), written
 *   durably to the backend before anything changes;
 * - the **router**: what the load balancer serves (the adapters read it back);
 * - the **state**: the weights in the pair's configuration key (`switchyard:traffic`, the only key the
 *   cutover writes in the user's stack file) applied through `up`, and the checkpoint, kept in the
 *   backend beside the state (never in the user's stack file).
 * A kill between any two writes leaves an intent naming the half-done action, which `resume`
 * finishes and `revert` undoes.
 */
import * as fs from "fs";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { isAlive } from "../components/local/ops/proc";
import { CONFIG_KEYS, Platform } from "../components/types";
import { UserError } from "../stack/errors";
import { findComponent } from "../stack/pairs";
import { openStack, projectEnv, projectOf, StackTarget } from "../stack/run";
import { RecordStore, recordsDir } from "../stack/records";
import { checkStateStorage } from "../stack/storage";
import { Checkpoint, Color, FlagStage, FlagStep, TrafficWeights } from "./types";
import { FLAGS_CONFIG_KEY, FlagsConfig, parseFlags } from "../components/flags";
import { sameWeights } from "./core";

/** An action the cutover is about to take, recorded before it changes anything. */
export interface Intent {
    /** The cutover it belongs to. */
    readonly id: string;
    readonly action: "apply" | "revert" | "backup" | "flag" | "migrate" | "migrateDown" | "switch" | "scaleDown";
    /** The weights it is about to set (apply, revert), or keep (flag). */
    readonly weights?: TrafficWeights;
    /** The flag step it is about to take (flag). */
    readonly flag?: FlagStep;
    /** The checkpoint the action belongs to: where `resume` picks up if the action was cut short. */
    readonly checkpoint: Checkpoint;
    readonly at: string;
}

/** What a stack holds for the cutover. */
export interface StackState {
    /** The pair's name in the program. */
    readonly pair: string;
    readonly platform: Platform;
    /** The weights recorded in state at the last `up`. */
    readonly weights: TrafficWeights;
    /** The weights in the stack's config file, when the pair reads them from there. */
    readonly configWeights?: TrafficWeights;
    /** The config key the pair reads its weights from; undefined when the program gives them. */
    readonly trafficKey?: string;
    /** The last checkpoint recorded, if a cutover has run. */
    readonly checkpoint?: Checkpoint;
    /** An action that was started and not finished, if any. */
    readonly intent?: Intent;
    /** The step plan the stack declares, if any: weights, and flag steps (`flag:<name>=<stage>` or `{ flag, stage }`). */
    readonly plannedSteps?: unknown[];
    /** The flags the stack declares (`switchyard:flags`), checked; undefined when it declares none. */
    readonly flags?: FlagsConfig;
    /** The flagd flag-definitions file the stack writes (its `flagsFile` output), on the local platform. */
    readonly flagsFile?: string;
    /** The S3 object of the flagd file (`s3://<bucket>/<key>`, the stack's `flagsUri` output), on AWS. */
    readonly flagsUri?: string;
    /** The pair's outputs, for the adapters (router socket, listener ARN, test URL…). */
    readonly outputs: Record<string, unknown>;
    /** The stack's `switchyard:migrations` (command, table, dir), as written; undefined when it has none. */
    readonly migrations?: { command?: string; table?: string; dir?: string };
    /** The stack's `switchyard:cutover` object as written (its `window`, `watch`, `keepWarm`; see `watch.ts`). */
    readonly cutoverDeclared?: unknown;
}

/** Reads and writes a stack's weights, checkpoint and intent. The adapters delegate to it. */
export interface StackStore {
    readState(): Promise<StackState>;
    /** Records, durably, the action about to be taken. */
    recordIntent(intent: Intent): Promise<void>;
    /**
     * Weights (and with `flags`, those flags' rollout stages in `switchyard:flags`) into the stack's
     * config, `up`, then the checkpoint recorded and the intent cleared (when it is this action's: a
     * later action's intent stays).
     */
    apply(weights: TrafficWeights, checkpoint: Checkpoint, flags?: Readonly<Record<string, FlagStage>>): Promise<void>;
    /** Records a checkpoint (and clears the intent), with no change of weights. */
    record(checkpoint: Checkpoint): Promise<void>;
    /**
     * A color scaled down or back up through the stack: `switchyard:colors.<color>.warm` set to false
     * (or true) and `up` (locally its app process stopped or started and health-checked; on AWS its
     * ECS service's desired count). Optional.
     */
    scaleColor?(color: Color, warm: boolean): Promise<void>;
}

const CHECKPOINT = "checkpoint";
const INTENT = "intent";

/** A StackStore over a stack of any project, through the Automation API; records in the backend. */
export class AutomationStackStore implements StackStore {
    private stack?: Stack;
    private trafficKey?: string;
    private flagsKey?: string;
    readonly records: RecordStore;

    /**
     * @param target the stack
     * @param pair the pair's name when the stack has several (`--pair`)
     */
    constructor(
        private readonly target: StackTarget,
        private readonly pair?: string,
    ) {
        const project = projectOf(target);
        this.records = new RecordStore(recordsDir(projectEnv(project).PULUMI_BACKEND_URL, project.root, project.name, target.stackName));
    }

    private async open(): Promise<Stack> {
        // The cutover's engine runs niced: its `up` never takes CPU from the traffic it moves.
        this.stack ??= await openStack({ ...this.target, niced: true });
        return this.stack;
    }

    async readState(): Promise<StackState> {
        const stack = await this.open();
        const pair = await findComponent(stack, "pair", this.target.stackName, this.pair);
        const weights = pair.outputs.weights as TrafficWeights | undefined;
        if (weights === undefined) {
            throw new UserError(`pair "${pair.name}" of stack "${this.target.stackName}" has no weights in its state: run \`switchyard up ${this.target.stackName}\``);
        }
        const trafficKey = typeof pair.outputs.trafficConfigKey === "string" ? pair.outputs.trafficConfigKey : undefined;
        this.trafficKey = trafficKey;
        const config = await stack.getAllConfig();
        const configWeights = trafficKey ? parseJson<TrafficWeights>(config[trafficKey]?.value, trafficKey, this.target.stackName) : undefined;
        const declared = parseJson<{ steps?: number[] }>(config[CONFIG_KEYS.cutover]?.value, CONFIG_KEYS.cutover, this.target.stackName);
        const cutoverDeclared = declared;
        const steps = Array.isArray(pair.outputs.cutoverSteps) ? (pair.outputs.cutoverSteps as unknown[]) : declared?.steps;
        // Flags a cutover may step: those the pair reads from the stack's config (not from the program's arguments).
        // On AWS the flags are the program's own (a stack output names their S3 object), from switchyard:flags.
        const flagsUri = pair.platform === "aws" ? await stack.outputs().then((o) => o.flagsUri?.value as unknown, () => undefined) : undefined;
        const flagsKey = typeof pair.outputs.flagsConfigKey === "string" ? pair.outputs.flagsConfigKey : typeof flagsUri === "string" ? FLAGS_CONFIG_KEY : undefined;
        this.flagsKey = flagsKey;
        const flagsRaw = flagsKey ? parseJson<unknown>(config[flagsKey]?.value, flagsKey, this.target.stackName) : undefined;
        let flags: FlagsConfig | undefined;
        try {
            flags = flagsRaw === undefined ? undefined : parseFlags(flagsRaw);
        } catch (e) {
            throw new UserError(`stack "${this.target.stackName}": ${(e as Error).message}`);
        }
        const flagsFile = typeof pair.outputs.flagsFile === "string" ? pair.outputs.flagsFile : undefined;
        return {
            pair: pair.name,
            platform: pair.platform,
            weights: { blue: weights.blue, green: weights.green },
            configWeights: configWeights && { blue: configWeights.blue, green: configWeights.green },
            trafficKey,
            checkpoint: this.records.read<Checkpoint>(CHECKPOINT),
            intent: this.records.read<Intent>(INTENT),
            plannedSteps: steps,
            ...(cutoverDeclared !== undefined ? { cutoverDeclared } : {}),
            ...(flags ? { flags } : {}),
            ...(flagsFile ? { flagsFile } : {}),
            ...(typeof flagsUri === "string" ? { flagsUri } : {}),
            outputs: pair.outputs,
            ...(config[CONFIG_KEYS.migrations] ? { migrations: parseJson<{ command?: string; table?: string; dir?: string }>(config[CONFIG_KEYS.migrations].value, CONFIG_KEYS.migrations, this.target.stackName) } : {}),
        };
    }

    async recordIntent(intent: Intent): Promise<void> {
        this.records.write(INTENT, intent);
    }

    async apply(weights: TrafficWeights, checkpoint: Checkpoint, flags?: Readonly<Record<string, FlagStage>>): Promise<void> {
        const stack = await this.open();
        checkStateStorage(projectEnv(projectOf(this.target)).PULUMI_BACKEND_URL);
        if (flags && Object.keys(flags).length > 0) {
            if (this.flagsKey === undefined) await this.readState();
            const key = this.flagsKey ?? FLAGS_CONFIG_KEY;
            // Each flag's stage alone (a path set), so the rest of the user's declaration is kept as written.
            await stack.setAllConfig(
                Object.fromEntries(Object.entries(flags).map(([f, stage]) => [`${key}[${JSON.stringify(f)}].rollout`, { value: String(stage) }])),
                true,
            );
        }
        await this.setWeights(stack, weights);
        let log = "";
        try {
            await stack.up({ onOutput: this.target.onOutput ?? ((s) => (log += s)) });
        } catch (e) {
            throw new Error(`up of stack "${this.target.stackName}" failed: ${(e as Error).message}${log ? `\n${log.slice(-2000)}` : ""}`);
        }
        this.records.write(CHECKPOINT, checkpoint);
        // The intent is cleared only if it is this action's: a revert may have recorded its own while
        // this step's `up` ran in the background, and that one must outlive it.
        const intent = this.records.read<Intent>(INTENT);
        // A flag step's `up` and a revert's may set the same weights: the action tells them apart.
        const same =
            intent !== undefined &&
            intent.id === checkpoint.id &&
            intent.weights !== undefined &&
            sameWeights(intent.weights, weights) &&
            (intent.action === "revert") === (checkpoint.phase === "reverting") &&
            (intent.action !== "flag" || intent.checkpoint.step === checkpoint.step);
        if (intent === undefined || same) {
            this.records.remove(INTENT);
        }
    }

    async record(checkpoint: Checkpoint): Promise<void> {
        this.records.write(CHECKPOINT, checkpoint);
        this.records.remove(INTENT);
    }

    async scaleColor(color: Color, warm: boolean): Promise<void> {
        const stack = await this.open();
        checkStateStorage(projectEnv(projectOf(this.target)).PULUMI_BACKEND_URL);
        await stack.setAllConfig({ [`${CONFIG_KEYS.colors}.${color}.warm`]: { value: String(warm) } }, true);
        let log = "";
        try {
            await stack.up({ onOutput: this.target.onOutput ?? ((s) => (log += s)) });
        } catch (e) {
            throw new Error(`up of stack "${this.target.stackName}" scaling ${color} ${warm ? "up" : "down"} failed: ${(e as Error).message}${log ? `\n${log.slice(-2000)}` : ""}`);
        }
    }

    /** Weights into the config file and the cutover's records cleared, with no `up` (the demo's reset). */
    async reset(weights: TrafficWeights): Promise<void> {
        const stack = await this.open();
        if (this.trafficKey === undefined) {
            await this.readState().catch(() => undefined);
        }
        await this.setWeights(stack, weights, this.trafficKey ?? CONFIG_KEYS.traffic);
        this.records.remove(CHECKPOINT);
        this.records.remove(INTENT);
    }

    private async setWeights(stack: Stack, weights: TrafficWeights, key = this.trafficKey): Promise<void> {
        if (key === undefined) {
            throw new UserError(
                `the pair of stack "${this.target.stackName}" takes its weights from the program's traffic argument, so a cutover cannot change them: ` +
                    `leave traffic out, and the pair reads them from the stack's configuration (${CONFIG_KEYS.traffic})`,
            );
        }
        await stack.setAllConfig({ [`${key}.blue`]: { value: String(weights.blue) }, [`${key}.green`]: { value: String(weights.green) } }, true);
    }

    /** The folder of the cutover's records (and lock). */
    get dir(): string {
        return this.records.dir;
    }
}

function parseJson<T>(raw: string | undefined, key: string, stack: string): T | undefined {
    if (raw === undefined) {
        return undefined;
    }
    try {
        return JSON.parse(raw) as T;
    } catch {
        throw new UserError(`${key} in stack "${stack}" is not valid JSON: ${raw}`);
    }
}

/**
 * One cutover per stack at a time: a lock file holding the owner's pid. A lock whose process is gone
 * is taken over. Returns the release function.
 */
export function lockCutover(lockDir: string, stackName: string): () => void {
    fs.mkdirSync(lockDir, { recursive: true });
    const file = path.join(lockDir, `cutover-${stackName}.lock`);
    for (let attempt = 0; attempt < 2; attempt++) {
        try {
            fs.writeFileSync(file, String(process.pid), { flag: "wx" });
            return () => fs.rmSync(file, { force: true });
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
            const owner = Number(fs.readFileSync(file, "utf8").trim());
            if (owner > 0 && isAlive(owner)) {
                throw new UserError(`a cutover of stack "${stackName}" is already running (pid ${owner}); wait for it, or stop it with Ctrl-C (it reverts)`);
            }
            fs.rmSync(file, { force: true });
        }
    }
    throw new UserError(`could not take the cutover lock ${file}`);
}

/** A port's stack half: intent, weights and checkpoints go through the stack. Adapters extend it. */
export abstract class StackBackedPort {
    constructor(protected readonly store: StackStore) {}

    readState(): Promise<StackState> {
        return this.store.readState();
    }

    recordIntent(intent: Intent): Promise<void> {
        return this.store.recordIntent(intent);
    }

    apply(weights: TrafficWeights, checkpoint: Checkpoint, flags?: Readonly<Record<string, FlagStage>>): Promise<void> {
        return this.store.apply(weights, checkpoint, flags);
    }

    record(checkpoint: Checkpoint): Promise<void> {
        return this.store.record(checkpoint);
    }

    /** A color scaled down or up through the stack (`StackStore.scaleColor`). */
    scale(color: Color, warm: boolean): Promise<void> {
        if (!this.store.scaleColor) return Promise.reject(new Error("this stack store cannot scale a color"));
        return this.store.scaleColor(color, warm);
    }
}
