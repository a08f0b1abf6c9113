/**
 * The step plans a `replicated` pair accepts. Pure.
 *
 * Each color of a replicated pair writes to its own database, and replication runs one way at a
 * time: a split of traffic would send writes to both, and those made to the color replication flows
 * into would conflict with the stream or be lost at the next switchover. So the weights of such a
 * pair move in one step, 0/100, through the switchover.
 */

/** The only plan a replicated pair takes: one step to 100. */
export const REPLICATED_STEPS: readonly number[] = [100];

/**
 * Why a plan is refused for a replicated pair, or undefined when it is one step to 100.
 * @example checkReplicatedSteps([10, 50, 100])
 * // 'cutover steps 10, 50, 100 are refused for database mode "replicated": ...'
 */
export function checkReplicatedSteps(steps: readonly number[] | undefined): string | undefined {
    if (steps === undefined || (steps.length === 1 && steps[0] === 100)) return undefined;
    const split = steps.filter((s) => s > 0 && s < 100);
    return (
        `cutover steps ${steps.join(", ")} are refused for database mode "replicated": at ${split.join(", ") || "a split"}% both colors would take writes, ` +
        "each into its own database, while replication runs one way only; a replicated pair switches over in one step (steps: [100])"
    );
}
