import * as assert from "assert";
import { checkMasking, DatabaseSchema, maskExpression, maskTableSql, parseMasking, parseStrict, rulesByTable } from "./masking";

const schema: DatabaseSchema = {
    customers: {
        columns: {
            id: { type: "integer", notNull: true },
            email: { type: "character varying", notNull: true, maxLength: 120 },
            name: { type: "text", notNull: true },
            phone: { type: "text", notNull: false },
            city: { type: "text", notNull: false },
        },
    },
    orders: {
        columns: { id: { type: "bigint", notNull: true }, customer_email: { type: "character varying", notNull: true }, total: { type: "numeric", notNull: true } },
        foreignKeys: [{ columns: ["customer_email"], refTable: "customers", refColumns: ["email"] }],
    },
};

describe("masking rules (switchyard:masking)", () => {
    it("a valid list parses with no problem, from a list or its JSON text", () => {
        const list = [
            { table: "customers", column: "email", rule: "hash" },
            { table: "public.customers", column: "name", rule: "fake", kind: "name" },
            { table: "customers", column: "phone", rule: "partial", first: 0, last: 4 },
        ];
        assert.deepStrictEqual(parseMasking(list).problems, []);
        assert.deepStrictEqual(parseMasking(JSON.stringify(list)).rules, list);
        assert.deepStrictEqual(parseMasking(undefined), { rules: [], problems: [] });
    });

    for (const [what, raw, expected] of [
        ["an unknown rule", [{ table: "t", column: "c", rule: "scramble" }], /switchyard:masking\[0\]\.rule is "scramble", an unknown rule: use one of hash, fake, partial, null, shuffle, keep/],
        ["a fake rule without a kind", [{ table: "t", column: "c", rule: "fake" }], /switchyard:masking\[0\]\.kind is undefined: a fake rule makes one of name, email, phone, address/],
        ["a negative partial", [{ table: "t", column: "c", rule: "partial", first: -1 }], /switchyard:masking\[0\]\.first is -1/],
        ["kind on a hash", [{ table: "t", column: "c", rule: "hash", kind: "name" }], /kind goes with rule fake/],
        ["an unknown field", [{ table: "t", column: "c", rule: "hash", colum: "x" }], /unknown field "colum"/],
        ["a column masked twice", [{ table: "t", column: "c", rule: "hash" }, { table: "public.t", column: "c", rule: "null" }], /switchyard:masking\[1\] masks t\.c again \(switchyard:masking\[0\] already does\)/],
        ["not a list", { table: "t" }, /switchyard:masking is \{"table":"t"\}: give a list/],
        ["an entry that is not an object", ["email"], /switchyard:masking\[0\] is "email"/],
    ] as const) {
        it(`${what} is refused, naming the entry and the value`, () => {
            const r = parseMasking(raw);
            assert.ok(r.problems.some((p) => expected.test(p)), r.problems.join("\n"));
            assert.deepStrictEqual(r.rules, [], "nothing is half-accepted");
        });
    }

    it("maskingStrict takes true or false, and names itself otherwise", () => {
        assert.deepStrictEqual(parseStrict("true"), { strict: true });
        assert.deepStrictEqual(parseStrict(undefined), { strict: false });
        assert.match(parseStrict("yes").problem ?? "", /switchyard:maskingStrict is "yes": give true or false/);
    });
});

describe("masking rules against the schema", () => {
    const ok = [
        { table: "customers", column: "email", rule: "hash" },
        { table: "orders", column: "customer_email", rule: "hash" },
        { table: "customers", column: "name", rule: "fake", kind: "name" },
        { table: "customers", column: "city", rule: "shuffle" },
    ] as const;

    it("rules that fit the schema pass", () => {
        assert.deepStrictEqual(checkMasking(ok, schema), []);
    });

    for (const [what, rules, expected] of [
        ["a missing table", [{ table: "custmers", column: "email", rule: "hash" }], /switchyard:masking\[0\]: table "custmers" does not exist in database "shop"; its tables: customers, orders/],
        ["a missing column", [{ table: "customers", column: "mail", rule: "hash" }], /switchyard:masking\[0\]: column "mail" does not exist in table customers of database "shop"; its columns: id, email, name, phone, city/],
        ["null on a NOT NULL column", [{ table: "customers", column: "name", rule: "null" }], /customers\.name: rule null on a NOT NULL column/],
        ["hash of a numeric", [{ table: "orders", column: "total", rule: "hash" }], /orders\.total: rule hash takes a text, uuid or bigint column, not numeric/],
        ["fake of an integer", [{ table: "customers", column: "id", rule: "fake", kind: "name" }], /rule fake takes a text column, not integer/],
        ["a foreign key hashed on one side only", [{ table: "customers", column: "email", rule: "hash" }], /orders\.customer_email references customers\.email \(rules: none, hash\)/],
        ["a foreign key faked on both sides", [{ table: "customers", column: "email", rule: "fake", kind: "email" }, { table: "orders", column: "customer_email", rule: "fake", kind: "email" }], /rule hash on both/],
    ] as const) {
        it(`${what} is an error naming it`, () => {
            const problems = checkMasking(rules as never, schema, { where: 'database "shop"' });
            assert.ok(problems.some((p) => expected.test(p)), problems.join("\n"));
        });
    }

    it("strict: every personal-looking column without a rule is named; keep declares one not personal", () => {
        const problems = checkMasking(ok, schema, { strict: true, where: 'database "shop"' });
        assert.deepStrictEqual(problems, [
            'switchyard:maskingStrict: column customers.phone of database "shop" looks personal and has no rule in switchyard:masking: give it one (keep, if it is not personal)',
        ]);
        assert.deepStrictEqual(checkMasking([...ok, { table: "customers", column: "phone", rule: "keep" }], schema, { strict: true }), []);
    });
});

describe("masking SQL", () => {
    const salt = "0123456789abcdef0123456789abcdef";

    it("one UPDATE per table; keep rules change nothing", () => {
        const by = rulesByTable([
            { table: "customers", column: "email", rule: "hash" },
            { table: "customers", column: "id", rule: "keep" },
            { table: "orders", column: "customer_email", rule: "hash" },
        ]);
        assert.deepStrictEqual([...by.keys()], ["customers", "orders"]);
        const sql = maskTableSql("customers", by.get("customers") ?? [], schema.customers, salt);
        assert.match(sql, /^UPDATE "customers" SET "email" = /);
        assert.strictEqual((sql.match(/UPDATE/g) ?? []).length, 1);
        assert.ok(!sql.includes('"id"'));
    });

    it("the hash is the same function on every table (joins match) and fits the column's length", () => {
        const a = maskExpression({ table: "customers", column: "email", rule: "hash" }, schema.customers.columns.email, salt);
        const b = maskExpression({ table: "orders", column: "email", rule: "hash" }, schema.customers.columns.email, salt);
        assert.strictEqual(a, b);
        assert.match(a ?? "", /left\(md5\('0123456789abcdef0123456789abcdef' \|\| "email"::text\), 120\)/);
    });

    it("shuffled columns come from one window over the table, joined on ctid", () => {
        const sql = maskTableSql("customers", [{ table: "customers", column: "city", rule: "shuffle" }], schema.customers, salt);
        assert.match(sql, /FROM \(SELECT ctid AS sy_rid, .*lead\("city"\) OVER w0.* FROM "customers" WINDOW w0 AS/);
        assert.match(sql, /WHERE "customers"\.ctid = sy_shuffled\.sy_rid$/);
    });

    it("a salt that is not hex is refused (it is written into the SQL)", () => {
        assert.throws(() => maskTableSql("customers", [{ table: "customers", column: "email", rule: "hash" }], schema.customers, "x'; DROP"), /salt/);
    });
});
