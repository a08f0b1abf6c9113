/**
 * The cutover's weights and checkpoint live in the stack: each change goes into the stack's config
 * (`switchyard:traffic`, `switchyard:cutoverState`) and through `up`, so the engine's state, the
 * config file and the router always agree. No deployment changes a listener behind the engine's back.
 */
import * as fs from "fs";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { isAlive } from "../components/local/ops/proc";
import { openStack, StackTarget, UserError } from "../stack/run";
import { Checkpoint, TrafficWeights } from "./types";

export const TRAFFIC_KEY = "switchyard:traffic";
export const CHECKPOINT_KEY = "switchyard:cutoverState";

/** What a stack holds for the cutover. */
export interface StackState {
    /** The weights recorded in state at the last `up`. */
    readonly weights: TrafficWeights;
    /** The checkpoint recorded in state, if a cutover has run. */
    readonly checkpoint?: Checkpoint;
    /** The step plan the stack declares (`switchyard:cutover.steps`), if any. */
    readonly plannedSteps?: number[];
    /** All stack outputs, for the adapters (router socket, listener ARN, test URL…). */
    readonly outputs: Record<string, unknown>;
}

/** Reads and writes a stack's weights and checkpoint. The adapters delegate to it. */
export interface StackStore {
    readState(): Promise<StackState>;
    apply(weights: TrafficWeights, checkpoint: Checkpoint): Promise<void>;
    record(checkpoint: Checkpoint): Promise<void>;
}

/** A StackStore over a stack in `stacks/`, through the Automation API. */
export class AutomationStackStore implements StackStore {
    private stack?: Stack;

    constructor(private readonly target: StackTarget) {}

    private async open(): Promise<Stack> {
        this.stack ??= await openStack(this.target);
        return this.stack;
    }

    async readState(): Promise<StackState> {
        const stack = await this.open();
        const raw = await stack.outputs();
        const outputs = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v.value]));
        const weights = outputs.weights as TrafficWeights | undefined;
        if (outputs.role !== "blue-green" || weights === undefined) {
            throw new UserError(
                `stack "${this.target.stackName}" has no blue-green pair in its state: run \`switchyard up ${this.target.stackName}\` first`,
            );
        }
        const declared = (await stack.getAllConfig())["switchyard:cutover"]?.value;
        let plannedSteps: number[] | undefined;
        try {
            plannedSteps = declared ? (JSON.parse(declared) as { steps?: number[] }).steps : undefined;
        } catch {
            throw new UserError(`switchyard:cutover in stack "${this.target.stackName}" is not valid JSON: ${declared}`);
        }
        return {
            weights: { blue: weights.blue, green: weights.green },
            checkpoint: outputs.cutover as Checkpoint | undefined,
            plannedSteps,
            outputs,
        };
    }

    async apply(weights: TrafficWeights, checkpoint: Checkpoint): Promise<void> {
        const stack = await this.open();
        await this.setWeights(stack, weights);
        await this.up(stack, checkpoint);
    }

    /** Weights into config and the checkpoint out of it, with no `up`. */
    async reset(weights: TrafficWeights): Promise<void> {
        const stack = await this.open();
        await this.setWeights(stack, weights);
        await stack.removeConfig(CHECKPOINT_KEY);
    }

    private async setWeights(stack: Stack, weights: TrafficWeights): Promise<void> {
        await stack.setAllConfig(
            {
                [`${TRAFFIC_KEY}.blue`]: { value: String(weights.blue) },
                [`${TRAFFIC_KEY}.green`]: { value: String(weights.green) },
            },
            true,
        );
    }

    async record(checkpoint: Checkpoint): Promise<void> {
        await this.up(await this.open(), checkpoint);
    }

    private async up(stack: Stack, checkpoint: Checkpoint): Promise<void> {
        await stack.setConfig(CHECKPOINT_KEY, { value: JSON.stringify(checkpoint) });
        let log = "";
        try {
            await stack.up({ onOutput: this.target.onOutput ?? ((s) => (log += s)) });
        } catch (e) {
            throw new Error(`up of stack "${this.target.stackName}" failed: ${(e as Error).message}${log ? `\n${log.slice(-2000)}` : ""}`);
        }
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


/** A port's stack half: weights and checkpoints go through the stack. Adapters extend it. */
export abstract class StackBackedPort {
    constructor(protected readonly store: StackStore) {}

    readState(): Promise<StackState> {
        return this.store.readState();
    }

    apply(weights: TrafficWeights, checkpoint: Checkpoint): Promise<void> {
        return this.store.apply(weights, checkpoint);
    }

    record(checkpoint: Checkpoint): Promise<void> {
        return this.store.record(checkpoint);
    }
}
