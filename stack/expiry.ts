/**
 * Sandboxes carry an expiry so they are removed, not forgotten. This lists every sandbox in the
 * backend with its expiry, and destroys the ones whose time has passed.
 */
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { applyEngineEnv, PROJECT_ROOT } from "./env";
import { destroy, knownStacks, outputs, StackTarget } from "./run";

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
    readonly root?: string;
    /** The program, for destroys. @default the project's program */
    readonly program?: StackTarget["program"];
    readonly onOutput?: (s: string) => void;
    readonly now?: Date;
}

/** Every stack in the backend that has a config file and whose state says it is a sandbox. */
export async function listSandboxes(o: ExpiryOptions = {}): Promise<SandboxStatus[]> {
    const root = o.root ?? PROJECT_ROOT;
    const ws = await LocalWorkspace.create({ workDir: root, envVars: applyEngineEnv(root) });
    const inBackend = new Set((await ws.listStacks()).map((s) => s.name.split("/").pop() as string));
    const entries: SandboxEntry[] = [];
    for (const stack of knownStacks(root).filter((s) => inBackend.has(s))) {
        const out = await outputs({ stackName: stack, root, program: o.program, onOutput: o.onOutput });
        if (out.role?.value === "sandbox") {
            entries.push({ stack, expiresAt: out.expiresAt?.value as string | undefined });
        }
    }
    return judgeExpiry(entries, o.now ?? new Date());
}

/** Destroys every expired sandbox; returns their names. A failed destroy is reported and the rest go on. */
export async function destroyExpired(o: ExpiryOptions & { onDestroyed?: (stack: string, error?: Error) => void } = {}): Promise<string[]> {
    const done: string[] = [];
    for (const s of (await listSandboxes(o)).filter((x) => x.expired)) {
        try {
            await destroy({ stackName: s.stack, root: o.root ?? PROJECT_ROOT, program: o.program, onOutput: o.onOutput });
            done.push(s.stack);
            o.onDestroyed?.(s.stack);
        } catch (e) {
            o.onDestroyed?.(s.stack, e as Error);
        }
    }
    return done;
}
