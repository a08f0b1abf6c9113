/**
 * `switchyard mask <sandbox>`: masks a local sandbox's database again with the rules its last `up`
 * applied (say after a manual restore into it), with the sandbox's own salt, so hashed values stay
 * what they were. Never on production: a stack holding a blue-green pair is refused, naming its
 * database.
 *
 * @example
 * const r = await maskSandbox({ stackName: "local-sandbox" });
 * console.log(r.tables.map((t) => `${t.table}: ${t.rows} rows`));
 */
import { maskDatabase, MaskResult } from "../components/local/ops/mask";
import { MASKING_CONFIG_KEY } from "../components/masking";
import { chooseSandbox } from "./pairs";
import { openStack, StackTarget, stateResources, UserError } from "./run";

export interface MaskSandboxOptions {
    /** The sandbox, when the stack has several (its name in the program). */
    readonly sandbox?: string;
    /** A line per table masked. */
    readonly onProgress?: (line: string) => void;
}

export interface MaskSandboxResult extends MaskResult {
    readonly stack: string;
    readonly sandbox: string;
}

/** Masks a sandbox stack's database again; see the module's description. */
export async function maskSandbox(target: StackTarget, opts: MaskSandboxOptions = {}): Promise<MaskSandboxResult> {
    const stack = await openStack(target);
    const resources = await stateResources(stack);
    const sb = chooseSandbox(resources, target.stackName, "masking runs only on a sandbox's copy", opts.sandbox);
    if (sb.platform !== "local") {
        throw new UserError(`sandbox ${sb.name} of stack "${target.stackName}" is on ${sb.platform}: switchyard mask masks local sandboxes`);
    }
    const mask = resources.find((r) => r.type.endsWith(":Masking") && r.name === `${sb.name}-mask`);
    if (!mask) {
        throw new UserError(`sandbox ${sb.name} of stack "${target.stackName}" does not mask: set ${MASKING_CONFIG_KEY} in the stack and run \`switchyard up ${target.stackName}\``);
    }
    const o = mask.outputs as { port: number; database: string; role: string; label: string; rules: unknown; strict: boolean; saltFile: string };
    try {
        const r = await maskDatabase({ port: o.port, database: o.database, role: o.role, label: o.label, rules: o.rules, strict: o.strict, saltFile: o.saltFile, onProgress: opts.onProgress });
        return { ...r, stack: target.stackName, sandbox: sb.name };
    } catch (e) {
        const m = (e as Error).message;
        // A rule the live schema refutes, or a production database: the user's to fix.
        throw /^switchyard:|^masking refuses/.test(m) ? new UserError(m) : e;
    }
}
