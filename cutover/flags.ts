/**
 * Flag steps of a cutover plan: a feature flag's rollout stage set as one step of the plan, beside
 * the weight steps (`flag:new-checkout=internal,flag:new-checkout=10,100`), and the `Flags` port a
 * platform supplies to set a stage now and read back what the app is served.
 *
 * The flags themselves (`switchyard:flags`, the flagd file, the stages) are `components/flags.ts`'s.
 * Pure, but for {@link nopFlags} (state in memory).
 */
import { RolloutStage } from "../components/flags";

/**
 * A flag's rollout stage (`components/flags.ts`'s `RolloutStage`): `off`, `internal` (on for the
 * flag's internal users only), or a whole percent of the others (sticky per user).
 */
export type FlagStage = RolloutStage;

/** One flag step of a plan: set `flag` to `stage`, then judge the flagged requests by the gate. */
export interface FlagStep {
    readonly flag: string;
    readonly stage: FlagStage;
}

/** One step of a plan as a user gives it: a weight of the new color, or a flag step. */
export type StepSpec = number | FlagStep;

/** The prefix of a flag step in `--steps` and `switchyard:cutover.steps`. */
export const FLAG_STEP_PREFIX = "flag:";

/** A flag's name as flagd keys take it: a letter or digit, then letters, digits, `_`, `-` or `.`. */
export const FLAG_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Whether a step is a flag step. */
export const isFlagStep = (s: unknown): s is FlagStep =>
    typeof s === "object" && s !== null && typeof (s as FlagStep).flag === "string" && (s as FlagStep).stage !== undefined;

/** A stage as written in a step: `internal`, `10`, `off`. */
export const stepStageText = (s: FlagStage): string => String(s);

/**
 * A flag step as written in `--steps`.
 * @example formatFlagStep({ flag: "new-checkout", stage: 10 }) // "flag:new-checkout=10"
 */
export const formatFlagStep = (s: FlagStep): string => `${FLAG_STEP_PREFIX}${s.flag}=${stepStageText(s.stage)}`;

/** The order of stages: off, then internal users, then rising percents. */
export function stageRank(s: FlagStage): number {
    return s === "off" ? -1 : s === "internal" ? 0 : s;
}

/** Why a value is not a stage a plan may set (`internal` or a whole percent 1..100); undefined when it is. */
export function checkStage(stage: unknown): string | undefined {
    if (stage === "internal") return undefined;
    if (stage === "off") return "a plan never sets a flag off (a revert does): give internal or a whole percent from 1 to 100";
    if (typeof stage !== "number" || !Number.isInteger(stage) || stage < 1 || stage > 100) {
        return `the stage ${JSON.stringify(stage)} is not internal or a whole percent from 1 to 100`;
    }
    return undefined;
}

/**
 * Parses one `flag:<name>=<stage>` element; returns the step or the problem (without the element,
 * which the caller names). Strict: `flag:=10`, `flag:x=`, `flag:x=10.5`, `flag:x=010`, `flag:x=10%`
 * are refused.
 * @example parseFlagStep("flag:new-checkout=internal") // { flag: "new-checkout", stage: "internal" }
 */
export function parseFlagStep(text: string): FlagStep | string {
    const example = "flag:new-checkout=internal or flag:new-checkout=10";
    if (!text.startsWith(FLAG_STEP_PREFIX)) {
        return `a flag step starts with ${FLAG_STEP_PREFIX}, e.g. ${example}`;
    }
    const body = text.slice(FLAG_STEP_PREFIX.length);
    const eq = body.indexOf("=");
    if (eq < 0) {
        return `it names no stage; write ${FLAG_STEP_PREFIX}<flag>=<stage>, e.g. ${example}`;
    }
    const name = body.slice(0, eq);
    const stageText = body.slice(eq + 1);
    if (name === "") {
        return `it names no flag; write ${FLAG_STEP_PREFIX}<flag>=<stage>, e.g. ${example}`;
    }
    if (!FLAG_NAME.test(name)) {
        return `the flag name ${JSON.stringify(name)} is not a flag key (a letter or digit, then letters, digits, _, - or .)`;
    }
    if (stageText === "") {
        return `it gives flag ${name} no stage; give internal or a whole percent from 1 to 100, e.g. ${FLAG_STEP_PREFIX}${name}=10`;
    }
    if (stageText === "internal" || stageText === "off") {
        const p = checkStage(stageText);
        return p ? `flag ${name}: ${p}` : { flag: name, stage: "internal" };
    }
    if (!/^[1-9]\d{0,2}$/.test(stageText)) {
        const why = /^\d+\.\d*$/.test(stageText) ? "is not a whole percent" : /^0\d/.test(stageText) ? "has a leading zero" : "is not internal or a whole percent";
        return `the stage ${JSON.stringify(stageText)} of flag ${name} ${why}; give internal or a whole percent from 1 to 100, e.g. ${FLAG_STEP_PREFIX}${name}=10`;
    }
    const stage = Number(stageText);
    const p = checkStage(stage);
    return p ? `flag ${name}: ${p}` : { flag: name, stage };
}

/**
 * Checks the flag steps of a plan, in order: each names a declared flag (when `declared` is given),
 * sets a stage a plan may set, and each flag's stages rise strictly (internal before any percent).
 * Returns the problem naming the step, or undefined.
 */
export function checkFlagSteps(steps: readonly FlagStep[], declared?: readonly string[]): string | undefined {
    const last = new Map<string, FlagStage>();
    for (const s of steps) {
        if (declared !== undefined && !declared.includes(s.flag)) {
            const known = declared.length > 0 ? `the stack declares ${declared.join(", ")}` : "the stack declares no flags";
            return `${formatFlagStep(s)} names flag ${JSON.stringify(s.flag)}, which switchyard:flags does not declare (${known})`;
        }
        const p = checkStage(s.stage);
        if (p) return `${formatFlagStep(s)}: ${p}`;
        const before = last.get(s.flag);
        if (before !== undefined && stageRank(s.stage) <= stageRank(before)) {
            return `${formatFlagStep(s)} does not rise above the flag's step before it (${stepStageText(before)}): a flag's stages rise (internal, then rising percents); a revert turns it off`;
        }
        last.set(s.flag, s.stage);
    }
    return undefined;
}

/**
 * A step as `switchyard:cutover.steps` may hold it: a weight, a `flag:<name>=<stage>` string, or
 * `{ flag, stage }`. Returns the step or the problem.
 */
export function stepFromConfig(v: unknown): StepSpec | string {
    if (typeof v === "number") return v;
    if (typeof v === "string") return parseFlagStep(v);
    if (isFlagStep(v)) {
        const p = FLAG_NAME.test(v.flag) ? checkStage(v.stage) : `the flag name ${JSON.stringify(v.flag)} is not a flag key`;
        return p ?? { flag: v.flag, stage: v.stage };
    }
    return `${JSON.stringify(v)} is neither a weight nor a flag step (flag:<name>=<stage>)`;
}

/**
 * The `Flags` port: a flag's stage set now, where the app reads it (the flagd file locally, the S3
 * object its flagd sidecar syncs from on AWS), and read back from there, ahead of the stack's `up`,
 * as the router port does for weights.
 */
export interface FlagsPort {
    /** Sets the flag's stage where the app reads it, at once. */
    setNow(flag: string, stage: FlagStage): Promise<void>;
    /** The stage the app is served now (read back); undefined when the flag is not served at all. */
    served(flag: string): Promise<FlagStage | undefined>;
    /**
     * How often a revert reads the flags back while a flag step's `up` still runs (which would write
     * the step's stage again), setting them off again at once if so.
     * @default 50
     */
    readonly holdPollMs?: number;
}

/** A port that sets nothing and reads back what it was told: where flags are switched off, and in tests. */
export function nopFlags(initial: Record<string, FlagStage> = {}): FlagsPort & { readonly stages: Record<string, FlagStage> } {
    const stages: Record<string, FlagStage> = { ...initial };
    return {
        stages,
        async setNow(flag, stage) {
            stages[flag] = stage;
        },
        async served(flag) {
            return stages[flag];
        },
    };
}

/** The flags a checkpoint has set and that are not off: what a revert turns off first. */
export function flagsOn(flags: Readonly<Record<string, FlagStage>> | undefined): string[] {
    return Object.entries(flags ?? {})
        .filter(([, s]) => s !== "off")
        .map(([f]) => f)
        .sort();
}
