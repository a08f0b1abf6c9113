/**
 * Sandboxes carry an expiry so they are removed, not forgotten. This lists every sandbox in the
 * backend with its expiry, and destroys the ones whose time has passed.
 */
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { componentsIn } from "./pairs";
import { Project } from "./project";
import { destroy, knownStacks, openStack, projectEnv, projectOf, StackTarget, stateResources } from "./run";

export interface SandboxEntry {
    readonly stack: string;
    /** ISO time from the stack's `expiresAt` output; undefined when it has none. */
    readonly expiresAt?: string;
}

export interface SandboxStatus extends SandboxEntry {
    readonly expired: boolean;
    /** Milliseconds until expiry (negative once past). */
    readonly remainingMs?: number;
}

/** Which sandboxes have expired at `now`. A sandbox with no expiry counts as expired: it should not exist. Pure. */
export function judgeExpiry(entries: readonly SandboxEntry[], now: Date): SandboxStatus[] {
    return entries.map((e) => {
        const at = e.expiresAt === undefined ? NaN : Date.parse(e.expiresAt);
        if (Number.isNaN(at)) {
            return { ...e, expired: true };
        }
        return { ...e, expired: at <= now.getTime(), remainingMs: at - now.getTime() };
    });
}

export interface ExpiryOptions {
    /** The project (or a folder in it). @default found from the working directory */
    readonly project?: Project | string;
    /** The project's folder, exactly. */
    readonly root?: string;
    /** The program, for destroys. @default the project's program */
    readonly program?: StackTarget["program"];
    readonly onOutput?: (s: string) => void;
    readonly now?: Date;
}

/** Every stack of the project, in the backend with a config file, whose state holds a sandbox component. */
export async function listSandboxes(o: ExpiryOptions = {}): Promise<SandboxStatus[]> {
    const project = projectOf(o);
    const ws = await LocalWorkspace.create({ workDir: project.root, envVars: projectEnv(project) });
    const inBackend = new Set((await ws.listStacks()).map((s) => s.name.split("/").pop() as string));
    const entries: SandboxEntry[] = [];
    for (const stack of knownStacks(project).filter((s) => inBackend.has(s))) {
        const st = await openStack({ stackName: stack, project, program: o.program, onOutput: o.onOutput });
        for (const sb of componentsIn(await stateResources(st), "sandbox")) {
            entries.push({ stack, expiresAt: typeof sb.outputs.expiresAt === "string" ? sb.outputs.expiresAt : undefined });
        }
    }
    return judgeExpiry(entries, o.now ?? new Date());
}

/** Destroys every expired sandbox; returns their names. A failed destroy is reported and the rest go on. */
export async function destroyExpired(o: ExpiryOptions & { onDestroyed?: (stack: string, error?: Error) => void } = {}): Promise<string[]> {
    const done: string[] = [];
    for (const s of (await listSandboxes(o)).filter((x) => x.expired)) {
        try {
            await destroy({ stackName: s.stack, project: projectOf(o), program: o.program, onOutput: o.onOutput });
            done.push(s.stack);
            o.onDestroyed?.(s.stack);
        } catch (e) {
            o.onDestroyed?.(s.stack, e as Error);
        }
    }
    return done;
}
