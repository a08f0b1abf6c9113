/**
 * Feature flags on a local pair, end to end: the real engine writes the flagd file, both colors' apps
 * (OpenFeature's flagd provider, in-process) follow it, and requests from distinct users go through
 * HAProxy. The policy pack and the components refuse bad definitions at preview, naming the flag.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import * as YAML from "yaml";
import * as run from "../stack/run";
import { program } from "../index";
import { flagdText, FlagsConfig, parseFlagsHeader, servedRollouts } from "../components/flags";
import { FlagsFile } from "../components/local/flags";
import { flagsStatus, formatFlagsStatus } from "../stack/flags";
import { isAlive } from "../components/local/ops/proc";
import { localPairConfig } from "./support/stacks";
import { tempProject, TempProject, withEnv } from "./support/project";
import { portBlock } from "./support/ports";

const PACK = path.resolve(__dirname, "..", "policies");
const ROOT = path.resolve(__dirname, "..");
/**
 * Names the 2,000 users. A share of hashed ids is binomial (sd 13 users of 2,000 at 10%): the ±2-point
 * check holds for about 997 seeds in 1,000, so CI uses a fixed one, and FLAGS_TEST_SEED tries others.
 */
const SEED = Number(process.env.FLAGS_TEST_SEED ?? 20261130);

interface Answer {
    status: number;
    color: string;
    flags: Record<string, string>;
}

/** GET path with the given headers, over a keep-alive agent. */
function get(agent: http.Agent, url: string, headers: Record<string, string>): Promise<Answer> {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { agent, headers, timeout: 10_000 }, (res) => {
            res.resume();
            res.on("end", () => resolve({ status: res.statusCode ?? 0, color: String(res.headers["x-color"] ?? ""), flags: parseFlagsHeader(res.headers["x-flags"] as string | undefined) }));
        });
        req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
        req.on("error", reject);
    });
}

/** One GET /checkout per user, `concurrency` at a time: each user's answer, in order. */
async function askUsers(url: string, users: readonly Record<string, string>[], concurrency = 8): Promise<Answer[]> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    const out: Answer[] = new Array(users.length);
    let next = 0;
    try {
        await Promise.all(
            Array.from({ length: concurrency }, async () => {
                while (next < users.length) {
                    const i = next++;
                    out[i] = await get(agent, `${url}/checkout`, users[i]);
                }
            }),
        );
    } finally {
        agent.destroy();
    }
    return out;
}

const user = (i: number, extra: Record<string, string> = {}) => ({ "x-user-id": `user-${SEED}-${i}`, ...extra });

describe("feature flags on a local pair (real engine, flagd provider in the apps, HAProxy)", function () {
    this.timeout(420_000);
    let proj: TempProject;
    let base = 0;
    let logs = "";
    let out: Record<string, { value: unknown }>;
    const env = () => ({ PULUMI_BACKEND_URL: `file://${proj.stateDir}`, SWITCHYARD_HOME: path.join(proj.root, "home") });
    const inEnv = <T>(fn: () => Promise<T>) => withEnv(env(), fn);
    const target = (stackName: string, prog = program): run.StackTarget => ({ stackName, root: proj.root, program: prog, onOutput: (s) => (logs += s) });
    const config = (flags: unknown, over: Record<string, unknown> = {}) =>
        YAML.stringify({ config: localPairConfig(base, { "switchyard:traffic": { blue: 50, green: 50 }, "switchyard:flags": flags, ...over }) });
    const writeStack = (stack: string, flags: unknown) => fs.writeFileSync(path.join(proj.root, "stacks", `Pulumi.${stack}.yaml`), config(flags));

    before(async () => {
        process.stdout.write(`      flags test seed ${SEED} (FLAGS_TEST_SEED=${SEED} repeats it)\n`);
        base = await portBlock(5);
        proj = tempProject({});
        // The project's own program, for the CLI (the library calls get it as `program`).
        fs.writeFileSync(path.join(proj.root, "index.js"), `module.exports = () => require(${JSON.stringify(path.join(ROOT, "program"))}).program();\n`);
        writeStack("flags", { "new-checkout": { rollout: 10 } });
        out = (await inEnv(() => run.up(target("flags")))).outputs;
    });

    after(async () => {
        const pids = (out?.appPids?.value as number[] | undefined) ?? [];
        await inEnv(() => run.destroy(target("flags"))).catch((e) => process.stderr.write(`destroy: ${e}\n`));
        for (const pid of pids) assert.ok(!isAlive(pid), `app process ${pid} is gone`);
        proj.cleanup();
    });

    afterEach(function () {
        if (this.currentTest?.state === "failed") process.stderr.write(logs.slice(-4000));
        logs = "";
    });

    it("the stack writes the flagd file and gives its path to both colors' apps", () => {
        const file = out.flagsFile.value as string;
        assert.strictEqual(file, path.join(proj.root, "home", "data", "flags", "flags", "flags.flagd.json"));
        assert.strictEqual(fs.readFileSync(file, "utf8"), flagdText({ "new-checkout": { rollout: 10 } }));
        const leftovers = fs.readdirSync(path.dirname(file)).filter((f) => f.endsWith(".tmp"));
        assert.deepStrictEqual(leftovers, [], "no temporary file is left beside it");
    });

    it("a flag at 10% is on for 10% ± 2 points of 2,000 distinct users through HAProxy, each user's answer sticky across requests and colors", async () => {
        const users = Array.from({ length: 2000 }, (_, i) => user(i));
        const answers = await askUsers(out.url.value as string, users);
        assert.deepStrictEqual(answers.filter((a) => a.status !== 200).length, 0, "every request answered 200");
        const on = answers.filter((a) => a.flags["new-checkout"] === "on").length;
        const colors = new Set(answers.map((a) => a.color));
        process.stdout.write(`      ${on} of 2000 users on (${(on / 20).toFixed(1)}%), served by ${[...colors].join(" and ")}\n`);
        assert.ok(answers.every((a) => a.flags["new-checkout"] === "on" || a.flags["new-checkout"] === "off"), "every answer names the flag's variant in x-flags");
        assert.ok(Math.abs(on / 2000 - 0.1) <= 0.02, `${on} of 2000 on: expected 10% ± 2 points`);
        assert.deepStrictEqual([...colors].sort(), ["blue", "green"], "both colors answered");
        // The same 400 users again, three times: each gets the answer it got, whichever color serves it.
        const again = users.slice(0, 400);
        for (let round = 0; round < 3; round++) {
            const b = await askUsers(out.url.value as string, again);
            const changed = b.filter((a, i) => a.flags["new-checkout"] !== answers[i].flags["new-checkout"]).length;
            assert.strictEqual(changed, 0, `round ${round + 1}: ${changed} of 400 users got another answer`);
        }
    });

    it("`switchyard flags` shows the flag as config, state, the served file and each color's app serve it", async () => {
        const s = await inEnv(() => flagsStatus(target("flags"), { sample: 1000 }));
        assert.strictEqual(s.platform, "local");
        assert.deepStrictEqual(s.disagreements, []);
        const f = s.flags.find((x) => x.name === "new-checkout")!;
        assert.deepStrictEqual([f.configured, f.inState, f.served], [10, 10, 10]);
        for (const c of ["blue", "green"] as const) {
            const a = f.apps?.[c];
            assert.ok(a && !("error" in a), `${c}: ${JSON.stringify(a)}`);
            assert.ok(Math.abs(a.onShare - 0.1) <= 0.03, `${c} serves on to ${a.onShare} of its sample`);
        }
        assert.match(formatFlagsStatus(s), /new-checkout: config 10%, state 10%, served 10%/);
        // The CLI: a thin shell over it.
        const cli = spawnSync(process.execPath, [path.join(ROOT, "bin", "switchyard"), "-C", proj.root, "flags", "flags", "--sample", "200"], {
            env: { ...process.env, ...env() },
            encoding: "utf8",
            timeout: 120_000,
        });
        assert.strictEqual(cli.status, 0, cli.stderr);
        assert.match(cli.stdout, /new-checkout: config 10%, state 10%, served 10%/);
        assert.match(cli.stdout, /blue app: on for \d+\.\d% of 200 sample users/);
        const bad = spawnSync(process.execPath, [path.join(ROOT, "bin", "switchyard"), "-C", proj.root, "flags", "flags", "--sample", "lots"], { env: { ...process.env, ...env() }, encoding: "utf8", timeout: 60_000 });
        assert.strictEqual(bad.status, 2);
        assert.match(bad.stderr, /--sample is "lots": give a whole number from 0 to 100000/);
    });

    it("at the internal stage internal users get it on and others do not", async () => {
        writeStack("flags", { "new-checkout": { rollout: "internal" } });
        const r = await inEnv(() => run.up(target("flags")));
        assert.strictEqual(r.summary.resourceChanges?.update, 1, "only the flags file changed");
        assert.ok(!r.summary.resourceChanges?.replace, "no app was replaced");
        assert.deepStrictEqual(servedRollouts(fs.readFileSync(out.flagsFile.value as string, "utf8")), { "new-checkout": "internal" });
        // The apps follow the file within their poll interval (100 ms); allow a busy machine 5 s.
        const url = out.url.value as string;
        const deadline = Date.now() + 5_000;
        const internal = Array.from({ length: 200 }, (_, i) => user(10_000 + i, { "x-user-group": "internal" }));
        let answers = await askUsers(url, internal);
        while (answers.some((a) => a.flags["new-checkout"] !== "on") && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 100));
            answers = await askUsers(url, internal);
        }
        assert.strictEqual(answers.filter((a) => a.flags["new-checkout"] === "on").length, 200, "every internal user is on");
        const others = await askUsers(url, Array.from({ length: 1000 }, (_, i) => user(i, i % 2 ? { "x-user-group": "customers" } : {})));
        assert.strictEqual(others.filter((a) => a.flags["new-checkout"] !== "off").length, 0, "no other user is on (of 1000)");
    });

    it("bad flag definitions are refused at preview, naming the flag, by the component and by the policy pack", async () => {
        const preview = async (stack: string, prog = program) => {
            let text = "";
            try {
                await inEnv(() => run.preview({ ...target(stack, prog), onOutput: (s) => (text += s) }, { policyPacks: [PACK] }));
                return { passed: true, text };
            } catch (e) {
                return { passed: false, text: `${(e as Error).message}\n${text}` };
            }
        };
        writeStack("bad", { "new-checkout": { defaultVariant: "maybe", rollout: 10 } });
        const r = await preview("bad");
        assert.strictEqual(r.passed, false);
        assert.match(r.text, /switchyard:flags\.new-checkout: defaultVariant "maybe" is not a variant: use one of "on", "off"/);
        assert.ok(!fs.existsSync(path.join(proj.root, "home", "data", "bad")), "a refused preview creates nothing");

        // A flags file written from a program that skips the component's checks: the pack refuses it.
        writeStack("raw", {});
        const raw = await preview("raw", async () => {
            const flags = { "new-checkout": { rollout: 150 }, promo: { internal: { rule: "{not json" } } } as unknown as FlagsConfig;
            new FlagsFile("shop-flags", { path: path.join(proj.root, "raw.flagd.json"), flags });
            return {};
        });
        assert.strictEqual(raw.passed, false);
        assert.match(raw.text, /\[mandatory\]\s+flags-valid/);
        assert.match(raw.text, /flags-valid: switchyard:flags\.new-checkout: rollout is 150: use "off", "internal" or a whole percentage from 0 to 100 \(a percentage over 100\)/);
        assert.match(raw.text, /flags-valid: switchyard:flags\.promo: internal\.rule does not parse as JSON/);
        assert.ok(!fs.existsSync(path.join(proj.root, "raw.flagd.json")), "nothing written");
    });
});
