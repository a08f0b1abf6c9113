/**
 * The production database restored from a named RDS snapshot, through the stack: the key
 * `switchyard:database.restoreFrom` names the snapshot; the program then creates a second instance
 * from it beside the one in service, under a name derived from the snapshot, and points the apps'
 * DATABASE_URL at it (same database name, master user and password). The instance in service is
 * never replaced in place: it is kept, protected, until the operator removes it. Pure.
 */
import { CONFIG_KEYS } from "../types";
import { rdsIdentifier } from "./common";

/**
 * The stack configuration key naming the snapshot the production database is restored from,
 * defined once. `switchyard restore` sets it and runs `up`.
 *
 * @example pulumi config set --path 'switchyard:database.restoreFrom' shop-prod-pre-cutover-20261130101500
 */
export const RESTORE_FROM_KEY = `${CONFIG_KEYS.database}.restoreFrom`;

/** Longest part of a resource name taken from the snapshot's identifier. */
const SLUG_MAX = 40;

/** An RDS snapshot identifier (manual, or `rds:` automated) or a snapshot ARN. */
const SNAPSHOT_ID = /^(?:rds:)?[A-Za-z][A-Za-z0-9-]{0,254}$/;
const SNAPSHOT_ARN = /^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:snapshot:((?:rds:)?[A-Za-z][A-Za-z0-9-]{0,254})$/;

/**
 * Checks a snapshot to restore from: an RDS DB snapshot identifier (a letter first, then letters,
 * digits and hyphens; `rds:` in front for an automated one) or a snapshot ARN. Returns the problem,
 * naming `what` (the key or flag the value came from).
 *
 * @example checkRestoreFrom("shop prod", "--snapshot") // "--snapshot is \"shop prod\": …"
 */
export function checkRestoreFrom(value: unknown, what = "restoreFrom"): string | undefined {
    if (typeof value !== "string" || !(SNAPSHOT_ID.test(value) || SNAPSHOT_ARN.test(value)) || /--|-$/.test(value.replace(/^.*snapshot:/, ""))) {
        return (
            `${what} is ${JSON.stringify(value)}: give an RDS DB snapshot identifier (a letter first, then letters, digits and single hyphens, ` +
            `"rds:" in front of an automated one) or a snapshot ARN`
        );
    }
    return undefined;
}

/**
 * The logical name of the instance restored from `snapshot`, for a database component `name`: stable
 * for one snapshot, another for another snapshot, so the restored instance is created beside the old
 * one, never in its place.
 *
 * @example restoredInstanceName("shop-db", "rds:shop-prod-2026-11-30-03-10") // "shop-db-from-rds-shop-prod-2026-11-30-03-10"
 */
export function restoredInstanceName(name: string, snapshot: string): string {
    const id = SNAPSHOT_ARN.exec(snapshot)?.[1] ?? snapshot;
    return `${name}-from-${rdsIdentifier(id, SLUG_MAX)}`;
}
