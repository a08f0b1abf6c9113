/**
 * Masking a sandbox's copy of production data: the `switchyard:masking` rules, their validation
 * against the database's schema, and the SQL that applies them. Pure: no connection, no Pulumi.
 *
 * A sandbox stack lists one rule per column to mask:
 *
 * ```yaml
 * switchyard:masking:
 *   - {table: customers, column: email, rule: hash}                 # deterministic, salted: joins still match
 *   - {table: customers, column: name, rule: fake, kind: name}      # name | email | phone | address
 *   - {table: customers, column: card, rule: partial, first: 0, last: 4}
 *   - {table: customers, column: birth_date, rule: "null"}
 *   - {table: customers, column: city, rule: shuffle}               # values moved between rows
 *   - {table: customers, column: id, rule: keep}                    # declared not personal
 * switchyard:maskingStrict: true   # any personal-looking column without a rule fails the preview
 * ```
 *
 * Every table is rewritten by one `UPDATE` (and, for shuffled columns, one window over the table),
 * all tables in one transaction: a failure leaves the database as it was.
 */

import { CONFIG_KEYS } from "./types";

/** The stack configuration key of the rules (a sandbox stack). */
export const MASKING_CONFIG_KEY = CONFIG_KEYS.masking;
/**
 * The stack configuration key that turns on privacy by default: every column whose name looks
 * personal ({@link PERSONAL_COLUMN}) must have a rule (`keep` declares it not personal).
 * @default false
 */
export const MASKING_STRICT_CONFIG_KEY = CONFIG_KEYS.maskingStrict;

/** The rules. */
export const MASK_RULES = ["hash", "fake", "partial", "null", "shuffle", "keep"] as const;
export type MaskRuleName = (typeof MASK_RULES)[number];

/** What a `fake` rule makes. */
export const FAKE_KINDS = ["name", "email", "phone", "address"] as const;
export type FakeKind = (typeof FAKE_KINDS)[number];

/** Column names that look personal (for `switchyard:maskingStrict`). */
export const PERSONAL_COLUMN = /e_?mail|phone|mobile|name|address|street|birth|dob/i;

/** One rule of `switchyard:masking`. */
export interface MaskRule {
    /** The table: `customers` (schema public) or `schema.table`. */
    readonly table: string;
    readonly column: string;
    readonly rule: MaskRuleName;
    /** For `fake`: what to make. */
    readonly kind?: FakeKind;
    /** For `partial`: characters kept at the start. @default 2 */
    readonly first?: number;
    /** For `partial`: characters kept at the end. @default 2 */
    readonly last?: number;
}

/** A column as the schema records it. */
export interface ColumnInfo {
    /** `information_schema.columns.data_type`, e.g. "text", "character varying", "uuid", "bigint". */
    readonly type: string;
    readonly notNull: boolean;
    /** `character_maximum_length`, when the type has one. */
    readonly maxLength?: number;
}

/** A foreign key: `columns` of the table reference `refColumns` of `refTable`. */
export interface ForeignKey {
    readonly columns: readonly string[];
    readonly refTable: string;
    readonly refColumns: readonly string[];
}

export interface TableInfo {
    readonly columns: Readonly<Record<string, ColumnInfo>>;
    readonly foreignKeys?: readonly ForeignKey[];
}

/** One database's tables, by name (`customers` for schema public, else `schema.table`). */
export type DatabaseSchema = Readonly<Record<string, TableInfo>>;

const TEXT_TYPES = ["text", "character varying", "character", "citext"];
const HASH_TYPES = [...TEXT_TYPES, "uuid", "bigint"];

/** `public.customers` and `customers` are the same table. */
export function tableKey(table: string): string {
    return table.startsWith("public.") ? table.slice("public.".length) : table;
}

/** Nonnegative integer or undefined. */
function count(v: unknown): boolean {
    return v === undefined || (Number.isInteger(v) && (v as number) >= 0);
}

/**
 * Parses `switchyard:masking` as the stack gives it (a list, or its JSON text). Every problem names the
 * rule by its place in the list and the value refused.
 *
 * @example parseMasking([{ table: "customers", column: "email", rule: "hash" }]).problems // []
 */
export function parseMasking(raw: unknown, key: string = MASKING_CONFIG_KEY): { rules: MaskRule[]; problems: string[] } {
    let v = raw;
    if (typeof v === "string") {
        try {
            v = JSON.parse(v);
        } catch {
            return { rules: [], problems: [`${key} is not a list of rules: ${JSON.stringify(raw)}`] };
        }
    }
    if (v === undefined || v === null) return { rules: [], problems: [] };
    if (!Array.isArray(v)) {
        return { rules: [], problems: [`${key} is ${JSON.stringify(v)}: give a list of { table, column, rule }`] };
    }
    const problems: string[] = [];
    const rules: MaskRule[] = [];
    const seen = new Map<string, number>();
    v.forEach((item: unknown, i) => {
        const at = `${key}[${i}]`;
        if (typeof item !== "object" || item === null || Array.isArray(item)) {
            problems.push(`${at} is ${JSON.stringify(item)}: give { table, column, rule }`);
            return;
        }
        const r = item as Record<string, unknown>;
        const extra = Object.keys(r).filter((k) => !["table", "column", "rule", "kind", "first", "last"].includes(k));
        if (extra.length) problems.push(`${at} has unknown field ${extra.map((k) => JSON.stringify(k)).join(", ")}: the fields are table, column, rule, kind (fake), first and last (partial)`);
        if (typeof r.table !== "string" || !r.table) problems.push(`${at}.table is ${JSON.stringify(r.table)}: name the table`);
        if (typeof r.column !== "string" || !r.column) problems.push(`${at}.column is ${JSON.stringify(r.column)}: name the column`);
        if (!(MASK_RULES as readonly unknown[]).includes(r.rule)) {
            problems.push(`${at}.rule is ${JSON.stringify(r.rule)}, an unknown rule: use one of ${MASK_RULES.join(", ")}`);
        }
        if (r.rule === "fake" && !(FAKE_KINDS as readonly unknown[]).includes(r.kind)) {
            problems.push(`${at}.kind is ${JSON.stringify(r.kind)}: a fake rule makes one of ${FAKE_KINDS.join(", ")}`);
        }
        if (r.kind !== undefined && r.rule !== "fake") problems.push(`${at}.kind is set but the rule is ${JSON.stringify(r.rule)}: kind goes with rule fake`);
        for (const f of ["first", "last"] as const) {
            if (!count(r[f])) problems.push(`${at}.${f} is ${JSON.stringify(r[f])}: give a whole number of characters, 0 or more`);
            if (r[f] !== undefined && r.rule !== "partial") problems.push(`${at}.${f} is set but the rule is ${JSON.stringify(r.rule)}: ${f} goes with rule partial`);
        }
        if (typeof r.table === "string" && typeof r.column === "string") {
            const id = `${tableKey(r.table)}.${r.column}`;
            if (seen.has(id)) problems.push(`${at} masks ${id} again (${key}[${seen.get(id)}] already does): one rule per column`);
            else seen.set(id, i);
        }
        rules.push(r as unknown as MaskRule);
    });
    return { rules: problems.length ? [] : rules, problems };
}

/** Parses `switchyard:maskingStrict`: true, false or unset. */
export function parseStrict(raw: unknown, key: string = MASKING_STRICT_CONFIG_KEY): { strict: boolean; problem?: string } {
    if (raw === undefined || raw === null || raw === false || raw === "false") return { strict: false };
    if (raw === true || raw === "true") return { strict: true };
    return { strict: false, problem: `${key} is ${JSON.stringify(raw)}: give true or false` };
}

/** Whether a column's type takes a rule. */
function typeProblem(rule: MaskRule, col: ColumnInfo): string | undefined {
    switch (rule.rule) {
        case "hash":
            return HASH_TYPES.includes(col.type) ? undefined : `rule hash takes a text, uuid or bigint column, not ${col.type}: use shuffle, null or keep`;
        case "fake":
        case "partial":
            return TEXT_TYPES.includes(col.type) ? undefined : `rule ${rule.rule} takes a text column, not ${col.type}: use hash, shuffle, null or keep`;
        case "null":
            return col.notNull ? "rule null on a NOT NULL column: use hash, fake, partial or shuffle" : undefined;
        default:
            return undefined;
    }
}

/**
 * Checks rules against a database's schema: each table and column must exist and take its rule; a
 * foreign key's two sides are hashed together or left alone (a join must still match); with `strict`,
 * every personal-looking column has a rule. Returns the problems (empty when fine), each naming the
 * config key, the table and the column.
 *
 * @param where the database as a message names it, e.g. `database "shop" of snapshot s1`
 */
export function checkMasking(rules: readonly MaskRule[], schema: DatabaseSchema, opts: { strict?: boolean; where?: string; key?: string; strictKey?: string } = {}): string[] {
    const key = opts.key ?? MASKING_CONFIG_KEY;
    const where = opts.where ?? "the database";
    const problems: string[] = [];
    const tables = Object.keys(schema).sort();
    rules.forEach((r, i) => {
        const at = `${key}[${i}]`;
        if (!(MASK_RULES as readonly string[]).includes(r.rule)) {
            problems.push(`${at}.rule is ${JSON.stringify(r.rule)}, an unknown rule: use one of ${MASK_RULES.join(", ")}`);
            return;
        }
        const t = schema[tableKey(r.table)];
        if (!t) {
            problems.push(`${at}: table ${JSON.stringify(r.table)} does not exist in ${where}; its tables: ${tables.join(", ") || "none"}`);
            return;
        }
        const col = t.columns[r.column];
        if (!col) {
            problems.push(`${at}: column ${JSON.stringify(r.column)} does not exist in table ${tableKey(r.table)} of ${where}; its columns: ${Object.keys(t.columns).join(", ")}`);
            return;
        }
        const p = typeProblem(r, col);
        if (p) problems.push(`${at}: ${tableKey(r.table)}.${r.column}: ${p}`);
    });
    const ruleOf = (table: string, column: string) => rules.find((r) => tableKey(r.table) === table && r.column === column)?.rule;
    const changes = (rule: MaskRuleName | undefined) => rule !== undefined && rule !== "keep";
    for (const [table, info] of Object.entries(schema)) {
        for (const fk of info.foreignKeys ?? []) {
            fk.columns.forEach((c, j) => {
                const rc = fk.refColumns[j];
                const a = ruleOf(table, c);
                const b = ruleOf(tableKey(fk.refTable), rc);
                if ((changes(a) || changes(b)) && !(a === "hash" && b === "hash")) {
                    problems.push(
                        `${key}: ${table}.${c} references ${tableKey(fk.refTable)}.${rc} (rules: ${a ?? "none"}, ${b ?? "none"}): ` +
                            "a foreign key's two sides are hashed together (rule hash on both) or both kept, so rows still join",
                    );
                }
            });
        }
    }
    if (opts.strict) {
        for (const table of tables) {
            for (const column of Object.keys(schema[table].columns)) {
                if (PERSONAL_COLUMN.test(column) && ruleOf(table, column) === undefined) {
                    problems.push(
                        `${opts.strictKey ?? MASKING_STRICT_CONFIG_KEY}: column ${table}.${column} of ${where} looks personal and has no rule in ${key}: ` +
                            "give it one (keep, if it is not personal)",
                    );
                }
            }
        }
    }
    return problems;
}

// ---------------------------------------------------------------------------------------------
// SQL.
// ---------------------------------------------------------------------------------------------

/** A quoted identifier; `schema.table` quoted part by part. */
export function quoteIdent(name: string): string {
    return name
        .split(".")
        .map((p) => `"${p.replace(/"/g, '""')}"`)
        .join(".");
}

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
const array = (xs: readonly string[]) => `(ARRAY[${xs.map(lit).join(",")}])`;

const FIRST_NAMES = ["Ada", "Alan", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Edsger", "Radia", "Tim", "Hedy", "John", "Katherine", "Donald", "Shafi", "Niklaus", "Sophie", "Leslie", "Anita", "Bjarne", "Mary", "Guido", "Karen", "Robin", "Jean", "Ivan", "Lynn", "Tony", "Carol", "Peter"];
const LAST_NAMES = ["Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson", "Allen", "Dijkstra", "Perlman", "Berners", "Lamarr", "Backus", "Johnson", "Knuth", "Goldwasser", "Wirth", "Wilson", "Lamport", "Borg", "Stroustrup", "Keller", "Rossum", "Jones", "Milner", "Sammet", "Sutherland", "Conway", "Hoare", "Shaw", "Naur"];
const STREETS = ["Oak", "Maple", "Cedar", "Pine", "Elm", "Birch", "Willow", "Chestnut", "Hill", "Lake", "River", "Park", "Station", "Mill", "Church", "Bridge"];
const SUFFIXES = ["Street", "Road", "Avenue", "Lane", "Way", "Close", "Drive", "Court"];

/**
 * The salted hash of a value as 32 hex digits: md5(salt || value). The same value gives the same hash
 * in every table of one sandbox (joins match); another sandbox's salt gives another.
 */
function hashHex(v: string, salt: string): string {
    return `md5(${lit(salt)} || ${v}::text)`;
}

/**
 * The draw a fake value is made from: a nonnegative 63-bit integer, PostgreSQL's seeded hash of the
 * value (`hashtextextended`, ten times cheaper than md5), the seed taken from the salt. The same value
 * gives the same fake in every table.
 */
function draw(v: string, salt: string): string {
    return `(hashtextextended(${v}::text, ${BigInt(`0x${salt.slice(0, 15)}`)}) & 9223372036854775807)`;
}

/** An element of a list picked by the draw n, after dividing it by `skip` (so picks differ). */
function pick(n: string, list: readonly string[], skip = 1): string {
    return `${array(list)}[1 + ${skip === 1 ? n : `${n} / ${skip}`} % ${list.length}]`;
}

/** Cut to a column's maximum length, when it has one. */
function fit(expr: string, col: ColumnInfo): string {
    return col.maxLength ? `left(${expr}, ${col.maxLength})` : expr;
}

/** The masked value of one column, as an expression over the row (shuffle is not an expression: see maskTableSql). */
export function maskExpression(rule: MaskRule, col: ColumnInfo, salt: string): string | undefined {
    const v = quoteIdent(rule.column);
    const h = hashHex(v, salt);
    const guard = (e: string) => `CASE WHEN ${v} IS NULL OR ${v} = '' THEN ${v} ELSE ${e} END`;
    switch (rule.rule) {
        case "keep":
        case "shuffle":
            return undefined;
        case "null":
            return "NULL";
        case "hash":
            if (col.type === "uuid") return `${h}::uuid`;
            if (col.type === "bigint") return `('x' || left(${h}, 16))::bit(64)::bigint`;
            return guard(fit(h, col));
        case "partial": {
            const first = rule.first ?? 2;
            const last = rule.last ?? 2;
            return guard(
                `CASE WHEN length(${v}) > ${first + last} THEN left(${v}, ${first}) || repeat('*', length(${v}) - ${first + last}) || right(${v}, ${last}) ` +
                    `ELSE repeat('*', length(${v})) END`,
            );
        }
        case "fake": {
            const n = draw(v, salt);
            switch (rule.kind) {
                case "name":
                    return guard(fit(`${pick(n, FIRST_NAMES)} || ' ' || ${pick(n, LAST_NAMES, FIRST_NAMES.length)}`, col));
                case "email":
                    return guard(fit(`'user.' || lpad(to_hex(${n}), 16, '0') || '@example.com'`, col));
                case "address":
                    return guard(fit(`(1 + ${n} % 9999)::text || ' ' || ${pick(n, STREETS, 9999)} || ' ' || ${pick(n, SUFFIXES, 9999 * STREETS.length)}`, col));
                case "phone":
                    // The same shape: the value becomes a format string, each digit a %s (through chr(1), no
                    // regular expression), filled with the draw's digits, last first (they are the uniform ones).
                    return guard(
                        `format(replace(translate(replace(${v}, '%', '%%'), '0123456789', repeat(chr(1), 10)), chr(1), '%s'), ` +
                            `VARIADIC string_to_array(repeat(reverse(lpad(${n}::text, 19, '0')), 1 + length(${v}) / 19), NULL))`,
                    );
                default:
                    throw new Error(`fake rule without a known kind: ${JSON.stringify(rule.kind)}`);
            }
        }
    }
}

/** The rules of each table, tables in a stable order, `keep` rules left out. */
export function rulesByTable(rules: readonly MaskRule[]): Map<string, MaskRule[]> {
    const out = new Map<string, MaskRule[]>();
    for (const r of [...rules].sort((a, b) => tableKey(a.table).localeCompare(tableKey(b.table)))) {
        if (r.rule === "keep") continue;
        const t = tableKey(r.table);
        out.set(t, [...(out.get(t) ?? []), r]);
    }
    return out;
}

/**
 * The one statement that masks a table: an `UPDATE` setting every masked column; shuffled columns
 * come from one window over the table, each moved one place along its own salted order of the rows
 * (a derangement: no row keeps its own value).
 */
export function maskTableSql(table: string, rules: readonly MaskRule[], info: TableInfo, salt: string): string {
    if (!/^[0-9a-f]{16,}$/.test(salt)) throw new Error("the masking salt must be 16 or more hex digits");
    const sets: string[] = [];
    const shuffled = rules.filter((r) => r.rule === "shuffle");
    for (const r of rules) {
        if (r.rule === "shuffle") {
            sets.push(`${quoteIdent(r.column)} = sy_shuffled.${quoteIdent(r.column)}`);
            continue;
        }
        const e = maskExpression(r, info.columns[r.column], salt);
        if (e !== undefined) sets.push(`${quoteIdent(r.column)} = ${e}`);
    }
    const t = quoteIdent(table);
    if (shuffled.length === 0) return `UPDATE ${t} SET ${sets.join(", ")}`;
    const windows = shuffled.map((r, i) => `w${i} AS (ORDER BY md5(${lit(`${salt}:${r.column}:`)} || ctid::text))`);
    const cols = shuffled.map((r, i) => {
        const c = quoteIdent(r.column);
        return `CASE WHEN row_number() OVER w${i} = count(*) OVER () THEN first_value(${c}) OVER w${i} ELSE lead(${c}) OVER w${i} END AS ${c}`;
    });
    return (
        `UPDATE ${t} SET ${sets.join(", ")} FROM (SELECT ctid AS sy_rid, ${cols.join(", ")} FROM ${t} WINDOW ${windows.join(", ")}) sy_shuffled ` +
        `WHERE ${t}.ctid = sy_shuffled.sy_rid`
    );
}
