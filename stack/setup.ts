/**
 * `switchyard setup` as a library call: brings onto this machine what the engine and the local
 * platform need, as the repository's own set-up does (less `npm ci`, which the user's project does):
 * the Pulumi CLI when no compatible one is installed (built from the Go module proxy and cached), and
 * PostgreSQL and HAProxy from Debian's packages. Idempotent.
 *
 * The work is done by the package's `scripts/setup-system.sh`, the very script the repository's
 * set-up runs, so there is one copy of the install logic. This module builds its command line (pure),
 * runs it, and reads its verdict from its exit code and messages (pure).
 */
import * as path from "path";
import { spawn } from "child_process";
import { PACKAGE_ROOT, PULUMI_VERSION } from "./env";

/** Exit codes of the system set-up (and so of `switchyard setup`). */
export const SETUP_EXIT = {
    ok: 0,
    /** A system package is missing and cannot be installed here, or the Pulumi CLI does not run. */
    failed: 1,
    /** Bad arguments. */
    usage: 2,
    /** No compatible Pulumi CLI, and no Go toolchain to build one. */
    noGo: 3,
    /** Fetching or building the Pulumi CLI failed. */
    buildFailed: 4,
} as const;

export interface SetupOptions {
    /** The @pulumi/pulumi release the CLI must match. @default the SDK release Switchyard pins */
    readonly pulumiVersion?: string;
    /** More Debian packages, each installed when its command is missing (the repository adds strace, xfsprogs). */
    readonly alsoPackages?: ReadonlyArray<{ readonly command: string; readonly package: string }>;
    /** Cache root for the built CLI. @default SWITCHYARD_CACHE, else ~/.cache/switchyard */
    readonly cacheDir?: string;
    /** Environment of the script. @default process.env */
    readonly env?: NodeJS.ProcessEnv;
    /** Where the script's progress and error lines go, as they come. @default process.stderr */
    readonly onOutput?: (text: string) => void;
    /** The package holding scripts/setup-system.sh. @default Switchyard's own folder */
    readonly packageRoot?: string;
}

export interface SetupResult {
    /** True when everything is in place. */
    readonly ok: boolean;
    /** The script's exit code (see SETUP_EXIT). */
    readonly exitCode: number;
    /** The Pulumi CLI's version, as the set-up reported it (e.g. "v3.259.0"), when it got that far. */
    readonly pulumiVersion?: string;
    /** The folder of the Pulumi CLI in use, when it got that far. */
    readonly pulumiDir?: string;
    /** Its error messages, without the "setup: error: " prefix. */
    readonly errors: string[];
}

/** The script, its arguments and its environment for the options (pure). */
export function setupCommand(o: SetupOptions = {}): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
    const root = o.packageRoot ?? PACKAGE_ROOT;
    const args = [path.join(root, "scripts", "setup-system.sh"), "--pulumi-version", o.pulumiVersion ?? PULUMI_VERSION];
    for (const p of o.alsoPackages ?? []) {
        if (!/^[A-Za-z0-9._+-]+$/.test(p.command) || !/^[A-Za-z0-9._+-]+$/.test(p.package)) {
            throw new Error(`not a command and a Debian package name: ${JSON.stringify(p)}`);
        }
        args.push("--also", `${p.command}:${p.package}`);
    }
    const env: NodeJS.ProcessEnv = { ...(o.env ?? process.env), PULUMI_SKIP_UPDATE_CHECK: "true" };
    if (o.cacheDir) {
        env.SWITCHYARD_CACHE = o.cacheDir;
    }
    return { file: "bash", args, env };
}

/** The verdict from the script's exit code and its output (pure). */
export function readSetupOutput(exitCode: number, output: string): SetupResult {
    const lines = output.split("\n");
    const errors = lines.map((l) => /^setup: error: (.*)$/.exec(l)?.[1]).filter((m): m is string => m !== undefined);
    // build-pulumi-cli.sh speaks as "switchyard: ..." for its own failures (exit 3 and 4).
    if (exitCode !== 0 && errors.length === 0) {
        errors.push(
            ...lines
                .map((l) => /^switchyard: (.*)$/.exec(l)?.[1])
                .filter((m): m is string => m !== undefined && !/^building the Pulumi CLI v/.test(m)),
        );
    }
    const cli = lines.map((l) => /^setup: Pulumi CLI (v\S+) in (.+)$/.exec(l)).find((m) => m !== null);
    return {
        ok: exitCode === 0,
        exitCode,
        pulumiVersion: cli?.[1],
        pulumiDir: cli?.[2],
        errors: exitCode === 0 ? [] : errors.length > 0 ? errors : [`the set-up failed with exit code ${exitCode}`],
    };
}

/** Runs the system set-up; resolves with its verdict (never rejects for a failed install: see `ok`). */
export function setup(o: SetupOptions = {}): Promise<SetupResult> {
    const { file, args, env } = setupCommand(o);
    const show = o.onOutput ?? ((s: string) => void process.stderr.write(s));
    return new Promise((resolve, reject) => {
        const child = spawn(file, args, { env, stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        const take = (chunk: Buffer) => {
            const s = chunk.toString("utf8");
            output += s;
            show(s);
        };
        child.stdout.on("data", take);
        child.stderr.on("data", take);
        child.on("error", reject);
        child.on("close", (code, signal) => resolve(readSetupOutput(code ?? (signal ? 128 : SETUP_EXIT.failed), output)));
    });
}
