/**
 * Migration linting, the pure part: a migration's SQL in, the statements that take long locks or
 * break the version still live out, each with its fix.
 *
 * The SQL is read by PostgreSQL's own parser (`libpg-query`: libpg_query compiled to WebAssembly,
 * so it installs from npm with no native build and reads exactly what the server reads), never by
 * regular expressions. Nothing here touches a database or a file.
 *
 * Statements on a table created earlier in the same migration, or in an earlier one of the same run,
 * are not judged: no live version reads a table that did not exist, and it is empty.
 *
 * @example
 * const findings = await lintMigration({ id: "003_items_name_index", sql: "CREATE INDEX i ON items (name);" });
 * // [{ rule: "index-without-concurrently", … }, { rule: "missing-lock-timeout", … }]
 */
import { loadModule, parseSync } from "libpg-query";
import type { AlterTableCmd, ColumnDef, Constraint, IndexStmt, Node, ParseResult, RangeVar, RenameStmt } from "libpg-query";

/** What the linter checks, one id per rule. */
export type LintRuleId =
    | "not-null-without-default"
    | "index-without-concurrently"
    | "column-type-change"
    | "rename"
    | "constraint-without-not-valid"
    | "missing-lock-timeout"
    | "syntax-error";

/** Each rule's short name and its fix: the one place these words are defined. */
export const LINT_RULES: Record<LintRuleId, { readonly title: string; readonly fix: string }> = {
    "not-null-without-default": {
        title: "a column added NOT NULL with no default",
        fix:
            "give it a constant DEFAULT (PostgreSQL 11+ adds it without rewriting the table), or add it nullable, backfill in batches, " +
            "and enforce NOT NULL in a later release (CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, then SET NOT NULL)",
    },
    "index-without-concurrently": {
        title: "an index built or dropped without CONCURRENTLY",
        fix:
            "CREATE INDEX CONCURRENTLY (or DROP INDEX CONCURRENTLY) in a migration run outside a transaction; for a unique or primary key " +
            "constraint, build the unique index CONCURRENTLY first, then ADD CONSTRAINT … USING INDEX; if a concurrent build fails, drop its " +
            "INVALID index before retrying",
    },
    "column-type-change": {
        title: "a column's type changed",
        fix:
            "expand and contract: add a column of the new type, have the app write both, backfill in batches, move the reads, and drop the old " +
            "column once no live version uses it (only a binary-compatible change such as varchar(n) to text skips the rewrite)",
    },
    rename: {
        title: "a column or table renamed",
        fix:
            "expand and contract: add the new column (or table) beside the old one, write both, backfill, move the reads, and drop the old name " +
            "once no live version uses it; for a table, a view under the old name can bridge the two versions",
    },
    "constraint-without-not-valid": {
        title: "a constraint added without NOT VALID",
        fix:
            "ADD CONSTRAINT … NOT VALID (new rows are checked at once), then VALIDATE CONSTRAINT in a separate transaction, which scans " +
            "under a SHARE UPDATE EXCLUSIVE lock that lets reads and writes go on; for SET NOT NULL, validate a CHECK (col IS NOT NULL) first",
    },
    "missing-lock-timeout": {
        title: "a lock taken with no lock_timeout",
        fix:
            "begin the migration with SET lock_timeout = '5s' (SET LOCAL inside a transaction), so that a migration queued behind a long " +
            "transaction gives up instead of stalling every query on the table; then retry it",
    },
    "syntax-error": {
        title: "SQL the parser cannot read",
        fix: "correct the SQL: it would fail in production too",
    },
};

/** A migration's forward SQL. */
export interface MigrationSql {
    /** The migration's id, as the tool records it. */
    readonly id: string;
    readonly sql: string;
    /** The file it came from, for the report. */
    readonly file?: string;
}

/** One statement the linter names. */
export interface LintFinding {
    readonly migration: string;
    readonly rule: LintRuleId;
    /** Line of the statement in the migration's SQL, from 1. */
    readonly line: number;
    /** The statement, on one line, shortened. */
    readonly statement: string;
    /** What goes wrong in production. */
    readonly problem: string;
    /** How to write it instead (from {@link LINT_RULES}). */
    readonly fix: string;
}

/** Lints each migration in turn, in the order they run: a table one creates is new to the next ones too. */
export async function lintMigrations(migrations: readonly MigrationSql[]): Promise<LintFinding[]> {
    await loadModule();
    const created = new Set<string>();
    return migrations.flatMap((m) => lintSync(m, created));
}

/** Lints one migration. */
export async function lintMigration(m: MigrationSql): Promise<LintFinding[]> {
    await loadModule();
    return lintSync(m);
}

/** A finding as operator lines: where, what, and the fix. */
export function formatFinding(f: LintFinding): string {
    return `${f.migration} line ${f.line}: ${f.statement}\n  ${f.problem}\n  fix: ${f.fix}`;
}

function lintSync(m: MigrationSql, created = new Set<string>()): LintFinding[] {
    let parsed: ParseResult;
    try {
        parsed = parseSync(m.sql);
    } catch (e) {
        const pos = (e as { sqlDetails?: { cursorPosition?: number } }).sqlDetails?.cursorPosition ?? 0;
        return [finding(m, "syntax-error", lineAt(m.sql, pos), "", `the parser cannot read it: ${(e as Error).message}`)];
    }
    return lintParsed(m, parsed, created);
}

/**
 * The rules over a parsed migration (exported for callers that parse themselves).
 * @param created tables new in this run, added to as the migration creates more
 */
export function lintParsed(m: MigrationSql, parsed: ParseResult, created = new Set<string>()): LintFinding[] {
    const out: LintFinding[] = [];
    const validated = new Set<string>();
    let lockTimeout = false;
    let lockTimeoutReported = false;
    for (const { stmt, line, statement } of locateStatements(m.sql, parsed)) {
        const add = (rule: LintRuleId, problem: string) => out.push(finding(m, rule, line, statement, problem));
        const [kind, body] = Object.entries(stmt)[0] ?? ["", {}];
        const existing = (r?: RangeVar) => !!r?.relname && !created.has(r.relname);
        let locks: string | undefined; // the table this statement locks against reads or writes

        if (kind === "VariableSetStmt") {
            const v = body as { kind?: string; name?: string; args?: Node[] };
            if (v.name === "lock_timeout") lockTimeout = v.kind === "VAR_SET_VALUE" && !isZero(v.args);
        } else if (kind === "CreateStmt" || kind === "CreateTableAsStmt") {
            const rel = kind === "CreateStmt" ? (body as { relation?: RangeVar }).relation : (body as { into?: { rel?: RangeVar } }).into?.rel;
            if (rel?.relname) created.add(rel.relname);
        } else if (kind === "IndexStmt") {
            const ix = body as IndexStmt;
            if (existing(ix.relation) && !ix.concurrent) {
                locks = ix.relation!.relname;
                add("index-without-concurrently", `builds ${ix.idxname ? `index ${ix.idxname}` : "an index"} on ${qualified(ix.relation)} under a SHARE lock: every INSERT, UPDATE and DELETE on it waits until the whole build is done`);
            }
        } else if (kind === "DropStmt") {
            const d = body as { removeType?: string; concurrent?: boolean };
            if (d.removeType === "OBJECT_INDEX" && !d.concurrent) {
                locks = "its table";
                add("index-without-concurrently", "drops an index under an ACCESS EXCLUSIVE lock on its table: reads and writes wait, and queue behind any long query");
            } else if (d.removeType === "OBJECT_TABLE") {
                locks = "the table";
            }
        } else if (kind === "RenameStmt") {
            const r = body as RenameStmt;
            if (existing(r.relation)) {
                locks = r.relation!.relname;
                if (r.renameType === "OBJECT_COLUMN") {
                    add("rename", `renames column ${qualified(r.relation)}.${r.subname} to ${r.newname}: the live version still reads and writes ${r.subname} and breaks the moment this commits`);
                } else if (r.renameType === "OBJECT_TABLE") {
                    add("rename", `renames table ${qualified(r.relation)} to ${r.newname}: the live version still uses ${r.relation!.relname} and breaks the moment this commits`);
                }
            }
        } else if (kind === "AlterTableStmt") {
            const a = body as { relation?: RangeVar; cmds?: Node[]; objtype?: string };
            if (existing(a.relation)) {
                const table = qualified(a.relation);
                locks = a.relation!.relname;
                for (const c of a.cmds ?? []) {
                    const cmd = (c as { AlterTableCmd?: AlterTableCmd }).AlterTableCmd;
                    if (cmd) lintAlter(cmd, table, a.relation!.relname!, validated, add);
                }
            }
        } else if (kind === "TruncateStmt" || kind === "CreateTrigStmt") {
            locks = "the table";
        }
        if (locks && !lockTimeout && !lockTimeoutReported) {
            lockTimeoutReported = true;
            add("missing-lock-timeout", `locks ${locks} with no lock_timeout set before it: queued behind a long transaction, it stalls every query on the table while it waits`);
        }
    }
    return out;
}

/** A parsed statement with where it is: its line in the SQL (from 1, past leading comments) and its text on one line. */
export interface LocatedStatement {
    readonly stmt: Node;
    readonly line: number;
    /** The statement on one line, comments dropped, at most 100 characters. */
    readonly statement: string;
}

/** Each statement of a parsed migration, located in its SQL (the linter's and the additivity check's one reading). */
export function locateStatements(sql: string, parsed: ParseResult): LocatedStatement[] {
    const bytes = Buffer.from(sql, "utf8");
    return (parsed.stmts ?? []).map((raw) => {
        const start = raw.stmt_location ?? 0;
        const end = raw.stmt_len ? start + raw.stmt_len : bytes.length;
        const text = bytes.subarray(start, end).toString("utf8");
        const lead = text.length - text.trimStart().length;
        const line = lineAt(sql, bytes.subarray(0, start).toString("utf8").length + lead + skipComments(text.trimStart()));
        return { stmt: raw.stmt ?? ({} as Node), line, statement: oneLine(text) };
    });
}

/** A column added NOT NULL (or as the primary key) with nothing to fill existing rows: no default, identity or generation. */
export function notNullWithoutDefault(col: ColumnDef | undefined): boolean {
    const types = (col?.constraints ?? []).map((k) => (k as { Constraint?: Constraint }).Constraint?.contype);
    const notNull = types.includes("CONSTR_NOTNULL") || types.includes("CONSTR_PRIMARY");
    const filled = types.some((t) => t === "CONSTR_DEFAULT" || t === "CONSTR_IDENTITY" || t === "CONSTR_GENERATED");
    return notNull && !filled;
}

function lintAlter(cmd: AlterTableCmd, table: string, relname: string, validated: Set<string>, add: (rule: LintRuleId, problem: string) => void): void {
    const def = cmd.def as { ColumnDef?: ColumnDef; Constraint?: Constraint } | undefined;
    switch (cmd.subtype) {
        case "AT_AddColumn": {
            const col = def?.ColumnDef;
            if (notNullWithoutDefault(col)) {
                add("not-null-without-default", `adds column ${table}.${col?.colname} NOT NULL with no default: it fails on a table with rows, and the live version's INSERTs, which do not name it, fail`);
            }
            return;
        }
        case "AT_AlterColumnType":
            add("column-type-change", `changes the type of ${table}.${cmd.name}: the table is rewritten under an ACCESS EXCLUSIVE lock (reads and writes wait), and the live version may not read the new type`);
            return;
        case "AT_AddConstraint": {
            const k = def?.Constraint;
            if ((k?.contype === "CONSTR_CHECK" || k?.contype === "CONSTR_FOREIGN") && !k.skip_validation) {
                const what = k.contype === "CONSTR_CHECK" ? "CHECK" : "FOREIGN KEY";
                add(
                    "constraint-without-not-valid",
                    `adds ${what} constraint${k.conname ? ` ${k.conname}` : ""} on ${table} without NOT VALID: every row is checked while a lock blocks ${k.contype === "CONSTR_CHECK" ? "reads and writes" : "writes"}`,
                );
            } else if ((k?.contype === "CONSTR_UNIQUE" || k?.contype === "CONSTR_PRIMARY" || k?.contype === "CONSTR_EXCLUSION") && !k.indexname) {
                add("index-without-concurrently", `adds a ${k.contype.replace("CONSTR_", "").toLowerCase()} constraint on ${table}, building its index under an ACCESS EXCLUSIVE lock: reads and writes wait until it is built`);
            }
            return;
        }
        case "AT_ValidateConstraint":
            validated.add(relname);
            return;
        case "AT_SetNotNull":
            if (!validated.has(relname)) {
                add("constraint-without-not-valid", `sets ${table}.${cmd.name} NOT NULL: every row is scanned under an ACCESS EXCLUSIVE lock (reads and writes wait)`);
            }
            return;
        default:
            return;
    }
}

function finding(m: MigrationSql, rule: LintRuleId, line: number, statement: string, problem: string): LintFinding {
    return { migration: m.id, rule, line, statement, problem, fix: LINT_RULES[rule].fix };
}

/** `SET lock_timeout = 0` (or '0', '0s') switches it off. */
function isZero(args?: Node[]): boolean {
    const c = (args?.[0] as { A_Const?: { ival?: { ival?: number }; sval?: { sval?: string } } } | undefined)?.A_Const;
    if (!c) return false;
    if (c.ival) return !c.ival.ival;
    return /^0+(\s*(ms|s|min|h|d))?$/i.test((c.sval?.sval ?? "").trim());
}

function qualified(r?: RangeVar): string {
    return r?.schemaname ? `${r.schemaname}.${r.relname}` : (r?.relname ?? "?");
}

/** Characters of leading `--` and block comments and blank space before a statement's first word. */
function skipComments(text: string): number {
    let i = 0;
    for (;;) {
        while (i < text.length && /\s/.test(text[i])) i++;
        if (text.startsWith("--", i)) {
            const nl = text.indexOf("\n", i);
            i = nl < 0 ? text.length : nl + 1;
        } else if (text.startsWith("/*", i)) {
            const close = text.indexOf("*/", i);
            i = close < 0 ? text.length : close + 2;
        } else {
            return i;
        }
    }
}

/** The line (from 1) of a character index in the SQL. */
export function lineAt(sql: string, index: number): number {
    return sql.slice(0, index).split("\n").length;
}

/** A statement on one line, comments dropped, at most 100 characters. */
function oneLine(text: string): string {
    const t = text.trim();
    const s = t.slice(skipComments(t)).replace(/\s+/g, " ").trim().replace(/;$/, "");
    return s.length > 100 ? `${s.slice(0, 97)}...` : s;
}
