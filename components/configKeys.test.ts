/**
 * A component's refusal, when the config-driven programs built it from stack configuration, names the
 * `switchyard:*` key the user sets. The programs run under Pulumi's mocks (no engine).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { awsProgram } from "./aws/program";
import { runGraph } from "./aws/testkit";
import { awsConfigKeys, inConfigTerms, localConfigKeys } from "./configKeys";
import { localProgram } from "./local/program";

const STACKS_DIR = path.resolve(__dirname, "..", "stacks");

/** A stack file's config with overrides, as the engine hands it to the program. */
function stackConfig(file: string, override: Record<string, unknown> = {}): Record<string, string> {
    const doc = YAML.parse(fs.readFileSync(path.join(STACKS_DIR, file), "utf8")) as { config: Record<string, unknown> };
    return Object.fromEntries(Object.entries({ ...doc.config, ...override }).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

/** Runs a program under the mocks; resolves with the refusal's message. */
async function refusal(program: () => unknown, config: Record<string, string>, stack: string): Promise<string> {
    try {
        await runGraph(program, { config, stack });
    } catch (e) {
        assert.ok(pulumi.ResourceError.isInstance(e) || /^switchyard:/.test((e as Error).message), `a refusal, not ${String(e)}`);
        return (e as Error).message;
    }
    assert.fail("the program was not refused");
}

describe("config keys in component refusals", () => {
    it("puts the key in front of the message; leaves a message that names a key, or none it knows", () => {
        const keys = awsConfigKeys();
        assert.strictEqual(inConfigTerms('health check path is "healthz": it must start with "/"', keys), 'switchyard:app.healthCheck.path: health check path is "healthz": it must start with "/"');
        assert.strictEqual(inConfigTerms("switchyard:traffic: traffic weight for blue is 150", keys), "switchyard:traffic: traffic weight for blue is 150");
        assert.strictEqual(inConfigTerms("something else entirely", keys), "something else entirely");
        assert.strictEqual(inConfigTerms("ports.router is 70000: it must be an integer from 1 to 65535", localConfigKeys()), "switchyard:local.ports.router: ports.router is 70000: it must be an integer from 1 to 65535");
        assert.strictEqual(inConfigTerms("candidate.version is missing", localConfigKeys("blue")), "switchyard:colors.blue.version: candidate.version is missing");
    });

    describe("the AWS program", () => {
        const pair = (over: Record<string, unknown>) => refusal(() => awsProgram(new pulumi.Config("switchyard")), stackConfig("Pulumi.prod.yaml", over), "prod");
        const app = (YAML.parse(fs.readFileSync(path.join(STACKS_DIR, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, Record<string, unknown>> }).config["switchyard:app"];

        it("a bad health check path names switchyard:app.healthCheck.path", async () => {
            const m = await pair({ "switchyard:app": { ...app, healthCheck: { path: "healthz" } } });
            assert.match(m, /^switchyard:app\.healthCheck\.path: health check path is "healthz": it must start with "\/"/);
        });

        it("a bad health check interval names switchyard:app.healthCheck.intervalSeconds", async () => {
            const m = await pair({ "switchyard:app": { ...app, healthCheck: { path: "/healthz", intervalSeconds: 1 } } });
            assert.match(m, /^switchyard:app\.healthCheck\.intervalSeconds: health check intervalSeconds is 1/);
        });

        it("a bad app port names switchyard:app.port; a bad listener port names switchyard:aws.listener.port", async () => {
            assert.match(await pair({ "switchyard:app": { ...app, port: 70000 } }), /^switchyard:app\.port: port is 70000/);
            const net = (YAML.parse(fs.readFileSync(path.join(STACKS_DIR, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, Record<string, unknown>> }).config["switchyard:aws"];
            assert.match(await pair({ "switchyard:aws": { ...net, listener: { ...(net.listener as object), port: 0 } } }), /^switchyard:aws\.listener\.port: port is 0/);
        });

        it("a sandbox without ttlHours names switchyard:sandbox.ttlHours", async () => {
            const m = await refusal(() => awsProgram(new pulumi.Config("switchyard")), stackConfig("Pulumi.sandbox.yaml", { "switchyard:sandbox": { productionStack: "organization/switchyard/prod" } }), "sandbox");
            assert.match(m, /^switchyard:sandbox\.ttlHours: a sandbox needs an expiry/);
        });
    });

    describe("the local program", () => {
        const ctx = { dataRoot: "/nonexistent/switchyard-data", cwd: process.cwd() };
        const local = (file: string, over: Record<string, unknown>, stack: string) => refusal(() => localProgram(ctx, new pulumi.Config("switchyard")), stackConfig(file, over), stack);

        it("a bad port names switchyard:local.ports.<port>", async () => {
            const m = await local("Pulumi.local.yaml", { "switchyard:local": { ports: { router: 70000 } } }, "local");
            assert.match(m, /^switchyard:local\.ports\.router: ports\.router is 70000: it must be an integer from 1 to 65535/);
        });

        it("a bad cutover plan names switchyard:cutover.steps", async () => {
            const m = await local("Pulumi.local.yaml", { "switchyard:cutover": { steps: [10, 50] } }, "local");
            assert.match(m, /^switchyard:cutover\.steps: cutover steps end at 50: the last step must be 100/);
        });

        it("an empty app command names switchyard:app.command", async () => {
            const m = await local("Pulumi.local.yaml", { "switchyard:app": { command: " " } }, "local");
            assert.match(m, /^switchyard:app\.command: app\.command is missing/);
        });

        it("a sandbox's bad ttlHours names switchyard:sandbox.ttlHours", async () => {
            const m = await local("Pulumi.local-sandbox.yaml", { "switchyard:sandbox": { productionStack: "organization/switchyard/local", ttlHours: -1 } }, "local-sandbox");
            assert.match(m, /^switchyard:sandbox\.ttlHours: ttlHours is -1: it must be a positive number of hours/);
        });
    });
});
