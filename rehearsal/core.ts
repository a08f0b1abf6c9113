/**
 * Migration rehearsal, the pure part: fingerprints of a database, their differences, and the
 * verdict on a forward → back → forward run on a sandbox's copy of production data.
 *
 * Nothing here touches a database or a process; `postgres.ts` takes the fingerprints and `index.ts`
 * runs the migrations. The lint of the migrations' SQL (`lint.ts`) and their measured cost
 * (`cost.ts`) join the verdict here.
 */
import { CostReport, formatCosts } from "./cost";
import { formatFinding, LintFinding } from "./lint";
import { formatReplicationBreak, ReplicationBreak } from "./additive";

/** One table as the rehearsal sees it. */
export interface TableFingerprint {
    /** Column names with their types, in column order, e.g. "sku text". */
    readonly columns: string[];
    readonly rows: number;
    /** Digest of the table's rows, independent of their physical order. */
    readonly digest: string;
    /** Non-null values per column, so a dropped column can say what it held. */
    readonly nonNull: Record<string, number>;
}

/** A database as the rehearsal sees it: every user table, and the migrations applied. */
export interface DbFingerprint {
    /** Keyed by "schema.table". */
    readonly tables: Record<string, TableFingerprint>;
    /** Ids in the migration bookkeeping table, sorted. */
    readonly migrations: string[];
    /** Index corruption found by amcheck, one line per index; empty when sound. */
    readonly corruptIndexes: string[];
}

export type DifferenceKind = "table-added" | "table-dropped" | "column-added" | "column-dropped" | "column-changed" | "rows-changed" | "data-changed";

export interface Difference {
    readonly kind: DifferenceKind;
    readonly table: string;
    readonly detail: string;
    /** True when the change is not an expansion: the previous version may break or data is lost. */
    readonly contracts: boolean;
}

const colName = (c: string) => c.split(" ")[0];

/** Every difference from `a` to `b`, table by table, in a stable order. */
export function compare(a: DbFingerprint, b: DbFingerprint): Difference[] {
    const out: Difference[] = [];
    const names = [...new Set([...Object.keys(a.tables), ...Object.keys(b.tables)])].sort();
    for (const table of names) {
        const x = a.tables[table];
        const y = b.tables[table];
        if (!x) {
            out.push({ kind: "table-added", table, detail: `table ${table} added (${y.rows} rows)`, contracts: false });
            continue;
        }
        if (!y) {
            out.push({ kind: "table-dropped", table, detail: `table ${table} dropped with ${x.rows} rows`, contracts: true });
            continue;
        }
        const xs = new Map(x.columns.map((c) => [colName(c), c]));
        const ys = new Map(y.columns.map((c) => [colName(c), c]));
        for (const [name, def] of xs) {
            if (!ys.has(name)) {
                out.push({ kind: "column-dropped", table, detail: `column ${table}.${name} dropped with ${x.nonNull[name] ?? 0} non-null values`, contracts: true });
            } else if (ys.get(name) !== def) {
                out.push({ kind: "column-changed", table, detail: `column ${table}.${name} changed from "${def}" to "${ys.get(name)}"`, contracts: true });
            }
        }
        for (const [name, def] of ys) {
            if (!xs.has(name)) {
                out.push({ kind: "column-added", table, detail: `column ${def.replace(name, `${table}.${name}`)} added`, contracts: false });
            }
        }
        if (x.rows !== y.rows) {
            out.push({ kind: "rows-changed", table, detail: `table ${table} went from ${x.rows} to ${y.rows} rows`, contracts: y.rows < x.rows });
        } else if (x.digest !== y.digest && x.columns.join() === y.columns.join()) {
            out.push({ kind: "data-changed", table, detail: `table ${table} holds the same number of rows (${x.rows}) but different data`, contracts: false });
        }
    }
    return out;
}

export interface Check {
    readonly name: string;
    readonly ok: boolean;
    readonly findings: string[];
}

export interface RehearsalVerdict {
    readonly ok: boolean;
    /** The migrations the forward run applied (and the back run undid). */
    readonly applied: string[];
    readonly checks: Check[];
    /** The statements the lint named, each with its fix (when the SQL was linted). */
    readonly lint?: LintFinding[];
    /** How long each migration ran and held its locks on the sandbox: the expected cost in production. */
    readonly cost?: CostReport;
    /** Whether the migrations, applied to green alone, are additive for replication (when checked). */
    readonly replication?: ReplicationCheck;
}

/** The additivity check of a `replicated` pair's migrations: why it ran, over which tables, and what breaks replication. */
export interface ReplicationCheck {
    /** Why the check ran, e.g. 'production stack "organization/shop/local" is in database mode replicated' or "--replicated". */
    readonly because: string;
    /** The replicated tables (the live color's, as the sandbox holds them before the migrations), `schema.table`. */
    readonly tables: string[];
    /** Each statement that is not additive over them; empty when the migrations are additive. */
    readonly breaks: ReplicationBreak[];
}

/** What the rehearsal read of the migrations' SQL and measured while they ran forward. */
export interface RehearsalExtras {
    readonly lint?: {
        readonly findings: LintFinding[];
        /** Migrations applied whose SQL was not found, each with where it was looked for. */
        readonly missing: string[];
    };
    readonly cost?: CostReport;
    readonly replication?: ReplicationCheck;
}

/** The four fingerprints of a rehearsal: before, after forward, after back, after forward again. */
export interface RehearsalFingerprints {
    readonly start: DbFingerprint;
    readonly forward: DbFingerprint;
    readonly back: DbFingerprint;
    readonly again: DbFingerprint;
}

/**
 * Judges a rehearsal:
 * - forward only expands: no table or column dropped or retyped, no row lost, so the version still
 *   live keeps working beside the new one;
 * - back restores the start exactly, schema and data, so a revert after release is safe;
 * - forward again gives the same schema and rows as the first forward (the migration repeats);
 * - no phase leaves a corrupt index.
 */
export function judgeRehearsal(f: RehearsalFingerprints, extras: RehearsalExtras = {}): RehearsalVerdict {
    const applied = f.forward.migrations.filter((m) => !f.start.migrations.includes(m));
    const forward = compare(f.start, f.forward)
        .filter((d) => d.contracts)
        .map((d) => d.detail);
    const back = compare(f.start, f.back).map((d) => d.detail);
    const undone = f.back.migrations.join() === f.start.migrations.join() ? [] : [`migrations after back are [${f.back.migrations.join(", ")}], not [${f.start.migrations.join(", ")}]`];
    const again = compare(f.forward, f.again)
        .filter((d) => d.kind !== "data-changed")
        .map((d) => d.detail);
    const corrupt = (["start", "forward", "back", "again"] as const).flatMap((k) => f[k].corruptIndexes.map((i) => `${k}: ${i}`));
    const checks: Check[] = [
        {
            name: "there were migrations to rehearse",
            ok: applied.length > 0,
            findings: applied.length > 0 ? [] : ["no pending migration ran forward: rehearse the last ones applied with --last <n>"],
        },
        { name: "forward only expands (the live version keeps working, no row lost)", ok: forward.length === 0, findings: forward },
        { name: "back restores the start (schema and data)", ok: back.length === 0 && undone.length === 0, findings: [...undone, ...back] },
        { name: "forward again repeats the first forward", ok: again.length === 0, findings: again },
        { name: "indexes sound (amcheck)", ok: corrupt.length === 0, findings: corrupt },
    ];
    if (extras.lint) {
        const findings = [...extras.lint.missing, ...extras.lint.findings.map(formatFinding)];
        checks.push({ name: "the SQL takes no long lock and keeps the live version working (lint)", ok: findings.length === 0, findings });
    }
    if (extras.replication) {
        const findings = extras.replication.breaks.map(formatReplicationBreak);
        checks.push({ name: `applied to green alone, the SQL is additive: replication from blue keeps working (${extras.replication.because})`, ok: findings.length === 0, findings });
    }
    return {
        ok: checks.every((c) => c.ok),
        applied,
        checks,
        ...(extras.lint ? { lint: extras.lint.findings } : {}),
        ...(extras.cost ? { cost: extras.cost } : {}),
        ...(extras.replication ? { replication: extras.replication } : {}),
    };
}

/** The verdict as operator lines. */
export function formatVerdict(v: RehearsalVerdict): string {
    const lines = [`migrations rehearsed: ${v.applied.length ? v.applied.join(", ") : "none"}`];
    for (const c of v.checks) {
        lines.push(`  ${c.ok ? "ok  " : "FAIL"} ${c.name}`);
        for (const f of c.findings) lines.push(...f.split("\n").map((l) => `         ${l}`));
    }
    if (v.cost) lines.push(...formatCosts(v.cost));
    lines.push(v.ok ? "rehearsal passed" : "rehearsal FAILED: do not release these migrations as they are");
    return lines.join("\n");
}
