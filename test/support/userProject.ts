/** A small user project with a program of its own, and the CLI run on it as a child process. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { PACKAGE_ROOT } from "../../stack/env";

const CLI = path.join(PACKAGE_ROOT, "bin", "switchyard");

/** A project with a program of its own: `pairs` bare components of the local pair's type. */
export function userProject(): { root: string; state: string; cleanup: () => void } {
    // Inside the package's folder so the program resolves @pulumi/pulumi from its node_modules.
    const base = path.join(PACKAGE_ROOT, ".switchyard", "test-projects");
    fs.mkdirSync(base, { recursive: true });
    const root = fs.mkdtempSync(path.join(base, "user-"));
    const state = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-user-state-"));
    fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: user-infra\nruntime:\n  name: nodejs\n  options:\n    typescript: true\nstackConfigDir: deploy\n");
    fs.mkdirSync(path.join(root, "deploy"));
    fs.mkdirSync(path.join(root, "src", "deeper"), { recursive: true });
    fs.writeFileSync(
        path.join(root, "index.ts"),
        [
            'import * as pulumi from "@pulumi/pulumi";',
            "const cfg = new pulumi.Config();",
            'const n = cfg.getNumber("pairs") ?? 0;',
            "for (let i = 0; i < n; i++) {",
            '    const c = new pulumi.ComponentResource("switchyard:local:BlueGreen", `pair${i}`, {});',
            '    c.registerOutputs({ platform: "local", weights: { blue: 100, green: 0 } });',
            "}",
            'if (cfg.getBoolean("refused")) {',
            '    const { LocalBlueGreen } = require("../../../components/local");',
            '    new LocalBlueGreen("shop", { app: { command: "node app.js" }, colors: { blue: { version: "1" }, green: { version: "2" } } });',
            "}",
            'if (cfg.getBoolean("needsKey")) cfg.require("region");',
            "export const pairs = n;",
            'export const where = process.cwd();',
            "",
        ].join("\n"),
    );
    fs.writeFileSync(path.join(root, "deploy", "Pulumi.none.yaml"), "config:\n  user-infra:pairs: 0\n");
    fs.writeFileSync(path.join(root, "deploy", "Pulumi.two.yaml"), "config:\n  user-infra:pairs: 2\n");
    fs.writeFileSync(path.join(root, "deploy", "Pulumi.refused.yaml"), "config:\n  user-infra:refused: true\n  switchyard:traffic:\n    blue: 101\n    green: 0\n");
    fs.writeFileSync(path.join(root, "deploy", "Pulumi.unset.yaml"), "config:\n  user-infra:needsKey: true\n");
    return {
        root,
        state,
        cleanup: () => {
            fs.rmSync(root, { recursive: true, force: true });
            fs.rmSync(state, { recursive: true, force: true });
        },
    };
}

export function cli(cwd: string, args: string[], state: string): { code: number | null; out: string; err: string } {
    const r = spawnSync(process.execPath, [CLI, ...args], {
        cwd,
        encoding: "utf8",
        timeout: 120_000,
        env: { ...process.env, PULUMI_BACKEND_URL: `file://${state}`, SWITCHYARD_HOME: path.join(state, "home") },
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
}

