/**
 * The impact map's release path, enforced at the start of a cutover: the stack is previewed
 * (`stack/impactRun.ts`), the map is shown, and a plan the change's risk tier does not allow is
 * refused (a UserError: exit 2, nothing changed):
 * - low: any plan, all at once included;
 * - medium: no all-at-once plan (two steps at least);
 * - high: at least `switchyard:cutover.minSteps` steps (default 4), and a passing run of the
 *   candidate version of the suite `rehearsal` (`switchyard test <sandbox> --suite rehearsal --
 *   switchyard rehearse <sandbox>`) and of the suites `switchyard:cutover.requireTests` names (else
 *   of the suite `default`), recorded in a sandbox of the stack (`cutover/preflight.ts`).
 *
 * @example
 * await cutover({ stackName: "local" }, {}, { impact: { onMap: (m) => console.log(formatImpact(m, { short: true })) } });
 */
import { Color, CONFIG_KEYS } from "../components/types";
import { DEFAULT_SUITE } from "../stack/testRuns";
import { impact, ImpactMap, ImpactOptions, REHEARSAL_SUITE, releaseRefusals } from "../stack/impactRun";
import { openStack, StackTarget, UserError } from "../stack/run";
import { checkRequiredTests, describeTestGaps, requiredSuites, versionOf } from "./preflight";

/** `impact` in a cutover's options: the map is made, shown and enforced. */
export interface ImpactGateOptions extends ImpactOptions {
    /** Shown the map before anything changes (the CLI prints its short form). */
    readonly onMap?: (map: ImpactMap) => void;
}

/** The suites a high-risk cutover needs a passing run of: the rehearsal, and the required ones (else the default suite). */
export async function highRiskSuites(target: StackTarget): Promise<string[]> {
    const required = await requiredSuites(target);
    return [REHEARSAL_SUITE, ...(required.length ? required : [DEFAULT_SUITE])].filter((s, i, all) => all.indexOf(s) === i);
}

/**
 * Makes the stack's impact map, shows it, and refuses the plan when its tier does not allow it.
 * Returns the map.
 */
export async function impactGate(target: StackTarget, plan: { readonly steps: readonly number[]; readonly to: Color }, pairOutputs: Record<string, unknown>, o: ImpactGateOptions = {}): Promise<ImpactMap> {
    const map = await impact(target, o);
    o.onMap?.(map);
    let evidenceMissing: string[] = [];
    if (map.releasePath.requiresRehearsalAndTests) {
        const colors = (await (await openStack(target)).getAllConfig())[CONFIG_KEYS.colors]?.value;
        const version = versionOf(plan.to, pairOutputs, colors);
        if (!version) {
            evidenceMissing = [`no version of ${plan.to} is recorded (${CONFIG_KEYS.colors}.${plan.to}.version), so no test run of it can be found`];
        } else {
            const r = await checkRequiredTests(target, version, await highRiskSuites(target));
            evidenceMissing = r.gaps.length ? [describeTestGaps(r.gaps, version, target.stackName, r.sandboxes)] : [];
        }
    }
    const refusals = releaseRefusals(map, { steps: plan.steps, evidenceMissing });
    if (refusals.length) {
        throw new UserError(
            `cutover of stack "${target.stackName}" refused: the change is ${map.tier} risk (${map.reasons[0]}); ${refusals.join("; ")}. ` +
                `See \`switchyard impact ${target.stackName}\``,
        );
    }
    return map;
}
