/**
 * A plan's migrate step, the pure part: what a backward migration would drop, and the plan's point
 * of no return. Nothing here reads a file or a database.
 *
 * The point of no return is the first step after which the new version may have written data that
 * the backward migration would drop: when a pending migration's down drops a table or a column (the
 * ones its up created), that is the first step at which the new color takes live traffic. Before
 * it, a revert runs the backward migration once traffic is back on the old color; from it on, a
 * revert moves traffic only, and says why. A migration whose down file holds a line starting with
 * `-- switchyard:safe-to-reverse` (a reason may follow) is taken at its word: it moves no point of no return.
 */
import { Color } from "./types";

/** The marker line of a down migration that drops nothing the new version writes to. */
export const SAFE_TO_REVERSE = "-- switchyard:safe-to-reverse";

/**
 * What a down migration's SQL drops that holds data: tables and columns (indexes, constraints,
 * views and functions hold none). Comments are ignored.
 * @example dataDropped("ALTER TABLE items DROP COLUMN IF EXISTS sku;") // ["column items.sku"]
 * @example dataDropped("DROP INDEX CONCURRENTLY IF EXISTS items_name_idx;") // []
 */
export function dataDropped(downSql: string): string[] {
    if (downSql.split("\n").some((l) => l.trim().startsWith(SAFE_TO_REVERSE))) {
        return [];
    }
    const sql = downSql.replace(/--[^\n]*/g, " ").replace(/\/\*[\s\S]*?\*\//g, " ");
    const out: string[] = [];
    const ident = String.raw`("[^"]+"|[A-Za-z_][\w$.]*)`;
    for (const m of sql.matchAll(new RegExp(String.raw`\bDROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(${ident}(?:\s*,\s*${ident})*)`, "gi"))) {
        for (const t of m[1].split(",")) out.push(`table ${t.trim()}`);
    }
    for (const m of sql.matchAll(new RegExp(String.raw`\bALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?${ident}([^;]*)`, "gi"))) {
        const table = m[1];
        for (const d of m[2].matchAll(new RegExp(String.raw`\bDROP\s+(?!CONSTRAINT\b|DEFAULT\b|NOT\s+NULL\b|EXPRESSION\b|IDENTITY\b)(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?${ident}`, "gi"))) {
            out.push(`column ${table}.${d[1]}`);
        }
    }
    return out;
}

/**
 * The sections of a migration file that node-pg-migrate's SQL format splits with `-- Up Migration`
 * and `-- Down Migration`; a file without the markers is all up (as `<id>.up.sql` is).
 */
export function sqlSections(text: string): { up: string; down?: string } {
    const up = /^--\s*Up Migration\b.*$/im.exec(text);
    const down = /^--\s*Down Migration\b.*$/im.exec(text);
    if (!up && !down) return { up: text };
    const cut = (from: RegExpExecArray | null, to: RegExpExecArray | null) =>
        from ? text.slice(from.index + from[0].length, to && to.index > from.index ? to.index : text.length) : "";
    return { up: cut(up, down), ...(down ? { down: cut(down, up) } : {}) };
}

/**
 * The point of no return of a plan: the index of the first step with live traffic on the new color
 * (its weight above 0), when a pending migration's down drops data; undefined otherwise.
 * @example pointOfNoReturn([10, 50, 100], [{ id: "002", drops: ["column items.sku"] }]) // { step: 0, why: "…" }
 */
export function pointOfNoReturn(
    steps: readonly number[],
    downs: readonly { id: string; drops: readonly string[] }[],
    to: Color = "green",
): { step: number; why: string } | undefined {
    const dropping = downs.filter((d) => d.drops.length > 0);
    if (dropping.length === 0) return undefined;
    const step = steps.findIndex((w) => w > 0);
    if (step < 0) return undefined;
    const what = dropping.map((d) => `${d.id} drops ${d.drops.join(", ")}`).join("; ");
    return {
        step,
        why: `from step ${step + 1} (${to} ${steps[step]}%) the new version takes live traffic and may write data the backward migration would drop (${what})`,
    };
}
