/**
 * AWS-only helpers shared by the AWS components: engines and their ports, tags, validation of values
 * that may be Outputs, and names. Platform-free logic lives in ../types.ts and is not repeated here.
 */
import * as pulumi from "@pulumi/pulumi";
import { Role, ROLE_TAGS, RoleTag, TAGS, throwIfInvalid } from "../types";

/** Database engines the AWS components restore and run. */
export type Engine = "postgres" | "mysql";
export const ENGINES: readonly Engine[] = ["postgres", "mysql"];

/** The port each engine listens on. */
export const ENGINE_PORTS: Readonly<Record<Engine, number>> = { postgres: 5432, mysql: 3306 };

/** Tag keys only the AWS platform uses (the shared ones are in TAGS). */
export const AWS_TAGS = {
    /** The cutover plan a listener follows, e.g. "10,25,50,100". */
    cutoverSteps: TAGS.cutoverSteps,
} as const;

/** Checks an engine name: postgres or mysql. */
export function checkEngine(engine: unknown): string | undefined {
    if (!(ENGINES as readonly unknown[]).includes(engine)) {
        return (
            `database engine ${JSON.stringify(engine)} is not supported: use one of ${ENGINES.join(", ")} ` +
            "(Aurora, MariaDB, Oracle and SQL Server snapshots cannot be restored by Switchyard)"
        );
    }
    return undefined;
}

/**
 * The RDS parameter group family of an engine version: `postgres16` for postgres 16.x,
 * `postgres9.6` for 9.6.x, `mysql8.0` for mysql 8.0.x.
 */
export function parameterGroupFamily(engine: Engine, engineVersion: string): string {
    const parts = engineVersion.split(".");
    const major = Number(parts[0]);
    if (!Number.isInteger(major) || major <= 0) {
        throw new Error(`engine version ${JSON.stringify(engineVersion)} has no major version`);
    }
    if (engine === "postgres") {
        return major >= 10 ? `postgres${major}` : `postgres${parts[0]}.${parts[1] ?? "0"}`;
    }
    return `mysql${parts[0]}.${parts[1] ?? "0"}`;
}

/** The value of the `switchyard:role` tag: "production" for a blue-green pair, "sandbox" for sandboxes. */
export function roleTagValue(role: Role): RoleTag {
    return ROLE_TAGS[role];
}

/** Tags for one child: the component's tags, then the role (which callers cannot override). */
export function childTags(
    role: Role,
    tags: pulumi.Input<Record<string, pulumi.Input<string>>> | undefined,
    extra: Record<string, pulumi.Input<string>> = {},
): pulumi.Output<Record<string, string>> {
    return pulumi.output(tags ?? {}).apply((t) =>
        pulumi.output({ ...t, ...extra, [TAGS.role]: roleTagValue(role) } as Record<string, pulumi.Input<string>>),
    ) as pulumi.Output<Record<string, string>>;
}

/** True when the Input is an Output or a Promise: its value is checked later, in an apply. */
export function isEventual(value: unknown): boolean {
    return pulumi.Output.isInstance(value) || value instanceof Promise;
}

/**
 * Validates a value that may be an Output: synchronously when it is plain (the caller does that in
 * the constructor with the same check), and in an apply that throws `pulumi.ResourceError` otherwise.
 * Returns the value as an Output that fails with the error.
 */
export function checkedOutput<T>(
    resource: pulumi.Resource,
    value: pulumi.Input<T> | undefined,
    check: (v: T | undefined) => string | undefined,
): pulumi.Output<T> {
    return pulumi.output(value).apply((v) => {
        throwIfInvalid(resource, check(v as T | undefined));
        return v as T;
    }) as pulumi.Output<T>;
}

/** Checks a plain value now; returns undefined for Outputs (which checkedOutput covers). */
export function checkNow<T>(value: pulumi.Input<T> | undefined, check: (v: T | undefined) => string | undefined): string | undefined {
    return isEventual(value) ? undefined : check(value as T | undefined);
}

/** Checks a positive integer within bounds (inclusive). */
export function checkIntRange(what: string, v: unknown, min: number, max: number): string | undefined {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
        return `${what} is ${JSON.stringify(v)}: it must be an integer from ${min} to ${max}`;
    }
    return undefined;
}

/**
 * An identifier RDS accepts for snapshots and instances: a letter first, then letters, digits and
 * single hyphens, at most 255 characters, no trailing hyphen.
 */
export function rdsIdentifier(raw: string, maxLength = 255): string {
    let s = raw.toLowerCase().replace(/[^a-z0-9-]/g, "-").replace(/-+/g, "-");
    if (!/^[a-z]/.test(s)) {
        s = `x-${s}`;
    }
    s = s.slice(0, maxLength).replace(/-+$/, "");
    return s;
}

/** A promise with its resolver, for dependencies on resources created after the dependent's constructor. */
export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
    let resolve!: (v: T) => void;
    const promise = new Promise<T>((r) => (resolve = r));
    return { promise, resolve };
}
