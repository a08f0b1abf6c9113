/**
 * Switchyard's CrossGuard policy pack: blue-green traffic, production and sandbox databases, network
 * exposure, health checks and stack roles. The rules themselves are pure functions in ./rules.ts;
 * this file only hands them to the policy framework.
 *
 * Run with `pulumi preview --policy-pack policies` (or `npx switchyard preview <stack>`).
 */
import { EnforcementLevel, Policies, PolicyPack, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { RULES, RuleResource, RuleSpec } from "./rules";
import { strictRuleConfig } from "./config";

/** The pack's name, as `pulumi preview` reports it. */
export const PACK_NAME = "switchyard";

/** Level of any policy that does not set its own (every Switchyard policy sets one). */
export const PACK_ENFORCEMENT_LEVEL: EnforcementLevel = "mandatory";

/**
 * A rule's config as the engine hands it over, refused (the preview fails with the message) when it
 * holds a key the rule does not take: the engine ignores unknown keys, and a typo would do nothing.
 */
function configOf(spec: RuleSpec, getConfig: () => Record<string, unknown>): Record<string, unknown> {
    const config = getConfig();
    const problem = strictRuleConfig(spec, config);
    if (problem) {
        throw new Error(problem);
    }
    return config;
}

/** One CrossGuard policy for one rule. */
export function toPolicy(spec: RuleSpec): ResourceValidationPolicy | StackValidationPolicy {
    const meta = {
        name: spec.name,
        description: spec.description,
        enforcementLevel: spec.enforcementLevel,
        ...(spec.configSchema ? { configSchema: spec.configSchema } : {}),
    };
    if (spec.kind === "stack") {
        return {
            ...meta,
            validateStack: (args, reportViolation) => {
                const resources: RuleResource[] = args.resources.map((r) => ({
                    type: r.type,
                    name: r.name,
                    urn: r.urn,
                    props: r.props,
                    protect: r.opts?.protect,
                }));
                for (const v of spec.check(resources, configOf(spec, () => args.getConfig<Record<string, unknown>>()))) {
                    reportViolation(v.message, v.urn);
                }
            },
        };
    }
    return {
        ...meta,
        validateResource: (args, reportViolation) => {
            const resource: RuleResource = { type: args.type, name: args.name, urn: args.urn, props: args.props, protect: args.opts?.protect };
            for (const message of spec.check(resource, configOf(spec, () => args.getConfig<Record<string, unknown>>()))) {
                reportViolation(message);
            }
        },
    };
}

/** Every Switchyard policy. */
export const policies: Policies = RULES.map(toPolicy);

export const pack = new PolicyPack(PACK_NAME, {
    description: "Switchyard: blue-green traffic, production and sandbox databases, network exposure, health checks, stack roles.",
    policies,
    enforcementLevel: PACK_ENFORCEMENT_LEVEL,
});
