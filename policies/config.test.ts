/**
 * Policy config files checked against the pack: unknown rules, unknown keys, bad levels, values outside
 * a rule's schema and malformed JSON are refused with the valid choices named; and the pack itself
 * refuses an unknown key when the engine hands it over. No CLI needed.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { UserError } from "../stack/errors";
import { checkPolicyConfig, ENFORCEMENT_LEVELS, parsePolicyConfig, readPolicyConfigFile, ruleKeys, strictRuleConfig, SUPPORTED_SCHEMA_KEYWORDS } from "./config";
import { RULES, RULE_NAMES } from "./rules";

const rule = (name: string) => RULES.find((r) => r.name === name)!;

describe("policies: policy config files", () => {
    it("takes levels, rule keys within their schemas, and `all`", () => {
        const ok = {
            all: "advisory",
            "sandbox-db-tags": "disabled",
            "prod-db-backup-retention": { enforcementLevel: "advisory", minDays: 14 },
            "cutover-plan-valid": { maxStep: 25 },
            "no-public-db-port": { ports: [5432, 3306, 6379] },
            "stack-role-consistent": { stackRole: "production" },
            "sandbox-expiry-max": { maxHours: 0.5 },
            "traffic-two-colors": { enforcementLevel: "mandatory" },
        };
        assert.deepStrictEqual(checkPolicyConfig(ok), []);
        assert.deepStrictEqual(checkPolicyConfig({}), []);
    });

    const table: [string, unknown, string[]][] = [
        ["a rule the pack does not have", { "no-such-rule": "advisory" }, ['"no-such-rule" is not a rule of the pack: use one of its rules: traffic-two-colors, traffic-weights-valid, cutover-plan-valid']],
        ["a key the rule does not take", { "cutover-plan-valid": { maxstep: 5 } }, ['rule "cutover-plan-valid" has "maxstep", which it does not take: use its keys: maxStep (and enforcementLevel)']],
        ["a key on a rule that takes none", { "traffic-two-colors": { maxStep: 5 } }, ['rule "traffic-two-colors" has "maxStep", which it does not take: it takes no config keys; give only an enforcementLevel (advisory, mandatory, disabled)']],
        ["a bad level as a string", { "sandbox-db-tags": "warn" }, ['rule "sandbox-db-tags": enforcement level "warn" is not one: use advisory, mandatory, disabled']],
        ["a bad level in an object", { "sandbox-db-tags": { enforcementLevel: "Mandatory" } }, ['enforcement level "Mandatory" is not one']],
        ["remediate, which no rule of the pack has", { "sandbox-db-tags": "remediate" }, ['enforcement level "remediate" is not one']],
        ["a value below the schema's minimum", { "cutover-plan-valid": { maxStep: 0 } }, ['rule "cutover-plan-valid": maxStep is 0: give a whole number at least 1 and at most 100']],
        ["a decimal where the schema wants a whole number", { "prod-db-backup-retention": { minDays: 7.5 } }, ["minDays is 7.5: give a whole number"]],
        ["a value at an exclusive minimum", { "sandbox-expiry-max": { maxHours: 0 } }, ["maxHours is 0: give a number greater than 0"]],
        ["a string where a number goes", { "cutover-plan-valid": { maxStep: "5" } }, ['maxStep is "5": give a whole number']],
        ["a value outside an enum", { "stack-role-consistent": { stackRole: "prod" } }, ['stackRole is "prod": use one of "production", "sandbox"']],
        ["a bad list item", { "no-public-db-port": { ports: [5432, 70000] } }, ["ports[1] is 70000: give a whole number at least 1 and at most 65535"]],
        ["a rule set to a number", { "sandbox-db-tags": 1 }, ['rule "sandbox-db-tags" is set to 1: give an enforcement level']],
        ["keys under all", { all: { enforcementLevel: "advisory", maxStep: 5 } }, ['"all" takes only an enforcementLevel, not "maxStep"']],
        ["a list instead of an object", ["cutover-plan-valid"], ['it is ["cutover-plan-valid"], not an object of rules']],
    ];
    for (const [what, config, expected] of table) {
        it(`refuses ${what}, naming the valid choices`, () => {
            const problems = checkPolicyConfig(config);
            assert.strictEqual(problems.length, expected.length, problems.join("\n"));
            expected.forEach((e, i) => assert.ok(problems[i].includes(e), `${JSON.stringify(problems[i])} should include ${JSON.stringify(e)}`));
        });
    }

    it("lists every problem of a file at once", () => {
        const problems = checkPolicyConfig({ "no-such-rule": "advisory", "cutover-plan-valid": { maxstep: 5, maxStep: 0 } });
        assert.strictEqual(problems.length, 3, problems.join("\n"));
    });

    it("parsePolicyConfig: a UserError naming the file, for malformed JSON and for refused content", () => {
        assert.throws(() => parsePolicyConfig('{"cutover-plan-valid": "advisory",}', "p.json"), (e: Error) => e instanceof UserError && /^policy config p\.json is not valid JSON \(.+\): write an object such as/.test(e.message));
        assert.throws(() => parsePolicyConfig('{"no-such-rule": "advisory"}', "p.json"), (e: Error) => e instanceof UserError && e.message.startsWith('policy config p.json is refused:\n  "no-such-rule" is not a rule'));
        assert.deepStrictEqual(parsePolicyConfig('{"cutover-plan-valid": "advisory"}', "p.json"), { "cutover-plan-valid": "advisory" });
    });

    describe("readPolicyConfigFile (real files)", () => {
        let dir: string;
        before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-policy-config-"))));
        after(() => fs.rmSync(dir, { recursive: true, force: true }));
        it("reads a valid file; refuses a missing file, a folder and an empty file", () => {
            const good = path.join(dir, "good.json");
            fs.writeFileSync(good, JSON.stringify({ "cutover-plan-valid": { maxStep: 25 } }));
            assert.deepStrictEqual(readPolicyConfigFile(good), { "cutover-plan-valid": { maxStep: 25 } });
            assert.throws(() => readPolicyConfigFile(path.join(dir, "none.json")), new RegExp(`policy config ${dir}/none\\.json does not exist`));
            assert.throws(() => readPolicyConfigFile(dir), /is a folder: give the JSON file/);
            fs.writeFileSync(path.join(dir, "empty.json"), "");
            assert.throws(() => readPolicyConfigFile(path.join(dir, "empty.json")), /is not valid JSON/);
        });
    });

    describe("the rules' schemas", () => {
        it("are strict (additionalProperties: false) and use only keywords the check understands", () => {
            for (const r of RULES) {
                if (!r.configSchema) continue;
                assert.strictEqual(r.configSchema.additionalProperties, false, `${r.name}'s schema is strict`);
                for (const [k, p] of Object.entries(r.configSchema.properties)) {
                    const walk = (s: Record<string, unknown>, where: string) => {
                        for (const kw of Object.keys(s)) {
                            assert.ok((SUPPORTED_SCHEMA_KEYWORDS as readonly string[]).includes(kw), `${where}: keyword ${kw} is not checked by policies/config.ts`);
                        }
                        if (s.items) walk(s.items as Record<string, unknown>, `${where}.items`);
                    };
                    walk(p as Record<string, unknown>, `${r.name}.${k}`);
                }
            }
        });
        it("each rule's default config passes its own check", () => {
            for (const r of RULES) {
                const defaults = Object.fromEntries(Object.entries(r.configSchema?.properties ?? {}).filter(([, p]) => "default" in (p as object)).map(([k, p]) => [k, (p as { default: unknown }).default]));
                assert.deepStrictEqual(checkPolicyConfig({ [r.name]: { enforcementLevel: r.enforcementLevel, ...defaults } }), [], r.name);
            }
            assert.deepStrictEqual(ruleKeys(rule("cutover-plan-valid")), ["maxStep"]);
            assert.deepStrictEqual([...ENFORCEMENT_LEVELS], ["advisory", "mandatory", "disabled"]);
            assert.strictEqual(RULES.length, RULE_NAMES.length);
        });
    });

    describe("the pack refuses an unknown key itself (a plain `pulumi preview --policy-pack`)", () => {
        type Policy = Record<string, unknown>;
        let policies: Policy[] = [];
        before(() => {
            const server = require("@pulumi/policy/server");
            const realServe = server.serve;
            server.serve = (_n: string, _v: string, _l: string, args: { policies: Policy[] }) => (policies = args.policies);
            try {
                // A fresh load: rules.test.ts may have loaded the pack already.
                delete require.cache[require.resolve("./index")];
                require("./index");
            } finally {
                server.serve = realServe;
                // Leave no loaded pack behind: another suite loads it afresh to capture what it serves.
                delete require.cache[require.resolve("./index")];
            }
        });

        it("a resource rule throws, naming the key and the keys it takes; a known key passes", () => {
            const p = policies.find((x) => x.name === "cutover-plan-valid")!;
            const args = (config: Record<string, unknown>) => ({ type: "random:index:Thing", name: "x", urn: "urn:x", props: {}, opts: {}, getConfig: () => config });
            assert.throws(() => (p.validateResource as Function)(args({ maxstep: 5 }), () => undefined), /policy config for rule "cutover-plan-valid" has "maxstep", which it does not take: use its keys: maxStep/);
            assert.doesNotThrow(() => (p.validateResource as Function)(args({ maxStep: 5 }), () => undefined));
            assert.strictEqual(strictRuleConfig(rule("cutover-plan-valid"), { maxStep: 5 }), undefined);
        });

        it("the stack rule throws too", () => {
            const p = policies.find((x) => x.name === "stack-role-consistent")!;
            assert.throws(() => (p.validateStack as Function)({ resources: [], getConfig: () => ({ role: "production" }) }, () => undefined), /has "role", which it does not take: use its keys: stackRole/);
        });
    });
});
