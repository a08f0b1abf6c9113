/** Flags: strict checks naming the flag, the flagd document, rollout stages; evaluated by flagd-core itself. */
import * as assert from "assert";
import fc from "fast-check";
import { FlagdCore } from "@openfeature/flagd-core";
import {
    FLAGD_SCHEMA,
    FlagsConfig,
    checkFlagdDocument,
    checkFlags,
    flagdText,
    formatFlagsHeader,
    parseFlags,
    parseFlagsHeader,
    parseStage,
    rolloutOf,
    servedRollouts,
    toFlagd,
    withRollout,
} from "./flags";

/** flagd's own evaluator over the document, strict schema validation on. */
function served(flags: FlagsConfig): FlagdCore {
    const core = new FlagdCore();
    (core as unknown as { _storage: { setConfigurations(s: string, strict: boolean): void } })._storage.setConfigurations(flagdText(flags), true);
    return core;
}

function variantOf(core: FlagdCore, flag: string, ctx: Record<string, string>): string | undefined {
    return core.resolveBooleanEvaluation(flag, false, ctx).variant;
}

describe("flags: switchyard:flags checked", () => {
    const cases: [string, unknown, RegExp | undefined][] = [
        ["the defaults", { "new-checkout": {} }, undefined],
        ["a full flag", { "new-checkout": { variants: { on: true, off: false }, defaultVariant: "off", rollout: 10, internal: { attribute: "email", endsWith: "@example.com" } } }, undefined],
        ["string variants", { theme: { variants: { dark: "dark", light: "light" }, defaultVariant: "light", onVariant: "dark", rollout: "internal" } }, undefined],
        ["a rule of one's own", { f: { internal: { rule: '{"==":[{"var":"tier"},"staff"]}' }, rollout: 5 } }, undefined],
        ["an unknown default variant", { "new-checkout": { defaultVariant: "maybe" } }, /^switchyard:flags\.new-checkout: defaultVariant "maybe" is not a variant: use one of "on", "off"$/],
        ["an unknown on variant", { "new-checkout": { variants: { a: "a", b: "b" }, defaultVariant: "a" } }, /^switchyard:flags\.new-checkout: onVariant "on" is not a variant \(the default\): use one of "a", "b" or set onVariant$/],
        ["a percentage over 100", { "new-checkout": { rollout: 110 } }, /^switchyard:flags\.new-checkout: rollout is 110: .*over 100/],
        ["a fractional percentage", { "new-checkout": { rollout: 10.5 } }, /^switchyard:flags\.new-checkout: rollout is 10\.5/],
        ["a stage that is none", { "new-checkout": { rollout: "half" } }, /^switchyard:flags\.new-checkout: rollout is "half": use "off", "internal"/],
        ["a rule that is not JSON", { "new-checkout": { internal: { rule: "{group == internal" } } }, /^switchyard:flags\.new-checkout: internal\.rule does not parse as JSON/],
        ["a rule with an unknown operator", { "new-checkout": { internal: { rule: { frobnicate: [{ var: "group" }, "x"] } } } }, /^switchyard:flags\.new-checkout: internal\.rule does not parse as JsonLogic/],
        ["a stray key", { "new-checkout": { percent: 10 } }, /^switchyard:flags\.new-checkout: "percent" is not a key of a flag/],
        ["mixed variant types", { x: { variants: { on: true, off: "no" } } }, /^switchyard:flags\.x: variants mix boolean and string/],
        ["a bad state", { x: { state: "on" } }, /^switchyard:flags\.x: state is "on"/],
        ["a bad name", { "new checkout": {} }, /^switchyard:flags\.new checkout: the flag name is not one/],
        ["not an object", [1], /^switchyard:flags is \[1\]/],
    ];
    for (const [what, flags, re] of cases) {
        it(`${what}: ${re ?? "valid"}`, () => {
            const problems = checkFlags(flags);
            if (re === undefined) assert.deepStrictEqual(problems, []);
            else assert.ok(problems.some((p) => re.test(p)), problems.join("\n"));
        });
    }
    it("parseFlags throws every problem, each naming its flag", () => {
        assert.throws(() => parseFlags({ a: { rollout: 101 }, b: { defaultVariant: "x" } }), (e: Error) => /switchyard:flags\.a:/.test(e.message) && /switchyard:flags\.b:/.test(e.message));
    });
});

describe("flags: the flagd document", () => {
    it("has flagd's $schema and passes flagd-core's strict validation at every stage", () => {
        for (const rollout of ["off", "internal", 0, 1, 10, 50, 99, 100] as const) {
            const flags: FlagsConfig = { "new-checkout": { rollout } };
            assert.strictEqual(toFlagd(flags).$schema, FLAGD_SCHEMA);
            assert.doesNotThrow(() => served(flags));
            assert.deepStrictEqual(checkFlagdDocument(flagdText(flags)), []);
            assert.deepStrictEqual(servedRollouts(flagdText(flags)), { "new-checkout": rollout });
        }
    });

    it("10% serves on to 10% ± 2 points of 2,000 distinct users, each answer sticky", () => {
        const core = served({ "new-checkout": { rollout: 10 } });
        let on = 0;
        for (let i = 0; i < 2000; i++) {
            const v = variantOf(core, "new-checkout", { targetingKey: `user-${i}` });
            if (v === "on") on++;
            for (let k = 0; k < 3; k++) assert.strictEqual(variantOf(core, "new-checkout", { targetingKey: `user-${i}` }), v);
        }
        assert.ok(Math.abs(on / 2000 - 0.1) <= 0.02, `${on} of 2000 on`);
    });

    it("a user reached at 10% is still reached at 50% (buckets grow)", () => {
        const at10 = served({ f: { rollout: 10 } });
        const at50 = served({ f: { rollout: 50 } });
        for (let i = 0; i < 500; i++) {
            if (variantOf(at10, "f", { targetingKey: `u${i}` }) === "on") assert.strictEqual(variantOf(at50, "f", { targetingKey: `u${i}` }), "on");
        }
    });

    it("internal users get it on at the internal stage and others do not", () => {
        const core = served({ f: { rollout: "internal" } });
        assert.strictEqual(variantOf(core, "f", { targetingKey: "ann", group: "internal" }), "on");
        for (let i = 0; i < 200; i++) assert.strictEqual(variantOf(core, "f", { targetingKey: `u${i}` }), "off");
        assert.strictEqual(variantOf(core, "f", { targetingKey: "bob", group: "external" }), "off");
        const byEmail = served({ f: { rollout: "internal", internal: { attribute: "email", endsWith: "@example.com" } } });
        assert.strictEqual(variantOf(byEmail, "f", { targetingKey: "ann", email: "ann@example.com" }), "on");
        assert.strictEqual(variantOf(byEmail, "f", { targetingKey: "eve", email: "eve@example.org" }), "off");
    });

    it("off serves the default to everyone, internal users too; 100 serves on to everyone", () => {
        const off = served({ f: { rollout: "off" } });
        const all = served({ f: { rollout: 100 } });
        for (let i = 0; i < 100; i++) {
            assert.strictEqual(variantOf(off, "f", { targetingKey: `u${i}`, group: "internal" }), "off");
            assert.strictEqual(variantOf(all, "f", { targetingKey: `u${i}` }), "on");
        }
    });

    it("a flagd document written by hand is checked naming the flag", () => {
        const doc = (targeting: unknown) => ({ flags: { "new-checkout": { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off", targeting } } });
        assert.deepStrictEqual(checkFlagdDocument(doc({ fractional: [["on", 10], ["off", 90]] })), []);
        assert.match(checkFlagdDocument(doc({ fractional: [["on", 60], ["off", 60]] })).join(), /^flags\.new-checkout: fractional percentages sum to 120, not 100/);
        assert.match(checkFlagdDocument(doc({ fractional: [["on", 110], ["off", 0]] })).join(), /^flags\.new-checkout: a fractional percentage is over 100/);
        assert.match(checkFlagdDocument(doc({ fractional: [["maybe", 10], ["off", 90]] })).join(), /^flags\.new-checkout: fractional serves "maybe", not a variant/);
        assert.match(checkFlagdDocument(doc({ nonsense: [1] })).join(), /^flags\.new-checkout: its targeting does not parse/);
        assert.match(checkFlagdDocument({ flags: { x: { variants: { on: true }, defaultVariant: "off" } } }).join(), /^flags\.x: defaultVariant "off" is not a variant/);
    });
});

describe("flags: rollout stages", () => {
    const flags: FlagsConfig = { "new-checkout": {}, other: { rollout: 50 } };
    it("withRollout sets one flag and leaves the rest; rolloutOf reads it back", () => {
        fc.assert(
            fc.property(fc.oneof(fc.constant<"off">("off"), fc.constant<"internal">("internal"), fc.integer({ min: 0, max: 100 })), (stage) => {
                const next = withRollout(flags, "new-checkout", stage);
                assert.strictEqual(rolloutOf(next, "new-checkout"), stage);
                assert.strictEqual(rolloutOf(next, "other"), 50);
                assert.strictEqual(rolloutOf(flags, "new-checkout"), "off");
                assert.deepStrictEqual(checkFlags(next), []);
            }),
        );
    });
    it("refuses an unknown flag or stage naming the flag", () => {
        assert.throws(() => withRollout(flags, "nope", 10), /^Error: switchyard:flags\.nope is not declared: declare it in switchyard:flags \(flags: new-checkout, other\)$/);
        assert.throws(() => withRollout(flags, "new-checkout", 101), /^Error: switchyard:flags\.new-checkout: rollout is 101/);
    });
    it("parses stages as typed", () => {
        assert.deepStrictEqual(["off", "internal", "10", "10%", "100", "101", "x", "-1"].map(parseStage), ["off", "internal", 10, 10, 100, undefined, undefined, undefined]);
    });
    it("the x-flags header round-trips", () => {
        assert.strictEqual(formatFlagsHeader({ "new-checkout": "on", a: "off" }), "a=off,new-checkout=on");
        assert.deepStrictEqual(parseFlagsHeader("a=off, new-checkout=on"), { a: "off", "new-checkout": "on" });
    });
});
