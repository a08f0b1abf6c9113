/**
 * The bad-input catalogue: every case exits 2 with a message naming the input and the fix, and
 * changes nothing.
 *
 * 1. In process, through the CLI's own entry point (`runCli`, the parse layer of `switchyard`):
 *    fixed cases the issue names (`10,,100`, `10.5,100`, `,100`, path-like stack names, a
 *    10,000-step plan) and cases generated with fast-check (seeded; the seed is printed, FC_SEED
 *    replays it). Run with `--cwd` on an empty project, so a case that wrongly passed the parse
 *    would fail on a missing stack and its message would not match.
 * 2. Against a local pair that is up (real engine, PostgreSQL, HAProxy): a representative subset
 *    through the real CLI (`node bin/switchyard --cwd <project> …` as a child process), and the same
 *    refusals through the library's entry points. After each: the stack's config file and its state
 *    (every file of the backend) byte-for-byte unchanged, and HAProxy serving the same weights.
 *
 * Run it under the lock (it starts processes): flock /tmp/switchyard-e2e.lock npx mocha test/badinput.test.ts
 */
import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn } from "child_process";
import fc from "fast-check";
import * as YAML from "yaml";
import { runCli } from "../bin/cli";
import * as cut from "../cutover";
import { NUMBER_FLAGS, NumberFlag } from "../cutover/options";
import { readWeights } from "../components/local/ops/haproxy";
import * as run from "../stack/run";
import { localPairConfig } from "./support/stacks";
import { tempProject, TempProject, withEnv } from "./support/project";

const REPO = path.resolve(__dirname, "..");
const BIN = path.join(REPO, "bin", "switchyard");
const PACK = path.join(REPO, "policies");
const SEED = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
/** Ports of this file's pair: 21100..21104 (no other test uses 211xx; bench/revert.ts uses 21500). */
const BASE = 21100;

/** What a refusal's fix looks like: it tells the user what to give or do. */
const FIX = /\b(give|use|write|add|pause at|create it|choose another|name a file|drop one|list each|Allowed choices)\b/;

interface Case {
    readonly name: string;
    /** Arguments after `switchyard --cwd <project>`. */
    readonly args: string[];
    /** What the message must hold to name the input (the flag or argument and the value given). */
    readonly names: string[];
}

/** How a message quotes a value (cutover/options.ts `shown`): JSON, cut when long. */
const quoted = (v: string) => (v.length > 60 ? `${JSON.stringify(v.slice(0, 40))}… (${v.length} characters)` : JSON.stringify(v));

// ---------------------------------------------------------------------------------------------
// The catalogue.
// ---------------------------------------------------------------------------------------------

const ten000 = Array.from({ length: 10_000 }, (_, i) => i + 1).join(",");

function fixedCases(files: { dir: string; plainFile: string; policy: Record<string, string> }): Case[] {
    const steps = (v: string): Case => ({ name: `--steps ${quoted(v)}`, args: ["cutover", "pair", `--steps=${v}`], names: [`--steps is ${quoted(v)}`] });
    const stack = (cmd: string, v: string): Case => ({ name: `${cmd} ${quoted(v)}`, args: [cmd, "--", v], names: [`stack name ${quoted(v)}`] });
    const policy = (cmd: string, which: string, names: string[]): Case => ({ name: `${cmd} --policy-config ${which}`, args: [cmd, "pair", "--policy-config", files.policy[which]], names });
    return [
        steps("10,,100"),
        steps("10.5,100"),
        steps(",100"),
        steps("10,100,"),
        steps(" 10, 100"),
        steps("1e1,100"),
        steps("0x10,100"),
        { ...steps(ten000), name: "--steps with a 10,000-step plan", names: ["--steps is", "it lists 10000 weights, more than the cap of 100 steps"] },
        steps("10,101"),
        steps("0,100"),
        steps("50,10,100"),
        steps("10,50"),
        steps("Linear-25"),
        stack("cutover", "../etc"),
        stack("status", "a/b"),
        stack("revert", "/tmp/x"),
        stack("resume", ".."),
        stack("up", ".hidden"),
        stack("destroy", "a b"),
        stack("preview", "-rf"),
        { name: "--pause-at 100", args: ["cutover", "pair", "--pause-at", "100"], names: ['--pause-at is "100"'] },
        { name: "--pause-at not in --steps", args: ["cutover", "pair", "--steps", "10,50,100", "--pause-at", "30"], names: ['--pause-at is "30"', "30 is not a step of the plan (10, 50, 100)"] },
        { name: "--pause-at not in a preset", args: ["cutover", "pair", "--steps", "canary-10", "--pause-at", "50"], names: ['--pause-at is "50"', "(10, 100)"] },
        { name: "--steps jumping past --max-step", args: ["cutover", "pair", "--steps", "10,100", "--max-step", "50"], names: ['--steps is "10,100"', "with --max-step 50"] },
        { name: "--to red", args: ["cutover", "pair", "--to", "red"], names: ["'--to <color>' argument 'red' is invalid", "blue, green"] },
        { name: "--report on a folder", args: ["cutover", "pair", "--report", files.dir], names: [`--report is ${quoted(files.dir)}`, "is a folder"] },
        { name: "--report in a missing folder", args: ["cutover", "pair", "--report", path.join(files.dir, "none", "r.json")], names: ["--report is", "does not exist"] },
        { name: "--report under a file", args: ["revert", "pair", "--report", path.join(files.plainFile, "r.json")], names: ["--report is", "is not a folder"] },
        { name: "--report ending in /", args: ["resume", "pair", "--report", `${files.dir}/`], names: ["--report is", "ends with a path separator"] },
        { name: "--snapshot --name ..", args: ["snapshot", "pair", "--name", ".."], names: ['--name (snapshot name) ".."'] },
        { name: "--snapshot --name latest", args: ["snapshot", "pair", "--name", "latest"], names: ['--name is "latest"', "reserved"] },
        { name: "--snapshot --name a/b", args: ["snapshot", "pair", "--name", "a/b"], names: ['--name (snapshot name) "a/b"'] },
        { name: "rehearse --last 0", args: ["rehearse", "sb", "--last", "0"], names: ['--last is "0"', "from 1 to 1,000"] },
        { name: "rehearse --last 1.5", args: ["rehearse", "sb", "--last", "1.5"], names: ['--last is "1.5"', "not a whole number"] },
        { name: "rehearse --last two", args: ["rehearse", "sb", "--last", "two"], names: ['--last is "two"'] },
        policy("preview", "no-such-rule", ['"no-such-rule" is not a rule of the pack', "use one of its rules: traffic-two-colors"]),
        policy("up", "maxstep", ['rule "cutover-plan-valid" has "maxstep", which it does not take', "use its keys: maxStep"]),
        policy("preview", "bad-level", ['enforcement level "warn" is not one', "advisory, mandatory, disabled"]),
        policy("preview", "malformed", ["is not valid JSON"]),
        policy("up", "out-of-range", ["maxStep is 0: give a whole number at least 1 and at most 100"]),
        policy("preview", "missing", ["does not exist"]),
        { name: "--policy-config with --no-policy", args: ["preview", "pair", "--no-policy", "--policy-config", files.policy["maxstep"]], names: ["is given with --no-policy"] },
        { name: "demo --requests 0", args: ["demo", "--requests", "0"], names: ['--requests is "0"'] },
    ];
}

/** Generated cases: bad step lists, numbers, stack names, pause points and webhook URLs. */
function generatedCases(): Case[] {
    const plan = fc.uniqueArray(fc.integer({ min: 1, max: 99 }), { minLength: 1, maxLength: 7 }).map((xs) => [...xs.sort((a, b) => a - b), 100]);
    const stepDefects = ["empty-middle", "leading-comma", "trailing-comma", "decimal", "exponent", "hex", "space", "tab", "over-100", "zero", "negative", "not-rising", "no-100", "leading-zero", "plus", "unit"] as const;
    const badSteps = fc.tuple(plan, fc.constantFrom(...stepDefects), fc.nat()).map(([p, defect, n]) => {
        const parts = p.map(String);
        const i = n % parts.length;
        switch (defect) {
            case "empty-middle":
                parts.splice(Math.max(1, i), 0, "");
                break;
            case "leading-comma":
                parts.unshift("");
                break;
            case "trailing-comma":
                parts.push("");
                break;
            case "decimal":
                parts[i] = `${parts[i]}.${(n % 9) + 1}`;
                break;
            case "exponent":
                parts[i] = `${parts[i]}e0`;
                break;
            case "hex":
                parts[i] = `0x${Number(parts[i]).toString(16)}`;
                break;
            case "space":
                parts[i] = ` ${parts[i]}`;
                break;
            case "tab":
                parts[i] = `${parts[i]}\t`;
                break;
            case "over-100":
                parts[parts.length - 1] = String(101 + (n % 899));
                break;
            case "zero":
                parts.unshift("0");
                break;
            case "negative":
                parts[0] = `-${parts[0]}`;
                break;
            case "not-rising":
                parts.splice(i, 0, parts[i]);
                break;
            case "no-100":
                parts.pop();
                break;
            case "leading-zero":
                parts[i] = `0${parts[i]}`;
                break;
            case "plus":
                parts[i] = `+${parts[i]}`;
                break;
            case "unit":
                parts[i] = `${parts[i]}%`;
                break;
        }
        return { defect, text: parts.join(",") };
    });

    const gateFlags: NumberFlag[] = ["--interval", "--min-success", "--max-latency", "--min-requests", "--failure-limit", "--windows", "--max-step", "--load"];
    const badNumber = fc.tuple(fc.constantFrom(...gateFlags), fc.constantFrom("decimal", "exponent", "negative", "unit", "space", "above", "below", "word", "hex", "comma", "empty"), fc.integer({ min: 1, max: 99 })).map(([flag, kind, n]) => {
        const r = NUMBER_FLAGS[flag];
        const v: Record<typeof kind, string> = {
            decimal: r.integer ? `${n}.${(n % 9) + 1}` : `${n}.${"5".repeat(4)}`,
            exponent: `${n}e1`,
            negative: `-${n}`,
            unit: `${n}${["s", "ms", "%", "x"][n % 4]}`,
            space: ` ${n}`,
            above: String(r.max + n),
            below: r.min > 0 ? (r.integer ? String(r.min - 1) : "0") : `-${n}`,
            word: ["soon", "NaN", "Infinity", "five"][n % 4],
            hex: `0x${n.toString(16)}`,
            comma: `${n},5`,
            empty: "",
        };
        return { flag, value: v[kind], kind };
    });

    const word = fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/);
    const badStack = fc.tuple(fc.constantFrom("up-dir", "slash", "absolute", "dot-first", "dot-dot", "space", "newline", "backslash", "colon", "star", "tilde", "long", "dash-first"), word, word, fc.nat({ max: 40 })).map(([kind, a, b, n]) => {
        const names: Record<typeof kind, string> = {
            "up-dir": `../${a}`,
            slash: `${a}/${b}`,
            absolute: `/tmp/${a}`,
            "dot-first": `.${a}`,
            "dot-dot": `${a}..${b}`,
            space: `${a} ${b}`,
            newline: `${a}\n`,
            backslash: `${a}\\${b}`,
            colon: `${a}:${b}`,
            star: `${a}*`,
            tilde: `~/${a}`,
            long: "s".repeat(101 + n),
            "dash-first": `-${a}`,
        };
        return names[kind];
    });
    const stackCommands = ["up", "preview", "destroy", "refresh", "outputs", "snapshot", "cutover", "resume", "revert", "status"];

    const badPause = fc.tuple(plan.filter((p) => p.length >= 2), fc.constantFrom("not-in-plan", "at-100", "decimal", "duplicate", "falling")).map(([p, kind]) => {
        const below = p.slice(0, -1);
        const stray = [...Array(99).keys()].map((i) => i + 1).find((w) => !p.includes(w)) as number;
        const pause: Record<typeof kind, string> = {
            "not-in-plan": String(stray),
            "at-100": "100",
            decimal: `${below[0]}.5`,
            duplicate: `${below[0]},${below[0]}`,
            falling: below.length >= 2 ? `${below[1]},${below[0]}` : `${below[0]},${below[0]}`,
        };
        return { steps: p.join(","), pause: pause[kind] };
    });

    const badWebhook = fc.tuple(fc.constantFrom("ftp", "file", "ws", "javascript", "mailto", "no-scheme", "no-host", "space"), word).map(([kind, w]) => {
        const urls: Record<typeof kind, string> = {
            ftp: `ftp://${w}.example.com/hook`,
            file: `file:///tmp/${w}`,
            ws: `ws://${w}.example.com/`,
            javascript: `javascript:${w}()`,
            mailto: `mailto:${w}@example.com`,
            "no-scheme": `${w}.example.com/hook`,
            "no-host": "http://",
            space: `https://${w}.example .com/`,
        };
        return urls[kind];
    });

    const cases: Case[] = [];
    for (const { defect, text } of fc.sample(badSteps, { seed: SEED, numRuns: 40 })) {
        cases.push({ name: `--steps ${quoted(text)} (${defect})`, args: ["cutover", "pair", `--steps=${text}`], names: [`--steps is ${quoted(text)}`] });
    }
    for (const { flag, value, kind } of fc.sample(badNumber, { seed: SEED + 1, numRuns: 30 })) {
        const cmd = flag === "--max-step" || flag === "--load" ? "cutover" : ["cutover", "resume"][value.length % 2];
        cases.push({ name: `${cmd} ${flag} ${quoted(value)} (${kind})`, args: [cmd, "pair", `${flag}=${value}`], names: [`${flag} is ${quoted(value)}`, `from ${r(flag).min.toLocaleString("en-US")} to ${r(flag).max.toLocaleString("en-US")}`] });
    }
    fc.sample(badStack, { seed: SEED + 2, numRuns: 20 }).forEach((name, i) => {
        const cmd = stackCommands[i % stackCommands.length];
        cases.push({ name: `${cmd} with stack name ${quoted(name)}`, args: [cmd, "--", name], names: [`stack name ${quoted(name)}`] });
    });
    for (const { steps, pause } of fc.sample(badPause, { seed: SEED + 3, numRuns: 10 })) {
        cases.push({ name: `--steps ${steps} --pause-at ${pause}`, args: ["cutover", "pair", "--steps", steps, `--pause-at=${pause}`], names: [`--pause-at is ${quoted(pause)}`] });
    }
    fc.sample(badWebhook, { seed: SEED + 4, numRuns: 8 }).forEach((url, i) => {
        const cmd = ["cutover", "resume", "revert"][i % 3];
        cases.push({ name: `${cmd} --webhook ${quoted(url)}`, args: [cmd, "pair", `--webhook=${url}`], names: [`--webhook is ${quoted(url)}`, "http:// or https://"] });
    });
    // fast-check may draw the same value twice: one case each.
    const seen = new Set<string>();
    return cases.filter((c) => !seen.has(c.args.join("\0")) && seen.add(c.args.join("\0")));
}

const r = (flag: NumberFlag) => NUMBER_FLAGS[flag];

// ---------------------------------------------------------------------------------------------
// Running the CLI.
// ---------------------------------------------------------------------------------------------

/** Runs the CLI in this process with its output captured. */
async function cliInProcess(cwd: string, args: string[]): Promise<{ code: number; out: string }> {
    let out = "";
    const capture = (s: string | Uint8Array) => {
        out += String(s);
        return true;
    };
    const [stdout, stderr] = [process.stdout.write, process.stderr.write];
    const listeners = process.stdout.listeners("error");
    process.stdout.write = capture as typeof process.stdout.write;
    process.stderr.write = capture as typeof process.stderr.write;
    try {
        const code = await runCli([process.execPath, BIN, "--cwd", cwd, ...args]);
        return { code, out };
    } finally {
        process.stdout.write = stdout;
        process.stderr.write = stderr;
        for (const l of process.stdout.listeners("error")) {
            if (!listeners.includes(l)) process.stdout.off("error", l as (...a: unknown[]) => void);
        }
        process.exitCode = undefined;
    }
}

/** Runs the real CLI as a child process; bounded. */
function cliChild(args: string[], env: Record<string, string>, timeoutMs = 120_000): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (out += d));
        const timer = setTimeout(() => {
            child.kill("SIGKILL");
            reject(new Error(`switchyard ${args.join(" ")} did not end within ${timeoutMs} ms:\n${out}`));
        }, timeoutMs);
        child.on("exit", (code) => {
            clearTimeout(timer);
            resolve({ code, out });
        });
    });
}

/** The assertions every case shares: exit 2, the input named, a fix, no JavaScript stack trace. */
function assertRefused(c: Pick<Case, "name" | "names">, code: number | null, out: string): void {
    assert.strictEqual(code, 2, `${c.name}: exit code ${code}\n${out}`);
    for (const n of c.names) {
        assert.ok(out.includes(n), `${c.name}: the message should name ${JSON.stringify(n)}:\n${out}`);
    }
    assert.match(out, FIX, `${c.name}: the message should give the fix:\n${out}`);
    assert.doesNotMatch(out, /^\s+at .+:\d+:\d+\)?$/m, `${c.name}: no stack trace:\n${out}`);
}

/** Every file under dir, by relative path, with the sha256 of its bytes. */
function treeHash(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else if (e.isFile()) out[path.relative(dir, p)] = crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex");
        }
    };
    walk(dir);
    return out;
}

// ---------------------------------------------------------------------------------------------
// The suite.
// ---------------------------------------------------------------------------------------------

describe("bad-input catalogue", function () {
    this.timeout(600_000);
    console.log(`      fast-check seed ${SEED} (set FC_SEED to replay)`);
    let dir: string;
    let files: { dir: string; plainFile: string; policy: Record<string, string> };

    const policyFiles = (where: string): Record<string, string> => {
        const write = (name: string, text: string) => {
            const f = path.join(where, `${name}.json`);
            fs.writeFileSync(f, text);
            return f;
        };
        return {
            "no-such-rule": write("no-such-rule", JSON.stringify({ "no-such-rule": "advisory" })),
            maxstep: write("maxstep", JSON.stringify({ "cutover-plan-valid": { maxstep: 5 } })),
            "bad-level": write("bad-level", JSON.stringify({ "sandbox-db-tags": "warn" })),
            malformed: write("malformed", '{"cutover-plan-valid": "advisory",}'),
            "out-of-range": write("out-of-range", JSON.stringify({ "cutover-plan-valid": { maxStep: 0 } })),
            missing: path.join(where, "missing.json"),
        };
    };

    // A project with no stack at all: a case that wrongly passed the parse would fail on the missing
    // stack, and its message would not match.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-badinput-"));
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: badinput\nruntime: nodejs\nstackConfigDir: stacks\n");
    fs.writeFileSync(path.join(dir, "plain"), "");
    files = { dir, plainFile: path.join(dir, "plain"), policy: policyFiles(dir) };
    const catalogue = [...fixedCases(files), ...generatedCases()];

    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    describe(`through the CLI's entry point, in process (${catalogue.length} cases)`, () => {
        let before: Record<string, string>;
        const env = () => ({ PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`, SWITCHYARD_HOME: path.join(dir, "home") });

        it("the catalogue holds at least 100 cases, the issue's among them", () => {
            assert.ok(catalogue.length >= 100, `${catalogue.length} cases`);
            const all = catalogue.map((c) => c.args.join(" "));
            for (const must of ["--steps=10,,100", "--steps=10.5,100", "--steps=,100", "-- ../etc", "-- a/b", "-- /tmp/x", `--steps=${ten000}`]) {
                assert.ok(all.some((a) => a.includes(must)), `the catalogue holds ${must.slice(0, 30)}`);
            }
            fs.mkdirSync(path.join(dir, "state"), { recursive: true });
            before = treeHash(dir);
        });

        for (const c of catalogue) {
            it(`exits 2 naming the input and the fix: ${c.name}`, async () => {
                const { code, out } = await withEnv(env(), () => cliInProcess(dir, c.args));
                assertRefused(c, code, out);
            });
        }

        it("and nothing was written: the project, its backend and its home are as they were", () => {
            assert.deepStrictEqual(treeHash(dir), before);
            assert.ok(!fs.existsSync(path.join(dir, "home")), "no switchyard home was made");
        });
    });

    describe("against a local pair that is up: nothing changes (real engine, HAProxy, PostgreSQL)", () => {
        let proj: TempProject;
        let home: string;
        let socket: string;
        let logs = "";
        let policy: Record<string, string>;
        const env = () => ({ PULUMI_BACKEND_URL: `file://${proj.stateDir}`, SWITCHYARD_HOME: home });
        const target = (stackName = "pair"): run.StackTarget => ({ stackName, project: proj.root, onOutput: (s) => (logs += s) });
        const configFile = () => path.join(proj.root, "stacks", "Pulumi.pair.yaml");

        type Seen = { state: Record<string, string>; config: Buffer; served: unknown };
        const seen = async (): Promise<Seen> => ({ state: treeHash(proj.stateDir), config: fs.readFileSync(configFile()), served: await readWeights(socket) });
        let start: Seen;
        async function assertUnchanged(what: string): Promise<void> {
            const now = await seen();
            assert.ok(now.config.equals(start.config), `${what}: the stack's config file changed`);
            assert.deepStrictEqual(now.state, start.state, `${what}: the stack's state changed`);
            assert.deepStrictEqual(now.served, start.served, `${what}: HAProxy's weights changed`);
        }

        before(async function () {
            this.timeout(300_000);
            const config = localPairConfig(BASE, {
                "switchyard:traffic": { blue: 90, green: 10 },
                "switchyard:app": { command: "node examples/app/server.js", cwd: REPO, environment: { MIGRATE_ON_START: "1" }, healthCheck: { path: "/healthz", intervalSeconds: 1 } },
            });
            proj = tempProject({ pair: YAML.stringify({ config }) }, "badinput-pair");
            // The project's own program: Switchyard's config-driven one.
            fs.writeFileSync(path.join(proj.root, "index.js"), `module.exports = require(${JSON.stringify(path.join(REPO, "program"))}).program;\n`);
            home = path.join(proj.root, "home");
            policy = policyFiles(proj.root);
            const t0 = Date.now();
            const out = (await withEnv(env(), () => run.up(target()))).outputs;
            socket = out.adminSocket.value as string;
            console.log(`      pair up in ${Date.now() - t0} ms (ports ${BASE}..${BASE + 4})`);
            start = await seen();
            assert.deepStrictEqual(start.served, { blue: 90, green: 10 });
        });

        after(async function () {
            this.timeout(300_000);
            if (proj) {
                await withEnv(env(), () => run.destroy(target())).catch((e: Error) => console.error(`destroy failed: ${e.message}`));
                proj.cleanup();
            }
        });

        afterEach(function () {
            if (this.currentTest?.state === "failed") process.stderr.write(logs.slice(-4000));
            logs = "";
        });

        const subset = (): Case[] => [
            { name: "bad steps 10,,100", args: ["cutover", "pair", "--steps", "10,,100"], names: ['--steps is "10,,100"'] },
            { name: "a decimal step", args: ["cutover", "pair", "--steps", "10.5,100"], names: ['--steps is "10.5,100"'] },
            { name: "a 10,000-step plan", args: ["cutover", "pair", "--steps", ten000], names: ["the cap of 100 steps"] },
            { name: "a path-like stack name", args: ["cutover", "../etc"], names: ['stack name "../etc"'] },
            { name: "an absolute stack name", args: ["status", "/tmp/x"], names: ['stack name "/tmp/x"'] },
            { name: "a pause point not in the plan", args: ["cutover", "pair", "--steps", "10,50,100", "--pause-at", "30"], names: ['--pause-at is "30"'] },
            { name: "a webhook that is not http(s)", args: ["cutover", "pair", "--webhook", "ftp://example.com/hook"], names: ['--webhook is "ftp://example.com/hook"'] },
            { name: "a report in a missing folder", args: ["cutover", "pair", "--report", path.join(proj.root, "none", "r.json")], names: ["--report is", "does not exist"] },
            { name: "a gate threshold out of range", args: ["resume", "pair", "--min-success", "101"], names: ['--min-success is "101"'] },
            { name: "a policy config naming no rule of the pack", args: ["preview", "pair", "--policy-config", policy["no-such-rule"]], names: ['"no-such-rule" is not a rule of the pack'] },
            { name: "a policy config key the rule does not take", args: ["up", "pair", "--policy-config", policy.maxstep], names: ['has "maxstep", which it does not take'] },
            { name: "a malformed policy config", args: ["preview", "pair", "--policy-config", policy.malformed], names: ["is not valid JSON"] },
        ];

        it("the real CLI (node bin/switchyard --cwd <project>), 12 cases: exit 2, the input and the fix named, nothing changed", async () => {
            const cases = subset();
            assert.ok(cases.length >= 10);
            for (const c of cases) {
                const t0 = Date.now();
                const { code, out } = await cliChild(["--cwd", proj.root, ...c.args], env());
                assertRefused(c, code, out);
                await assertUnchanged(c.name);
                console.log(`      ✓ ${c.name} (${Date.now() - t0} ms)`);
            }
        });

        it("the library's entry points refuse the same before they read the router or write anything", async () => {
            const cases: [string, () => Promise<unknown>, RegExp][] = [
                ["cutover, steps not rising", () => cut.cutover(target(), { steps: [10, 10, 100] }), /steps is \[10,10,100\]: cutover step 2 \(10\) does not rise/],
                ["cutover, an unknown preset", () => cut.cutover(target(), { steps: "fast" }), /steps is "fast": no preset has that name/],
                ["cutover, a pause not in the plan", () => cut.cutover(target(), { steps: [10, 50, 100], pauseAt: [30] }), /pauseAt is \[30\]: 30 is not a step/],
                ["cutover, a window too short", () => cut.cutover(target(), { gate: { intervalMs: 50 } }), /gate\.intervalMs is 50/],
                ["cutover, a field it does not have", () => cut.cutover(target(), { step: [10, 100] } as never), /the request has no field "step"/],
                ["resume, a success rate as a percent", () => cut.resume(target(), { minSuccessRate: 99 }), /gate\.minSuccessRate is 99/],
                ["revert, a path-like stack", () => cut.revert(target("../etc")), /stack name "\.\.\/etc"/],
                ["status, an absolute stack", () => cut.status(target("/tmp/x")), /stack name "\/tmp\/x"/],
                ["preview, a policy key the rule does not take", () => run.preview(target(), { policyPacks: [PACK], policyPackConfigs: [policy.maxstep] }), /has "maxstep", which it does not take/],
                ["up, a rule the pack does not have", () => run.up(target(), { policyPacks: [PACK], policyPackConfigs: [policy["no-such-rule"]] }), /"no-such-rule" is not a rule of the pack/],
            ];
            for (const [what, call, pattern] of cases) {
                await assert.rejects(
                    withEnv(env(), call),
                    (e: Error) => e instanceof run.UserError && pattern.test(e.message),
                    what,
                );
                await assertUnchanged(what);
            }
        });

        it("a plain engine preview with the pack (no Switchyard check first) refuses an unknown key too: the pack itself", async () => {
            const stack = await withEnv(env(), () => run.openStack(target()));
            let text = "";
            await assert.rejects(
                withEnv(env(), () => stack.preview({ policyPacks: [PACK], policyPackConfigs: [policy.maxstep], onOutput: (s) => (text += s) })),
                (e: Error) => /policy config for rule "cutover-plan-valid" has "maxstep", which it does not take: use its keys: maxStep/.test(`${e.message}\n${text}`),
            );
            await assertUnchanged("plain preview");
        });
    });
});
