/**
 * The environment the Pulumi engine runs in: where the CLI is, the backend, the passphrase, the
 * plugin launchers, and no network other than the package registries.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { execFileSync } from "child_process";
import { switchyardHome } from "../components/config";

/**
 * The Switchyard package's own folder (the one holding its package.json), from its sources under
 * ts-node or from its build in `lib/` of an installed package. Shims, the policy pack and the example
 * app are found from here, never from the user's project.
 */
export const PACKAGE_ROOT: string = findPackageRoot(__dirname);

function findPackageRoot(from: string): string {
    for (let dir = from; ; dir = path.dirname(dir)) {
        const manifest = path.join(dir, "package.json");
        if (fs.existsSync(manifest)) {
            try {
                if ((JSON.parse(fs.readFileSync(manifest, "utf8")) as { name?: string }).name === "switchyard") {
                    return dir;
                }
            } catch {
                /* not ours; keep walking up */
            }
        }
        if (path.dirname(dir) === dir) {
            return path.resolve(from, "..");
        }
    }
}

/** Switchyard's own project (Pulumi.yaml with `stacks/`): the ready-made program, one project among others. */
export const PROJECT_ROOT = PACKAGE_ROOT;

/** The Pulumi release the SDK, and so the CLI, must match. */
export const PULUMI_VERSION = "3.259.0";

/** Passphrase for local stacks' secrets when PULUMI_CONFIG_PASSPHRASE is not set. Not a secret: local use only. */
export const DEFAULT_PASSPHRASE = "switchyard-local";

/** Cache root outside the clone: the built CLI and the moto virtualenv live here. */
export function cacheDir(): string {
    return process.env.SWITCHYARD_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "switchyard");
}

/** Where a project's local stacks keep state and data: SWITCHYARD_HOME, else `.switchyard` in the project. */
export { switchyardHome };

/**
 * The backend URL, in Pulumi's order: PULUMI_BACKEND_URL, then the project's `backend.url`, then (the
 * documented default) a file backend under the project's switchyard home.
 */
export function backendUrl(root = PROJECT_ROOT, projectBackend?: string): string {
    if (process.env.PULUMI_BACKEND_URL) {
        return process.env.PULUMI_BACKEND_URL;
    }
    if (projectBackend) {
        return projectBackend;
    }
    const dir = path.join(switchyardHome(root), "state");
    fs.mkdirSync(dir, { recursive: true });
    return `file://${dir}`;
}

/** Folder holding the policy-pack launcher and dynamic-provider shims (always Switchyard's own). */
export function shimDir(): string {
    return path.join(PACKAGE_ROOT, "scripts", "plugins");
}

/** Environment for running the CLI outside a stack operation: never its update check (which goes online). */
export function quietCliEnv(): NodeJS.ProcessEnv {
    return { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" };
}

/** Reports the version of a `pulumi` binary, or undefined if it does not run. */
export function pulumiVersionOf(bin: string): string | undefined {
    try {
        return execFileSync(bin, ["version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 20_000, env: quietCliEnv() }).trim();
    } catch {
        return undefined;
    }
}

/** Finds a `pulumi` binary on PATH. */
function onPath(name: string): string | undefined {
    for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
        const p = path.join(dir, name);
        try {
            fs.accessSync(p, fs.constants.X_OK);
            return p;
        } catch {
            /* next */
        }
    }
    return undefined;
}

/**
 * The folder of the Pulumi CLI to use: SWITCHYARD_PULUMI_DIR, then a compatible `pulumi` on PATH, then
 * the one the set-up built and cached. Throws a message saying how to get one.
 */
export function pulumiCliDir(): string {
    const wanted = `v${PULUMI_VERSION}`;
    const candidates: string[] = [];
    if (process.env.SWITCHYARD_PULUMI_DIR) {
        candidates.push(path.join(process.env.SWITCHYARD_PULUMI_DIR, "pulumi"));
    }
    const found = onPath("pulumi");
    if (found) {
        candidates.push(found);
    }
    candidates.push(path.join(cacheDir(), "pulumi", wanted, "pulumi"));
    for (const c of candidates) {
        const v = pulumiVersionOf(c);
        if (v && compatible(v)) {
            return path.dirname(c);
        }
    }
    throw new Error(
        `no Pulumi CLI compatible with ${wanted} was found (looked at: ${candidates.join(", ")}). ` +
            "Run `npm run setup`, which builds and caches one, or install the Pulumi CLI.",
    );
}

/**
 * The folder of an installed nodejs language host (`pulumi-language-nodejs` beside the CLI or on
 * PATH), with which a project's program runs as `pulumi up` would run it; undefined when there is none
 * (then the program is loaded inline). SWITCHYARD_INLINE=1 forces the inline way.
 */
export function languageHostDir(): string | undefined {
    if (process.env.SWITCHYARD_INLINE === "1") {
        return undefined;
    }
    if (hostLookup.done) {
        return hostLookup.dir;
    }
    hostLookup.done = true;
    hostLookup.dir = findLanguageHost();
    return hostLookup.dir;
}

const hostLookup: { done: boolean; dir?: string } = { done: false };

function findLanguageHost(): string | undefined {
    let cli: string | undefined;
    try {
        cli = pulumiCliDir();
    } catch {
        cli = undefined;
    }
    const beside = cli && path.join(cli, "pulumi-language-nodejs");
    if (beside && fs.existsSync(beside)) {
        return cli;
    }
    const found = onPath("pulumi-language-nodejs");
    return found ? path.dirname(found) : undefined;
}

/** A CLI is compatible when its major version matches and it is not older than the SDK. */
export function compatible(version: string): boolean {
    const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version.trim());
    if (!m) {
        return false;
    }
    const [maj, min] = [Number(m[1]), Number(m[2])];
    const [wMaj, wMin] = PULUMI_VERSION.split(".").map(Number);
    return maj === wMaj && min >= wMin;
}

/** Checks the running Node is 22 or later; throws a message naming the fix otherwise. */
export function checkNode(version = process.versions.node): void {
    const major = Number(version.split(".")[0]);
    if (major < 22) {
        throw new Error(
            `Switchyard runs on Node 22 or later, but this is Node ${version}. ` +
                "Run it through npm (`npm run …` or `npx switchyard …`), which uses the Node 22 that `npm ci` installs.",
        );
    }
}

/**
 * The secrets passphrase, as Pulumi takes it: PULUMI_CONFIG_PASSPHRASE, or PULUMI_CONFIG_PASSPHRASE_FILE;
 * else the documented local default.
 */
export function passphraseEnv(): Record<string, string> {
    if (process.env.PULUMI_CONFIG_PASSPHRASE !== undefined) {
        return { PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE };
    }
    if (process.env.PULUMI_CONFIG_PASSPHRASE_FILE) {
        return { PULUMI_CONFIG_PASSPHRASE_FILE: process.env.PULUMI_CONFIG_PASSPHRASE_FILE };
    }
    return { PULUMI_CONFIG_PASSPHRASE: DEFAULT_PASSPHRASE };
}

/**
 * Environment variables for the engine and everything it starts. Sets PATH so that the CLI, the
 * plugin launchers and Node 22 are found first.
 */
export function engineEnv(root = PROJECT_ROOT, projectBackend?: string): Record<string, string> {
    const cli = pulumiCliDir();
    const nodeBin = path.dirname(process.execPath);
    const pathParts = [cli, shimDir(), path.join(PACKAGE_ROOT, "node_modules", ".bin"), nodeBin, process.env.PATH ?? ""];
    return {
        PATH: [...new Set(pathParts.join(path.delimiter).split(path.delimiter).filter(Boolean))].join(path.delimiter),
        PULUMI_BACKEND_URL: backendUrl(root, projectBackend),
        ...passphraseEnv(),
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "false",
        PULUMI_HOME: process.env.PULUMI_HOME ?? path.join(cacheDir(), "pulumi-home"),
    };
}

/**
 * Puts PATH into this process, so the Automation API finds the CLI and the CLI finds the plugin
 * launchers; returns the rest of the engine environment, to hand to the workspace (so nothing else
 * leaks into this process).
 */
export function applyEngineEnv(root = PROJECT_ROOT, projectBackend?: string): Record<string, string> {
    const env = engineEnv(root, projectBackend);
    process.env.PATH = env.PATH;
    return env;
}
