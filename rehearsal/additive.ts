/**
 * Whether migrations applied to one color alone are additive for logical replication, the pure part:
 * parsed statements in, each statement that would break the stream from the live color (or the
 * reverse publication after the switchover) out, named with its table and why.
 *
 * In database mode `replicated` green has its own database, kept in sync by logical replication from
 * blue. DDL is not replicated, so the release's migrations run on green alone while blue keeps
 * writing the old schema, and every row blue writes must still apply on green. The tables that
 * matter are the replicated ones: every table of the live color (its publication carries them all).
 * A table the migrations create is green's alone and free.
 *
 * Additive: `CREATE TABLE`, `ADD COLUMN` nullable or with a default (or identity, or generated),
 * `CREATE INDEX` (not unique), views, functions, types, comments, grants, a dropped default or
 * `DROP NOT NULL`, a foreign key (replication's apply does not enforce one). Everything in
 * {@link REPLICATION_BREAKS} is not. The SQL is read by PostgreSQL's own
 * parser (`libpg-query`, as the linter reads it); unqualified names resolve through `search_path` as
 * the migration sets it (default `public`). Nothing here touches a database or a file.
 *
 * @example
 * const found = await checkAdditive([{ id: "003_rename", sql: "ALTER TABLE items RENAME name TO title;" }], { replicated: ["public.items"] });
 * // [{ kind: "rename", table: "public.items", line: 1, … }]
 */
import { loadModule, parseSync } from "libpg-query";
import type { AlterTableCmd, ColumnDef, Constraint, Node, ParseResult, RangeVar, RenameStmt } from "libpg-query";
import { lineAt, locateStatements, MigrationSql, notNullWithoutDefault } from "./lint";

/** What breaks replication from the live color, one id per kind. */
export type ReplicationBreakKind =
    | "drop-table"
    | "drop-column"
    | "rename"
    | "type-change"
    | "not-null-without-default"
    | "set-not-null"
    | "new-constraint"
    | "replica-identity"
    | "truncate"
    | "dml"
    | "unverifiable";

/** Each kind's short name, why it breaks replication, and what to do instead: the one place these words are defined. */
export const REPLICATION_BREAKS: Record<ReplicationBreakKind, { readonly title: string; readonly why: string; readonly fix: string }> = {
    "drop-table": {
        title: "a replicated table dropped",
        why: 'blue keeps writing it, and green\'s apply worker stops at the first such row (logical replication target relation "…" does not exist): replication halts and the lag grows until the switchover is refused',
        fix: "keep the table through the switchover; drop it in a later release, once no color that replicates writes it",
    },
    "drop-column": {
        title: "a replicated column dropped",
        why: "blue's rows still carry the column, and green's apply worker stops at the first one (target relation is missing replicated column): replication halts",
        fix: "stop using the column in this release; drop it in a later one, once no color that replicates has it",
    },
    rename: {
        title: "a replicated table or column renamed",
        why: "rows streamed from blue name the old table or column, which green no longer has: the apply worker stops at the first one, and after the switchover the reverse publication (blue's columns) names a column green lacks",
        fix: "add the new column (or table) beside the old one, write both, and drop the old name in a later release",
    },
    "type-change": {
        title: "a replicated column's type changed",
        why: "blue's values are sent as text and read into green's new type: the first one that does not convert stops replication, and after the switchover the reverse stream sends green's values into blue's old type",
        fix: "add a column of the new type beside the old one, fill it on green from the old one, and drop the old column in a later release",
    },
    "not-null-without-default": {
        title: "a column added NOT NULL with no default to a replicated table",
        why: "rows streamed from blue do not carry the new column, so their INSERT on green breaks NOT NULL and replication stops",
        fix: "add the column nullable or with a constant DEFAULT; enforce NOT NULL in a later release, after the switchover",
    },
    "set-not-null": {
        title: "NOT NULL set on a replicated column",
        why: "blue's version may still write NULL there: the first such row breaks the constraint on green and replication stops",
        fix: "enforce it in a later release, once no color that replicates writes NULL there",
    },
    "new-constraint": {
        title: "a unique, primary key, exclusion or check constraint added to a replicated table",
        why: "blue does not have it: the first row blue writes that breaks it (a duplicate, a failing check; NOT VALID still checks every new row, and replicated rows are new rows on green) stops replication",
        fix: "add the constraint in a later release, after the switchover, when the color that has it is the one taking writes",
    },
    "replica-identity": {
        title: "a replicated table's replica identity set to NOTHING",
        why: "after the switchover green publishes the table back to blue, and a table with no replica identity refuses its UPDATEs and DELETEs there",
        fix: "keep the primary key as the replica identity (REPLICA IDENTITY DEFAULT)",
    },
    truncate: {
        title: "a replicated table truncated",
        why: "green's copy is emptied while blue keeps the rows: the colors diverge, and blue's updates and deletes of those rows find nothing on green",
        fix: "change the data on blue (the live color), which replicates it to green, or after the switchover",
    },
    dml: {
        title: "rows of a replicated table inserted, updated or deleted",
        why: "the change is made on green alone, so green diverges from blue: a later change streamed from blue overwrites it or, for an inserted row, collides on its key and stops replication",
        fix: "change the data on blue (the live color), which replicates it to green, or after the switchover; a backfill of a new column can wait for the switchover",
    },
    unverifiable: {
        title: "code the check cannot read",
        why: "a DO block or a CALL runs procedural code, which may drop, rename or write replicated tables: the check cannot tell",
        fix: "write its statements as plain SQL, so each can be checked",
    },
};

/** One statement that is not additive over the replicated tables. */
export interface ReplicationBreak {
    readonly migration: string;
    /** The file the migration's SQL came from, when known. */
    readonly file?: string;
    readonly kind: ReplicationBreakKind;
    /** Line of the statement in the migration's SQL, from 1. */
    readonly line: number;
    /** The statement, on one line, shortened. */
    readonly statement: string;
    /** The replicated table, `schema.table` (absent for {@link REPLICATION_BREAKS.unverifiable}). */
    readonly table?: string;
    /** What the statement does to it, e.g. "renames column name to title". */
    readonly change: string;
    /** Why it breaks replication (from {@link REPLICATION_BREAKS}). */
    readonly why: string;
    readonly fix: string;
}

export interface AdditiveOptions {
    /**
     * The replicated tables, as `schema.table` (unquoted; case as stored).
     * @example ["public.items"]
     */
    readonly replicated: Iterable<string>;
    /**
     * The schemas an unqualified name is looked up in, in order, until a migration sets `search_path`.
     * @default ["public"]
     */
    readonly searchPath?: readonly string[];
}

/** The state a run of migrations carries from one statement to the next. */
interface Scope {
    readonly replicated: ReadonlySet<string>;
    /** Tables created by the migrations so far, `schema.table` (temporary ones as `pg_temp.table`). */
    readonly created: Set<string>;
    searchPath: string[];
    readonly defaultPath: string[];
}

/** Checks each migration in turn, in the order they run: a table one creates is new to the next ones too. */
export async function checkAdditive(migrations: readonly MigrationSql[], o: AdditiveOptions): Promise<ReplicationBreak[]> {
    await loadModule();
    const path = [...(o.searchPath ?? ["public"])];
    const scope: Scope = { replicated: new Set(o.replicated), created: new Set(), searchPath: path, defaultPath: path };
    return migrations.flatMap((m) => {
        scope.searchPath = scope.defaultPath; // each migration is a session of its own
        let parsed: ParseResult;
        try {
            parsed = parseSync(m.sql);
        } catch (e) {
            const pos = (e as { sqlDetails?: { cursorPosition?: number } }).sqlDetails?.cursorPosition ?? 0;
            return [
                {
                    migration: m.id,
                    ...(m.file ? { file: m.file } : {}),
                    kind: "unverifiable" as const,
                    line: lineAt(m.sql, pos),
                    statement: "",
                    change: `the parser cannot read it: ${(e as Error).message}`,
                    why: "SQL that cannot be read cannot be checked",
                    fix: "correct the SQL: it would fail in production too",
                },
            ];
        }
        return additiveParsed(m, parsed, scope);
    });
}

/** A finding as operator lines: where, what, why, and the fix. */
export function formatReplicationBreak(b: ReplicationBreak): string {
    return `${b.file ?? b.migration} line ${b.line}: ${b.statement}\n  ${b.table ? `${b.table}: ` : ""}${b.change}: ${b.why}\n  fix: ${b.fix}`;
}

function additiveParsed(m: MigrationSql, parsed: ParseResult, scope: Scope): ReplicationBreak[] {
    const out: ReplicationBreak[] = [];
    for (const { stmt, line, statement } of locateStatements(m.sql, parsed)) {
        const add = (kind: ReplicationBreakKind, table: string | undefined, change: string) =>
            out.push({ migration: m.id, ...(m.file ? { file: m.file } : {}), kind, line, statement, ...(table ? { table } : {}), change, why: REPLICATION_BREAKS[kind].why, fix: REPLICATION_BREAKS[kind].fix });
        const [kind, body] = Object.entries(stmt)[0] ?? ["", {}];
        const rel = (r?: RangeVar) => resolve(scope, r?.schemaname, r?.relname, r?.relpersistence === "t");

        switch (kind) {
            case "VariableSetStmt": {
                const v = body as { kind?: string; name?: string; args?: Node[] };
                if (v.name === "search_path") {
                    const names = (v.args ?? []).map((a) => (a as { A_Const?: { sval?: { sval?: string } } }).A_Const?.sval?.sval ?? "").filter((s) => s && s !== "$user");
                    scope.searchPath = v.kind === "VAR_SET_VALUE" && names.length ? names : scope.defaultPath;
                } else if (v.kind === "VAR_RESET_ALL") {
                    scope.searchPath = scope.defaultPath;
                }
                break;
            }
            case "CreateStmt":
            case "CreateTableAsStmt": {
                const r = kind === "CreateStmt" ? (body as { relation?: RangeVar }).relation : (body as { into?: { rel?: RangeVar } }).into?.rel;
                // made in the named schema, else the path's first; IF NOT EXISTS over a replicated table makes nothing
                const made = r?.relpersistence === "t" ? `pg_temp.${r.relname}` : `${r?.schemaname ?? scope.searchPath[0] ?? "public"}.${r?.relname}`;
                if (r?.relname && !scope.replicated.has(made)) scope.created.add(made);
                break;
            }
            case "AlterTableStmt": {
                const a = body as { relation?: RangeVar; cmds?: Node[]; objtype?: string };
                const t = rel(a.relation);
                if (a.objtype !== "OBJECT_TABLE" || !t.replicated) break;
                for (const c of a.cmds ?? []) {
                    const cmd = (c as { AlterTableCmd?: AlterTableCmd }).AlterTableCmd;
                    if (cmd) alterCmd(cmd, t.name, add);
                }
                break;
            }
            case "RenameStmt": {
                const r = body as RenameStmt;
                const t = rel(r.relation);
                if (r.renameType === "OBJECT_TABLE") {
                    if (t.replicated) add("rename", t.name, `renames the table to ${r.newname}`);
                    else if (scope.created.delete(t.name)) scope.created.add(`${schemaOf(t.name)}.${r.newname}`);
                } else if (r.renameType === "OBJECT_COLUMN" && r.relationType === "OBJECT_TABLE" && t.replicated) {
                    add("rename", t.name, `renames column ${r.subname} to ${r.newname}`);
                }
                break;
            }
            case "AlterObjectSchemaStmt": {
                const s = body as { objectType?: string; relation?: RangeVar; newschema?: string };
                const t = rel(s.relation);
                if (s.objectType !== "OBJECT_TABLE") break;
                if (t.replicated) add("rename", t.name, `moves the table to schema ${s.newschema}`);
                else if (scope.created.delete(t.name)) scope.created.add(`${s.newschema}.${s.relation?.relname}`);
                break;
            }
            case "DropStmt": {
                const d = body as { removeType?: string; objects?: Node[]; behavior?: string };
                if (d.removeType === "OBJECT_TABLE") {
                    for (const o of d.objects ?? []) {
                        const names = ((o as { List?: { items?: Node[] } }).List?.items ?? []).map((i) => (i as { String?: { sval?: string } }).String?.sval ?? "");
                        const t = resolve(scope, names.length > 1 ? names[names.length - 2] : undefined, names[names.length - 1]);
                        if (t.replicated) add("drop-table", t.name, "drops the table");
                        else scope.created.delete(t.name);
                    }
                } else if (d.removeType === "OBJECT_SCHEMA") {
                    for (const o of d.objects ?? []) {
                        const schema = (o as { String?: { sval?: string } }).String?.sval;
                        for (const t of [...scope.replicated].filter((t) => schema && schemaOf(t) === schema).sort()) {
                            add("drop-table", t, `drops schema ${schema}${d.behavior === "DROP_CASCADE" ? " with its tables (CASCADE)" : ", which holds it"}`);
                        }
                    }
                }
                break;
            }
            case "TruncateStmt":
                for (const r of (body as { relations?: Node[] }).relations ?? []) {
                    const t = rel((r as { RangeVar?: RangeVar }).RangeVar);
                    if (t.replicated) add("truncate", t.name, "empties the table on green alone");
                }
                break;
            case "IndexStmt": {
                const ix = body as { relation?: RangeVar; unique?: boolean; idxname?: string };
                const t = rel(ix.relation);
                if (ix.unique && t.replicated) add("new-constraint", t.name, `builds unique index${ix.idxname ? ` ${ix.idxname}` : ""}`);
                break;
            }
            case "CopyStmt": {
                const c = body as { relation?: RangeVar; is_from?: boolean };
                const t = rel(c.relation);
                if (c.is_from && t.replicated) add("dml", t.name, "copies rows into the table on green alone");
                break;
            }
            case "DoStmt":
                add("unverifiable", undefined, "runs a DO block");
                break;
            case "CallStmt":
                add("unverifiable", undefined, "calls a procedure");
                break;
            default:
                break;
        }
        // Data changes anywhere in the statement: top level, in a WITH, in an INSERT … SELECT's source.
        for (const [verb, r] of dmlIn(stmt)) {
            const t = rel(r);
            if (t.replicated) add("dml", t.name, `${verb} rows on green alone`);
        }
    }
    return out;
}

function alterCmd(cmd: AlterTableCmd, table: string, add: (kind: ReplicationBreakKind, table: string, change: string) => void): void {
    const def = cmd.def as { ColumnDef?: ColumnDef; Constraint?: Constraint; ReplicaIdentityStmt?: { identity_type?: string } } | undefined;
    switch (cmd.subtype) {
        case "AT_AddColumn": {
            const col = def?.ColumnDef;
            // A constraint on the new column alone (UNIQUE, CHECK) sees only its default or NULL in blue's rows, which it
            // accepted for every existing row when the column was added: it cannot stop replication.
            if (notNullWithoutDefault(col)) add("not-null-without-default", table, `adds column ${col?.colname} NOT NULL with no default`);
            return;
        }
        case "AT_DropColumn":
            add("drop-column", table, `drops column ${cmd.name}`);
            return;
        case "AT_AlterColumnType":
            add("type-change", table, `changes the type of column ${cmd.name}`);
            return;
        case "AT_SetNotNull":
            add("set-not-null", table, `sets column ${cmd.name} NOT NULL`);
            return;
        case "AT_AddConstraint": {
            const k = def?.Constraint;
            if (k?.contype === "CONSTR_NOTNULL") {
                add("set-not-null", table, `adds a NOT NULL constraint${k.conname ? ` ${k.conname}` : ""}`);
            } else if (k?.contype === "CONSTR_PRIMARY" || k?.contype === "CONSTR_UNIQUE" || k?.contype === "CONSTR_EXCLUSION" || k?.contype === "CONSTR_CHECK") {
                add("new-constraint", table, `adds ${constraintName(k.contype)} constraint${k.conname ? ` ${k.conname}` : ""}${k.skip_validation ? " (NOT VALID)" : ""}`);
            }
            return;
        }
        case "AT_ReplicaIdentity":
            if (def?.ReplicaIdentityStmt?.identity_type === "n") add("replica-identity", table, "sets REPLICA IDENTITY NOTHING");
            return;
        default:
            return;
    }
}

const constraintName = (contype: string) => ({ CONSTR_PRIMARY: "a primary key", CONSTR_UNIQUE: "a unique", CONSTR_EXCLUSION: "an exclusion", CONSTR_CHECK: "a check" })[contype] ?? contype;

const DML: Record<string, string> = { InsertStmt: "inserts", UpdateStmt: "updates", DeleteStmt: "deletes", MergeStmt: "merges" };

/** Statements that define code holding DML without running it: a function's `BEGIN ATOMIC` body, a rule's actions. */
const DEFINES = new Set(["CreateFunctionStmt", "RuleStmt"]);

/** Every INSERT, UPDATE, DELETE and MERGE a statement runs, anywhere in its tree, with its target. */
function dmlIn(node: unknown, out: [string, RangeVar | undefined][] = []): [string, RangeVar | undefined][] {
    if (Array.isArray(node)) {
        for (const n of node) dmlIn(n, out);
    } else if (node && typeof node === "object") {
        for (const [k, v] of Object.entries(node)) {
            if (DEFINES.has(k)) continue;
            if (DML[k] && v && typeof v === "object") out.push([DML[k], (v as { relation?: RangeVar }).relation]);
            dmlIn(v, out);
        }
    }
    return out;
}

const schemaOf = (qualified: string) => qualified.slice(0, qualified.lastIndexOf("."));

/**
 * Where a table name leads: a schema-qualified name is itself; an unqualified one is looked up in the
 * session's temporary tables, then along `search_path` among the replicated tables and the ones the
 * migrations created (a name found nowhere is neither, and is taken as in the path's first schema).
 */
function resolve(scope: Scope, schema: string | undefined, name: string | undefined, temporary = false): { name: string; replicated: boolean } {
    if (!name) return { name: "?", replicated: false };
    if (temporary) return { name: `pg_temp.${name}`, replicated: false };
    if (schema) return { name: `${schema}.${name}`, replicated: scope.replicated.has(`${schema}.${name}`) && !scope.created.has(`${schema}.${name}`) };
    if (scope.created.has(`pg_temp.${name}`)) return { name: `pg_temp.${name}`, replicated: false };
    for (const s of scope.searchPath) {
        const q = `${s}.${name}`;
        if (scope.created.has(q)) return { name: q, replicated: false };
        if (scope.replicated.has(q)) return { name: q, replicated: true };
    }
    return { name: `${scope.searchPath[0] ?? "public"}.${name}`, replicated: false };
}
