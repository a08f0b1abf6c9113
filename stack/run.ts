/**
 * Stack operations through the Automation API, on any Pulumi project: the project is found from a
 * folder upward (or given), its stack files, backend and passphrase settings are honoured, and its own
 * program runs (inline in this process when no nodejs language host is installed, else through the
 * local-program workspace). Before every operation, what a killed engine left behind (a stale lock,
 * pending operations) is cleared, and said.
 */
import * as fs from "fs";
import * as path from "path";
import {
    DestroyResult,
    EngineEvent,
    LocalWorkspace,
    OutputMap,
    PreviewResult,
    PulumiFn,
    RefreshResult,
    Stack,
    UpResult,
} from "@pulumi/pulumi/automation";
import { applyEngineEnv, checkNode, languageHostDir } from "./env";
import { UserError } from "./errors";
import { inlineProgram } from "./program";
import { findProject, knownStacks as projectStacks, loadProject, Project, stackConfigFile as projectStackFile } from "./project";
import { clearPendingOperations, clearStaleLocks, fileBackendDir, repairCutState } from "./recover";
import { defaultPolicyPack } from "./policyPack";
import { checkStateStorage } from "./storage";
import { nicedPulumiCommand } from "./nice";

export { UserError, defaultPolicyPack };

export interface StackTarget {
    /** Stack name: `<stackConfigDir>/Pulumi.<name>.yaml` must exist in the project. */
    readonly stackName: string;
    /**
     * The project: a Project, or a folder at or below its Pulumi.yaml (found upward, as `pulumi` does).
     * @default found from the working directory
     */
    readonly project?: Project | string;
    /** The project's folder, exactly (no search upward). Superseded by `project`. */
    readonly root?: string;
    /** The program. @default the project's own program (Pulumi.yaml `main`, package.json, or index) */
    readonly program?: PulumiFn;
    /** Where progress text goes. @default process.stdout */
    readonly onOutput?: (text: string) => void;
    /** Where notices go: a stale lock or pending operations cleared. @default onOutput */
    readonly onNotice?: (text: string) => void;
    /**
     * Run the engine at a lower CPU priority (`nice`), as a cutover does (`stack/nice.ts`).
     * @default false
     */
    readonly niced?: boolean;
}

/** The project a target names. */
export function projectOf(target: Pick<StackTarget, "project" | "root">): Project {
    if (typeof target.project === "object") {
        return target.project;
    }
    if (typeof target.project === "string") {
        return findProject(target.project);
    }
    return target.root ? loadProject(target.root) : findProject(process.cwd());
}

/** Reads `stackConfigDir` of the project in `root` (default: the project folder). */
export function stackConfigDir(root: string): string {
    return loadProject(root).stackConfigDir;
}

/** Names of the stacks that have a config file. */
export function knownStacks(root: string | Project): string[] {
    return projectStacks(typeof root === "string" ? loadProject(root) : root);
}

/** The config file of a stack, or a UserError naming the known stacks. */
export function stackConfigFile(stackName: string, root: string | Project): string {
    return projectStackFile(typeof root === "string" ? loadProject(root) : root, stackName);
}

const inlinePrograms = new Map<string, PulumiFn>();

/** The project's program, loaded once per process (each run executes it afresh). */
function programOf(project: Project): PulumiFn {
    let p = inlinePrograms.get(project.root);
    if (!p) {
        p = inlineProgram(project);
        inlinePrograms.set(project.root, p);
    }
    return p;
}

/** The engine environment of a project, with the backend it names. */
export function projectEnv(project: Project): Record<string, string> {
    try {
        return applyEngineEnv(project.root, project.backendUrl);
    } catch (e) {
        throw new UserError((e as Error).message);
    }
}

/** The refusals (bad config, a component's bad arguments) each opened stack's program last threw. */
const refusals = new WeakMap<Stack, { error?: UserError }>();

/** Whether an error a program threw is the user's input refused: a component's arguments, the stack's config. */
export function isRefusal(e: unknown): boolean {
    if (!(e instanceof Error)) {
        return false;
    }
    const kinds = ["ResourceError", "RunError", "InputPropertyError", "UserError", "ConfigTypeError", "ConfigEnumError", "ConfigRangeError", "ConfigPatternError", "ConfigMissingError"];
    let proto: object | null = Object.getPrototypeOf(e);
    while (proto && proto !== Error.prototype) {
        if (kinds.includes((proto as { constructor: { name: string } }).constructor.name)) {
            return true;
        }
        proto = Object.getPrototypeOf(proto);
    }
    return /^switchyard:[a-zA-Z.]+/.test(e.message);
}

/** A program whose refusals are kept, so the run's failure can be reported as bad input. */
function watched(program: PulumiFn, holder: { error?: UserError }): PulumiFn {
    return async () => {
        holder.error = undefined;
        try {
            return await program();
        } catch (e) {
            if (isRefusal(e)) {
                holder.error = new UserError((e as Error).message.split("\n")[0]);
            }
            throw e;
        }
    };
}

/**
 * Opens (creating if needed) a stack of the project, on the engine and backend the set-up provides,
 * after clearing a stale lock and pending operations a killed engine left.
 */
export async function openStack(target: StackTarget): Promise<Stack> {
    checkNode();
    const project = projectOf(target);
    if (project.runtime !== "nodejs") {
        throw new UserError(`project ${project.name} has runtime ${project.runtime}: Switchyard runs nodejs (TypeScript or JavaScript) programs`);
    }
    projectStackFile(project, target.stackName);
    const envVars = projectEnv(project);
    // A full or read-only disk under a file backend would leave a state file cut short: refuse first.
    checkStateStorage(envVars.PULUMI_BACKEND_URL);
    const notice = target.onNotice ?? target.onOutput ?? ((s: string) => process.stderr.write(s));
    const backendDir = fileBackendDir(envVars.PULUMI_BACKEND_URL);
    if (backendDir) {
        for (const m of [...clearStaleLocks(backendDir, project.name, target.stackName), ...repairCutState(backendDir, project.name, target.stackName)]) {
            notice(`switchyard: ${m}\n`);
        }
    }
    const holder: { error?: UserError } = {};
    const pulumiCommand = target.niced ? await nicedPulumiCommand() : undefined;
    const stack =
        target.program === undefined && languageHostDir() !== undefined
            ? await LocalWorkspace.createOrSelectStack({ stackName: target.stackName, workDir: project.root }, { envVars, pulumiCommand })
            : await LocalWorkspace.createOrSelectStack(
                  { stackName: target.stackName, projectName: project.name, program: watched(target.program ?? programOf(project), holder) },
                  { workDir: project.root, envVars, pulumiCommand },
              );
    refusals.set(stack, holder);
    for (const m of await clearPendingOperations(stack)) {
        notice(`switchyard: ${m}\n`);
    }
    return stack;
}

function output(target: StackTarget): (s: string) => void {
    return target.onOutput ?? ((s: string) => process.stdout.write(s));
}

export interface PreviewOptions {
    /** Policy pack folders to run. @default none (the CLI passes Switchyard's pack unless --no-policy) */
    readonly policyPacks?: string[];
    /** Policy config files (JSON: `{ "<rule>": "advisory" }`). */
    readonly policyPackConfigs?: string[];
    /** The engine's events as they come (a preview's resource pre-events feed the impact map). */
    readonly onEvent?: (e: EngineEvent) => void;
}

/** Turns a failure the user's program or a component reported into a UserError (exit 2). */
async function engineRun<T>(stack: Stack, fn: () => Promise<T>): Promise<T> {
    try {
        return await fn();
    } catch (e) {
        throw refusals.get(stack)?.error ?? refusal(e as Error) ?? e;
    }
}

/**
 * A component's or a stack configuration's refusal inside an engine run: the engine reports it as a
 * program error with its stack trace; the user needs the message alone.
 */
export function refusal(e: Error): UserError | undefined {
    const text = String(e.message ?? "");
    const m =
        /(?:ResourceError|ConfigError|Missing required configuration variable|UserError)[^:]*:\s*([^\n]+)/.exec(text) ??
        /error: (?:Running program .* failed with an unhandled exception:\s*)?(?:Error: )?(switchyard:[^\n]+)/.exec(text);
    if (!m) {
        return undefined;
    }
    return new UserError(m[1].trim());
}

/** Each policy config file checked against the pack before the engine runs (a UserError naming the fix). */
async function checkPolicyConfigs(opts: PreviewOptions): Promise<void> {
    if (opts.policyPackConfigs?.length) {
        const { readPolicyConfigFile } = await import("../policies/config");
        opts.policyPackConfigs.forEach((f) => readPolicyConfigFile(f));
    }
}

export async function preview(target: StackTarget, opts: PreviewOptions = {}): Promise<PreviewResult> {
    await checkPolicyConfigs(opts);
    const stack = await openStack(target);
    return engineRun(stack, () =>
        stack.preview({
            onOutput: output(target),
            policyPacks: opts.policyPacks,
            policyPackConfigs: opts.policyPackConfigs,
            diff: false,
            onEvent: opts.onEvent,
        }),
    );
}

export async function up(target: StackTarget, opts: PreviewOptions = {}): Promise<UpResult> {
    await checkPolicyConfigs(opts);
    const stack = await openStack(target);
    return engineRun(stack, () => stack.up({ onOutput: output(target), policyPacks: opts.policyPacks, policyPackConfigs: opts.policyPackConfigs }));
}

export async function refresh(target: StackTarget): Promise<RefreshResult> {
    const stack = await openStack(target);
    return engineRun(stack, () => stack.refresh({ onOutput: output(target) }));
}

export async function destroy(target: StackTarget): Promise<DestroyResult> {
    const stack = await openStack(target);
    return engineRun(stack, () => stack.destroy({ onOutput: output(target) }));
}

export async function outputs(target: StackTarget): Promise<OutputMap> {
    const stack = await openStack(target);
    return stack.outputs();
}

/** The stack's resources as the state holds them (type, name, outputs). */
export interface StateResource {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    readonly outputs: Record<string, unknown>;
}

/** Reads the resources of a stack's state. */
export async function stateResources(stack: Stack): Promise<StateResource[]> {
    const d = (await stack.exportStack()).deployment as { resources?: { urn: string; type: string; outputs?: Record<string, unknown> }[] } | undefined;
    return (d?.resources ?? []).map((r) => ({ urn: r.urn, type: r.type, name: r.urn.split("::").pop() ?? "", outputs: r.outputs ?? {} }));
}

/** Whether a project folder exists and holds a Pulumi.yaml (for messages). */
export function isProjectFolder(dir: string): boolean {
    return fs.existsSync(path.join(dir, "Pulumi.yaml")) || fs.existsSync(path.join(dir, "Pulumi.yml"));
}
