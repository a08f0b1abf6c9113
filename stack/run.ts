/**
 * Stack operations through the Automation API: the program runs inline in this process, the engine is
 * the CLI the set-up provides, the config is the stack's file in `stacks/`.
 */
import * as fs from "fs";
import * as path from "path";
import {
    DestroyResult,
    LocalWorkspace,
    OutputMap,
    PreviewResult,
    PulumiFn,
    RefreshResult,
    Stack,
    UpResult,
} from "@pulumi/pulumi/automation";
import { applyEngineEnv, checkNode, PROJECT_ROOT } from "./env";

import { UserError } from "./errors";

export { UserError };

export interface StackTarget {
    /** Stack name: `stacks/Pulumi.<name>.yaml` must exist in the project. */
    readonly stackName: string;
    /** Project folder holding Pulumi.yaml. @default the Switchyard project */
    readonly root?: string;
    /** The program. @default the project's `index.ts` program */
    readonly program?: PulumiFn;
    /** Where progress text goes. @default process.stdout */
    readonly onOutput?: (text: string) => void;
}

/** Reads `stackConfigDir` from the project's Pulumi.yaml (default: the project folder). */
export function stackConfigDir(root: string): string {
    const file = path.join(root, "Pulumi.yaml");
    if (!fs.existsSync(file)) {
        throw new UserError(`no Pulumi.yaml in ${root}`);
    }
    const m = /^stackConfigDir:\s*(\S+)\s*$/m.exec(fs.readFileSync(file, "utf8"));
    return m ? path.join(root, m[1]) : root;
}

/** Names of the stacks that have a config file. */
export function knownStacks(root = PROJECT_ROOT): string[] {
    const dir = stackConfigDir(root);
    if (!fs.existsSync(dir)) {
        return [];
    }
    return fs
        .readdirSync(dir)
        .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

/** The config file of a stack, or a UserError naming the known stacks. */
export function stackConfigFile(stackName: string, root = PROJECT_ROOT): string {
    if (!/^[A-Za-z0-9_.-]+$/.test(stackName)) {
        throw new UserError(`stack name "${stackName}" is not valid: use letters, digits, '-', '_' and '.'`);
    }
    const dir = stackConfigDir(root);
    for (const ext of ["yaml", "yml"]) {
        const f = path.join(dir, `Pulumi.${stackName}.${ext}`);
        if (fs.existsSync(f)) {
            return f;
        }
    }
    const known = knownStacks(root);
    throw new UserError(
        `stack "${stackName}" has no config file ${path.relative(root, path.join(dir, `Pulumi.${stackName}.yaml`))}` +
            (known.length ? `; known stacks: ${known.join(", ")}` : ""),
    );
}

function projectName(root: string): string {
    const m = /^name:\s*(\S+)\s*$/m.exec(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"));
    if (!m) {
        throw new UserError(`Pulumi.yaml in ${root} has no name`);
    }
    return m[1];
}

/** Opens (creating if needed) a stack with its inline program, on the engine and backend the set-up provides. */
export async function openStack(target: StackTarget): Promise<Stack> {
    checkNode();
    const root = target.root ?? PROJECT_ROOT;
    stackConfigFile(target.stackName, root);
    let envVars: Record<string, string>;
    try {
        envVars = applyEngineEnv(root);
    } catch (e) {
        throw new UserError((e as Error).message);
    }
    const program = target.program ?? (await import("../index")).program;
    return LocalWorkspace.createOrSelectStack(
        { stackName: target.stackName, projectName: projectName(root), program },
        { workDir: root, envVars },
    );
}

function output(target: StackTarget): (s: string) => void {
    return target.onOutput ?? ((s: string) => process.stdout.write(s));
}

export interface PreviewOptions {
    /** Policy pack folders to run. @default ["<root>/policies"] */
    readonly policyPacks?: string[];
    /** Policy config files (JSON: `{ "<rule>": "advisory" }`). */
    readonly policyPackConfigs?: string[];
}

export async function preview(target: StackTarget, opts: PreviewOptions = {}): Promise<PreviewResult> {
    const stack = await openStack(target);
    return stack.preview({
        onOutput: output(target),
        policyPacks: opts.policyPacks,
        policyPackConfigs: opts.policyPackConfigs,
        diff: false,
    });
}

export async function up(target: StackTarget, opts: PreviewOptions = {}): Promise<UpResult> {
    const stack = await openStack(target);
    return stack.up({ onOutput: output(target), policyPacks: opts.policyPacks, policyPackConfigs: opts.policyPackConfigs });
}

export async function refresh(target: StackTarget): Promise<RefreshResult> {
    const stack = await openStack(target);
    return stack.refresh({ onOutput: output(target) });
}

export async function destroy(target: StackTarget): Promise<DestroyResult> {
    const stack = await openStack(target);
    return stack.destroy({ onOutput: output(target) });
}

export async function outputs(target: StackTarget): Promise<OutputMap> {
    const stack = await openStack(target);
    return stack.outputs();
}

/** The default policy pack folder of a project. */
export function defaultPolicyPack(root = PROJECT_ROOT): string {
    return path.join(root, "policies");
}
