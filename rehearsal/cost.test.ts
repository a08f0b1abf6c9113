/** The expected cost of each migration from samples of pg_stat_activity and pg_locks: attribution, durations, locks. */
import * as assert from "assert";
import { ActivitySample, blocks, formatCosts, measureCosts, UNMATCHED } from "./cost";

const T0 = 1_700_000_000_000;
const APP = "switchyard-rehearsal";
const M3 = { id: "003_index", sql: "SET LOCAL lock_timeout = '5s';\nCREATE INDEX items_name_idx ON items (name);\n" };
const M4 = { id: "004_check", sql: "-- migrate:no-transaction\nSET lock_timeout = '5s';\nALTER TABLE items ADD CONSTRAINT c CHECK (name <> '') NOT VALID;\nALTER TABLE items VALIDATE CONSTRAINT c;\n" };

const sample = (at: number, over: Partial<ActivitySample> = {}): ActivitySample => ({
    at: T0 + at,
    pid: 41,
    application: APP,
    query: M3.sql,
    xactStart: T0,
    queryStart: T0 + 1,
    locks: [],
    ...over,
});
const lock = (mode: string, relation = "public.items", granted = true) => ({ relation, mode, granted });

describe("rehearsal cost: from samples to each migration's time and locks", () => {
    it("a transactional migration: ran from its transaction's start to the last sample, held its lock as long, bookkeeping left out", () => {
        const r = measureCosts(
            [
                sample(10, { locks: [lock("ShareLock"), lock("AccessShareLock")] }),
                sample(20, { locks: [lock("ShareLock")] }),
                // the tool's bookkeeping insert, in the same transaction
                sample(30, { query: "INSERT INTO schema_migrations (id) VALUES ($1)", locks: [lock("ShareLock"), lock("RowExclusiveLock", "public.schema_migrations")] }),
            ],
            [M3],
            { intervalMs: 10, application: APP, ignoreTables: ["schema_migrations"] },
        );
        assert.deepStrictEqual(r.migrations, [
            { migration: "003_index", observed: true, ranMs: 30, locks: [{ relation: "public.items", mode: "ShareLock", blocks: "writes", heldMs: 30, waitedMs: 0 }] },
        ]);
    });

    it("statements run one by one (no transaction): each is matched as part of its migration, the lock spans summed", () => {
        const validate = "ALTER TABLE items VALIDATE CONSTRAINT c";
        const add = "ALTER TABLE items ADD CONSTRAINT c CHECK (name <> '') NOT VALID";
        const r = measureCosts(
            [
                sample(5, { query: M3.sql, locks: [lock("ShareLock")] }),
                sample(50, { query: add, xactStart: T0 + 45, queryStart: T0 + 45, locks: [lock("AccessExclusiveLock")] }),
                sample(60, { query: validate, xactStart: T0 + 55, queryStart: T0 + 55, locks: [lock("ShareUpdateExclusiveLock")] }),
                sample(70, { query: validate, xactStart: T0 + 55, queryStart: T0 + 55, locks: [lock("ShareUpdateExclusiveLock")] }),
            ],
            [M3, M4],
            { intervalMs: 10, application: APP },
        );
        assert.deepStrictEqual(
            r.migrations.map((m) => [m.migration, m.ranMs, m.locks.map((l) => `${l.mode} ${l.heldMs} ${l.blocks}`)]),
            [
                ["003_index", 5, ["ShareLock 5 writes"]],
                ["004_check", 25, ["AccessExclusiveLock 5 reads and writes", "ShareUpdateExclusiveLock 15 no reads or writes"]],
            ],
        );
    });

    it("other sessions (the sandbox's app) are left out when the command's backends carry the application name", () => {
        const r = measureCosts(
            [sample(10, { locks: [lock("ShareLock")] }), sample(10, { pid: 7, application: "shop", query: "UPDATE items SET sku = 'a'", xactStart: T0 + 9, locks: [lock("RowExclusiveLock")] })],
            [M3],
            { intervalMs: 10, application: APP },
        );
        assert.deepStrictEqual(
            r.migrations.map((m) => m.migration),
            ["003_index"],
        );
    });

    it("a migration no sample saw ran under the interval; a tool that rewrites the SQL is reported as the command as a whole", () => {
        const r = measureCosts([sample(10, { query: "create index items_name_idx on items(name)", locks: [lock("ShareLock")] })], [M3], { intervalMs: 10, application: APP });
        assert.deepStrictEqual(
            r.migrations.map((m) => [m.migration, m.observed]),
            [
                ["003_index", false],
                [UNMATCHED, true],
            ],
        );
        assert.deepStrictEqual(formatCosts(r), [
            "expected cost in production, measured on the sandbox's copy of production data (sampled pg_stat_activity and pg_locks every 10 ms, 1 samples):",
            "  003_index: ran under 10 ms (finished between two samples)",
            `  ${UNMATCHED}: ran 10 ms`,
            "    held ShareLock on public.items for 10 ms (blocks writes)",
        ]);
    });

    it("a lock taken late in the transaction is held from the last sample without it, not from the transaction's start", () => {
        const r = measureCosts(
            [
                sample(10, { locks: [lock("ShareLock")] }),
                sample(100, { locks: [lock("ShareLock")] }),
                sample(120, { locks: [lock("ShareLock"), lock("AccessExclusiveLock")] }),
                sample(130, { locks: [lock("ShareLock"), lock("AccessExclusiveLock")] }),
            ],
            [M3],
            { intervalMs: 10 },
        );
        assert.deepStrictEqual(
            r.migrations[0].locks.map((l) => [l.mode, l.heldMs]),
            [
                ["AccessExclusiveLock", 30],
                ["ShareLock", 130],
            ],
        );
    });

    it("a lock waited for, then held: held from the last sample that saw it waiting", () => {
        const r = measureCosts(
            [sample(10, { locks: [lock("ShareLock", "public.items", false)] }), sample(40, { locks: [lock("ShareLock", "public.items", false)] }), sample(50, { locks: [lock("ShareLock")] })],
            [M3],
            { intervalMs: 10 },
        );
        assert.deepStrictEqual(r.migrations[0].locks, [{ relation: "public.items", mode: "ShareLock", blocks: "writes", heldMs: 10, waitedMs: 30 }]);
    });

    it("what each lock mode blocks", () => {
        assert.deepStrictEqual(
            ["AccessExclusiveLock", "ExclusiveLock", "ShareRowExclusiveLock", "ShareLock", "ShareUpdateExclusiveLock", "RowExclusiveLock"].map(blocks),
            ["reads and writes", "writes", "writes", "writes", "no reads or writes", "no reads or writes"],
        );
    });
});
