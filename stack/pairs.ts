/**
 * Finding Switchyard's components in a user's stack: the CLI looks for them in the stack's state by
 * their type token, not by output names the user may or may not export.
 */
import { Stack } from "@pulumi/pulumi/automation";
import { PAIR_TOKENS, Platform, PLATFORMS, SANDBOX_TOKENS } from "../components/types";
import { withoutPassword } from "../components/productionDatabase";
import { UserError } from "./errors";
import { stateResources, StateResource } from "./run";

/** A Switchyard component found in a stack's state. */
export interface ComponentRef {
    /** The component's name (the first argument of its constructor). */
    readonly name: string;
    readonly type: string;
    readonly platform: Platform;
    /** What the component registered as its outputs. */
    readonly outputs: Record<string, unknown>;
}

function platformOf(type: string, tokens: Readonly<Record<Platform, string>>): Platform | undefined {
    return PLATFORMS.find((p) => tokens[p] === type);
}

/** Pure: the components of the given kind among a state's resources. */
export function componentsIn(resources: readonly StateResource[], kind: "pair" | "sandbox"): ComponentRef[] {
    const tokens = kind === "pair" ? PAIR_TOKENS : SANDBOX_TOKENS;
    return resources.flatMap((r) => {
        const platform = platformOf(r.type, tokens);
        return platform ? [{ name: r.name, type: r.type, platform, outputs: r.outputs }] : [];
    });
}

/**
 * Pure: the one component a command acts on: the one named by `wanted` (`--pair`), else the only one.
 * Throws a UserError naming what was looked for when there is none, and listing them when there are
 * several and none was named.
 */
export function chooseComponent(unsorted: readonly ComponentRef[], kind: "pair" | "sandbox", stack: string, wanted?: string): ComponentRef {
    const found = [...unsorted].sort((a, b) => a.name.localeCompare(b.name));
    const tokens = Object.values(kind === "pair" ? PAIR_TOKENS : SANDBOX_TOKENS).join(" or ");
    const what = kind === "pair" ? "blue-green pair" : "sandbox";
    const whats = kind === "pair" ? "blue-green pairs" : "sandboxes";
    const flag = kind === "pair" ? "--pair" : "--sandbox";
    if (wanted !== undefined) {
        const hit = found.find((c) => c.name === wanted);
        if (!hit) {
            throw new UserError(
                `stack "${stack}" has no ${what} named "${wanted}"` +
                    (found.length ? `; its ${whats}: ${found.map((c) => c.name).join(", ")}` : `: looked for a resource of type ${tokens} in its state`),
            );
        }
        return hit;
    }
    if (found.length === 0) {
        throw new UserError(
            `stack "${stack}" has no Switchyard ${what}: looked for a resource of type ${tokens} in its state. ` +
                `Add one to the program and run \`switchyard up ${stack}\``,
        );
    }
    if (found.length > 1) {
        throw new UserError(
            `stack "${stack}" has ${found.length} ${whats}: ${found.map((c) => `${c.name} (${c.type})`).join(", ")}; name one with ${flag} <name>`,
        );
    }
    return found[0];
}

/**
 * Pure: the sandbox a command acts on, from a stack's state: the one named by `wanted`
 * (`--sandbox`), else the only one. Never production: a stack with no sandbox is refused, naming
 * the blue-green pairs it holds (and their databases, without a password) as production, and `why`
 * the command runs on a sandbox only.
 *
 * @example
 * chooseSandbox(await stateResources(stack), "local", "masking runs only on a sandbox's copy");
 */
export function chooseSandbox(resources: readonly StateResource[], stack: string, why: string, wanted?: string): ComponentRef {
    const sandboxes = componentsIn(resources, "sandbox");
    if (sandboxes.length === 0) {
        const pairs = componentsIn(resources, "pair");
        const databases = pairs.flatMap((p) => (typeof p.outputs.databaseUrl === "string" ? [`${p.name}: ${withoutPassword(p.outputs.databaseUrl)}`] : []));
        throw new UserError(
            pairs.length
                ? `stack "${stack}" holds a blue-green pair (${pairs.map((p) => p.name).join(", ")}), which is production: ${why}` +
                      (databases.length ? ` (production's database, ${databases.join("; ")})` : "")
                : `stack "${stack}" has no sandbox in its state (is it up?): ${why}`,
        );
    }
    return chooseComponent(sandboxes, "sandbox", stack, wanted);
}

/** The pair (or sandbox) of a stack, from its state. */
export async function findComponent(stack: Stack, kind: "pair" | "sandbox", stackName: string, wanted?: string): Promise<ComponentRef> {
    return chooseComponent(componentsIn(await stateResources(stack), kind), kind, stackName, wanted);
}
