/**
 * The events of `switchyard restore`, for the people told of a release (the webhook listener, json
 * or slack): started, the pre-restore snapshot taken, restored, or failed. Pure.
 */

/** Stages of a restore, in order; `failed` ends one at any point after `started`. */
export const RESTORE_STAGES = ["started", "snapshot", "restored", "failed"] as const;
export type RestoreStage = (typeof RESTORE_STAGES)[number];

/** One stage of a restore. */
export interface RestoreEvent {
    readonly type: "restore";
    /** ISO 8601 instant. */
    readonly at: string;
    readonly stage: RestoreStage;
    /** The snapshot restored (a local snapshot's name, or an RDS snapshot identifier). */
    readonly snapshot: string;
    /** The platform of the stack's pair. */
    readonly platform: "local" | "aws";
    /** The snapshot of the data from before (from the stage `snapshot` on). */
    readonly preRestore?: string;
    /** The database serving after the restore, when it changed (AWS: the new instance). */
    readonly database?: string;
    /** Why it failed (`failed`), or what the stage did. */
    readonly reason?: string;
}

/**
 * The event as one line, as the terminal and a chat channel show it.
 *
 * @example
 * formatRestoreEvent({ type: "restore", at, stage: "snapshot", snapshot: "s1", platform: "local", preRestore: "pre-restore-local-1" })
 * // "restore: snapshot pre-restore-local-1 of the current data taken"
 */
export function formatRestoreEvent(e: RestoreEvent): string {
    switch (e.stage) {
        case "started":
            return `restore from snapshot ${e.snapshot} started (${e.platform})`;
        case "snapshot":
            return `restore: snapshot ${e.preRestore} of the current data taken`;
        case "restored":
            return `restored snapshot ${e.snapshot}${e.database ? ` into database ${e.database}` : ""}; the data from before is in snapshot ${e.preRestore}${e.reason ? ` (${e.reason})` : ""}`;
        case "failed":
            return `restore from snapshot ${e.snapshot} FAILED: ${e.reason ?? "unknown error"}${e.preRestore ? `; the data from before is in snapshot ${e.preRestore}` : ""}`;
    }
}
