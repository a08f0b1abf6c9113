/**
 * The user's Pulumi project: found from a folder upward, as `pulumi` finds it, with the settings
 * Switchyard honours from its `Pulumi.yaml` (name, main, stackConfigDir, backend).
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { UserError } from "./errors";
import { checkFileName } from "./names";

/** What Switchyard needs to know of a Pulumi project. */
export interface Project {
    /** Absolute path of the folder holding `Pulumi.yaml`. */
    readonly root: string;
    /** The project's name (`name:`). */
    readonly name: string;
    /** The runtime (`runtime:` or `runtime.name`), e.g. "nodejs". */
    readonly runtime: string;
    /** The program's entry (`main:`), relative to the root, when the project sets one. */
    readonly main?: string;
    /** Absolute folder of the stack files (`stackConfigDir:`, else the root). */
    readonly stackConfigDir: string;
    /** The backend the project names (`backend.url:`), if any. */
    readonly backendUrl?: string;
    /** Whether the program is TypeScript (`runtime.options.typescript`, default true for nodejs). */
    readonly typescript: boolean;
}

const PROJECT_FILES = ["Pulumi.yaml", "Pulumi.yml"];

/** The project file in a folder, if there is one. */
function projectFileIn(dir: string): string | undefined {
    return PROJECT_FILES.map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
}

/**
 * Finds the Pulumi project holding `from`: the nearest folder at or above it with a `Pulumi.yaml`.
 * Throws a UserError when there is none.
 */
export function findProject(from: string = process.cwd()): Project {
    const start = path.resolve(from);
    if (!fs.existsSync(start)) {
        throw new UserError(`folder ${start} does not exist`);
    }
    for (let dir = start; ; dir = path.dirname(dir)) {
        if (projectFileIn(dir)) {
            return loadProject(dir);
        }
        if (path.dirname(dir) === dir) {
            throw new UserError(
                `no Pulumi project here: neither ${start} nor any folder above it holds a Pulumi.yaml. ` +
                    "Run switchyard inside a Pulumi project, or give its folder with --cwd <dir>",
            );
        }
    }
}

/** Reads the project whose `Pulumi.yaml` is in `root`. */
export function loadProject(root: string): Project {
    const dir = path.resolve(root);
    const file = projectFileIn(dir);
    if (!file) {
        throw new UserError(`no Pulumi.yaml in ${dir}`);
    }
    let doc: unknown;
    try {
        doc = YAML.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
        throw new UserError(`${file} is not valid YAML: ${(e as Error).message.split("\n")[0]}`);
    }
    return parseProject(doc, dir, file);
}

/** Pure: a parsed `Pulumi.yaml` document to a Project (throws a UserError naming a bad field). */
export function parseProject(doc: unknown, root: string, file = path.join(root, "Pulumi.yaml")): Project {
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
        throw new UserError(`${file} is not a Pulumi project file: it holds no mapping`);
    }
    const d = doc as Record<string, unknown>;
    if (typeof d.name !== "string" || d.name.trim() === "") {
        throw new UserError(`${file} has no name: add \`name: <project>\``);
    }
    const runtime = d.runtime;
    const runtimeName = typeof runtime === "string" ? runtime : typeof runtime === "object" && runtime !== null ? (runtime as { name?: unknown }).name : undefined;
    if (typeof runtimeName !== "string") {
        throw new UserError(`${file} has no runtime: add \`runtime: nodejs\``);
    }
    const options = typeof runtime === "object" && runtime !== null ? ((runtime as { options?: Record<string, unknown> }).options ?? {}) : {};
    const main = d.main;
    if (main !== undefined && typeof main !== "string") {
        throw new UserError(`${file}: main must be a path, but is ${JSON.stringify(main)}`);
    }
    const configDir = d.stackConfigDir;
    if (configDir !== undefined && typeof configDir !== "string") {
        throw new UserError(`${file}: stackConfigDir must be a path, but is ${JSON.stringify(configDir)}`);
    }
    const backend = d.backend as { url?: unknown } | undefined;
    const backendUrl = backend && typeof backend === "object" ? backend.url : undefined;
    if (backendUrl !== undefined && typeof backendUrl !== "string") {
        throw new UserError(`${file}: backend.url must be a URL, but is ${JSON.stringify(backendUrl)}`);
    }
    return {
        root,
        name: d.name,
        runtime: runtimeName,
        main,
        stackConfigDir: configDir ? path.resolve(root, configDir) : root,
        backendUrl: backendUrl ? expandFileUrl(backendUrl, root) : undefined,
        typescript: options.typescript === undefined ? true : options.typescript === true || options.typescript === "true",
    };
}

/** `file://./state` and `file://~/x` as Pulumi reads them: relative to the project, or the home folder. */
function expandFileUrl(url: string, root: string): string {
    const m = /^file:\/\/(.*)$/.exec(url);
    if (!m) {
        return url;
    }
    const p = m[1];
    if (p.startsWith("~")) {
        return `file://${path.join(process.env.HOME ?? "", p.slice(1))}`;
    }
    return path.isAbsolute(p) ? url : `file://${path.resolve(root, p)}`;
}

/** Throws a UserError unless `name` is a plain stack name (no path, no `..`): checked before it is joined into any path. */
export function checkStackName(name: string): void {
    const problem = checkFileName("stack name", name);
    if (problem) {
        throw new UserError(problem);
    }
}

/** Names of the stacks of a project that have a config file. */
export function knownStacks(project: Project): string[] {
    if (!fs.existsSync(project.stackConfigDir)) {
        return [];
    }
    return fs
        .readdirSync(project.stackConfigDir)
        .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

/** The config file of a stack, or a UserError naming the known stacks. */
export function stackConfigFile(project: Project, stackName: string): string {
    checkStackName(stackName);
    for (const ext of ["yaml", "yml"]) {
        const f = path.join(project.stackConfigDir, `Pulumi.${stackName}.${ext}`);
        if (fs.existsSync(f)) {
            return f;
        }
    }
    const known = knownStacks(project);
    throw new UserError(
        `stack "${stackName}" has no config file ${path.relative(project.root, path.join(project.stackConfigDir, `Pulumi.${stackName}.yaml`))}` +
            (known.length ? `; known stacks: ${known.join(", ")}` : ""),
    );
}
