/**
 * Running the user's own program. With no nodejs language host (as on offline machines) the program
 * module is loaded inline, in this process, the way the language host would run it: its folder is the
 * working directory, TypeScript goes through ts-node with the project's tsconfig, a function export
 * is called, and the exports (or what the function returns) become the stack's outputs. Each run loads
 * the program afresh, so an `up` after a config change sees the new values.
 */
import * as fs from "fs";
import * as path from "path";
import { PulumiFn } from "@pulumi/pulumi/automation";
import { UserError } from "./errors";
import { Project } from "./project";

/** The program's entry file, resolved as the language host does: `main`, package.json, then index. */
export function programEntry(project: Project): string {
    if (project.main) {
        const p = path.resolve(project.root, project.main);
        if (!fs.existsSync(p)) {
            throw new UserError(`${project.name}'s Pulumi.yaml names main ${project.main}, which does not exist in ${project.root}`);
        }
        return fs.statSync(p).isDirectory() ? indexIn(p, project) : p;
    }
    return indexIn(project.root, project);
}

function indexIn(dir: string, project: Project): string {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg)) {
        const main = (JSON.parse(fs.readFileSync(pkg, "utf8")) as { main?: string }).main;
        if (main) {
            const p = path.resolve(dir, main);
            for (const candidate of [p, `${p}.js`, `${p}.ts`, path.join(p, "index.js"), path.join(p, "index.ts")]) {
                if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) {
                    return candidate;
                }
            }
        }
    }
    const names = project.typescript ? ["index.ts", "index.js"] : ["index.js", "index.ts"];
    for (const n of names) {
        if (fs.existsSync(path.join(dir, n))) {
            return path.join(dir, n);
        }
    }
    throw new UserError(`no program in ${dir}: expected ${names.join(" or ")}, a package.json main, or main: in Pulumi.yaml`);
}

const TS_NODE_INSTANCE = Symbol.for("ts-node.register.instance");

/** Registers ts-node once per process, with the project's tsconfig when it has one. */
function registerTypeScript(project: Project): void {
    if ((process as unknown as Record<symbol, unknown>)[TS_NODE_INSTANCE]) {
        return; // already compiling TypeScript (e.g. Switchyard run from its sources)
    }
    let tsNode: string;
    try {
        tsNode = require.resolve("ts-node", { paths: [project.root, __dirname] });
    } catch {
        throw new UserError(`the program of ${project.name} is TypeScript, but ts-node cannot be found: run \`npm install\` in ${project.root}`);
    }
    const tsconfig = path.join(project.root, "tsconfig.json");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require(tsNode) as typeof import("ts-node")).register({
        transpileOnly: true,
        ...(fs.existsSync(tsconfig) ? { project: tsconfig } : { skipProject: true }),
        compilerOptions: { module: "commonjs" },
    });
}

/**
 * Forgets the modules a program run loaded from the project's folder (not its node_modules, and not
 * the ones this process had loaded before: the library itself when the project is Switchyard's own),
 * so the next run executes the program again.
 */
function forgetProjectModules(root: string, keep: ReadonlySet<string>): void {
    const inside = root.endsWith(path.sep) ? root : root + path.sep;
    for (const id of Object.keys(require.cache)) {
        if (id.startsWith(inside) && !keep.has(id) && !id.slice(inside.length).split(path.sep).includes("node_modules")) {
            delete require.cache[id];
        }
    }
}

/** The outputs of a loaded program module, as the language host takes them. */
export async function outputsOf(mod: unknown): Promise<Record<string, unknown>> {
    let value: unknown = mod;
    if (typeof value === "object" && value !== null) {
        const keys = Object.keys(value).filter((k) => k !== "__esModule");
        const dflt = (value as { default?: unknown }).default;
        if (keys.length === 1 && keys[0] === "default" && typeof dflt === "function") {
            value = dflt;
        }
    }
    const result = typeof value === "function" ? await (value as () => unknown)() : await value;
    if (result === undefined || result === null) {
        return {};
    }
    if (typeof result !== "object") {
        throw new UserError(`the program returned ${typeof result}: a program returns (or exports) an object of stack outputs`);
    }
    return Object.fromEntries(Object.entries(result as Record<string, unknown>).filter(([k, v]) => k !== "__esModule" && typeof v !== "function"));
}

/** The project's program as an inline Automation API program. */
export function inlineProgram(project: Project): PulumiFn {
    const entry = programEntry(project);
    const preloaded = new Set(Object.keys(require.cache));
    preloaded.delete(entry);
    return async () => {
        if (/\.[cm]?tsx?$/.test(entry)) {
            registerTypeScript(project);
        }
        forgetProjectModules(project.root, preloaded);
        const cwd = process.cwd();
        process.chdir(project.root);
        try {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            return await outputsOf(require(entry));
        } finally {
            process.chdir(cwd);
        }
    };
}
