// Masking against real PostgreSQL: production → snapshot (its schema recorded) → restored sandbox →
// masked. Every masked value of every row changed, rows and foreign keys still join, constraints and
// indexes intact, production's rows unchanged, refusals change nothing. Run under the e2e lock.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { destroyServer, initServer, psql } from "./postgres";
import { restoreSnapshot, takeSnapshot, readSnapshot } from "./clone";
import { maskDatabase, readOrMakeSalt } from "./mask";
import { freePort } from "../../../test/support/ports";

const ROWS = 3000;
const SEED = Number(process.env.MASK_TEST_SEED ?? 20261130);

/** Production's data: customers and their orders (joined by email, a foreign key), seeded. */
const SCHEMA_SQL = `
  CREATE TABLE customers (
    id int PRIMARY KEY,
    email varchar(60) NOT NULL UNIQUE,
    name text NOT NULL,
    nick text UNIQUE,
    phone text,
    address text,
    city text,
    card text,
    birth_date date,
    tier text NOT NULL
  );
  CREATE INDEX customers_name ON customers (name);
  CREATE TABLE orders (
    id bigint PRIMARY KEY,
    customer_email varchar(60) NOT NULL REFERENCES customers (email),
    total numeric NOT NULL,
    coupon text UNIQUE
  );
  SELECT setseed(${(SEED % 1000) / 1000});
  INSERT INTO customers
  SELECT g, 'customer' || g || '@mail.example.org', 'Real Person ' || g, 'nick' || g,
         '+44 (20) ' || lpad((floor(random() * 1e8))::bigint::text, 8, '0'),
         g || ' Real Street, Flat ' || (g % 7 + 1), 'City-' || g, '4000' || lpad(g::text, 12, '0'),
         date '1950-01-01' + (g * 7 % 20000), CASE WHEN g % 3 = 0 THEN 'gold' ELSE 'basic' END
    FROM generate_series(1, ${ROWS}) g;
  INSERT INTO orders SELECT g, 'customer' || (1 + (g * 7919) % ${ROWS}) || '@mail.example.org', g * 1.5, 'C' || g FROM generate_series(1, ${ROWS * 2}) g;
`;

const RULES = [
  { table: "customers", column: "email", rule: "hash" },
  { table: "orders", column: "customer_email", rule: "hash" },
  { table: "customers", column: "name", rule: "fake", kind: "name" },
  { table: "customers", column: "phone", rule: "fake", kind: "phone" },
  { table: "customers", column: "address", rule: "fake", kind: "address" },
  { table: "customers", column: "card", rule: "partial", first: 0, last: 4 },
  { table: "customers", column: "city", rule: "shuffle" },
  { table: "customers", column: "birth_date", rule: "null" },
  { table: "customers", column: "nick", rule: "hash" },
  { table: "customers", column: "tier", rule: "keep" },
];
const MASKED = RULES.filter((r) => r.table === "customers" && r.rule !== "keep").map((r) => r.column);

/** Every row of a table as JSON text, by id. */
async function rowsOf(port: number, table: string): Promise<Map<number, Record<string, unknown>>> {
  const c = new Client({ host: "127.0.0.1", port, user: "postgres", database: "shop" });
  await c.connect();
  try {
    const r = await c.query(`SELECT * FROM ${table} ORDER BY id`);
    return new Map(r.rows.map((row) => [Number(row.id), row]));
  } finally {
    await c.end();
  }
}

/** A checksum of every row of every table, and the constraints and indexes. */
async function checksum(port: number): Promise<string> {
  return psql(
    port,
    "shop",
    `SELECT md5((SELECT string_agg(c::text, '|' ORDER BY id) FROM customers c) || (SELECT string_agg(o::text, '|' ORDER BY id) FROM orders o)
       || (SELECT string_agg(conname || pg_get_constraintdef(oid), '|' ORDER BY conname) FROM pg_constraint WHERE connamespace = 'public'::regnamespace)
       || (SELECT string_agg(indexdef, '|' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'public'))`,
  );
}

describe("masking a restored sandbox (real PostgreSQL)", function () {
  this.timeout(180_000);
  let tmp: string;
  let prodPort: number;
  let sbPort: number;
  const prodDir = () => path.join(tmp, "prod", "pg");
  const sbDir = () => path.join(tmp, "sb", "pg");
  const saltFile = () => path.join(tmp, "sb", "masking.salt");
  let prodBefore: string;

  before(async () => {
    console.log(`      seed ${SEED} (MASK_TEST_SEED)`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sy-mask-"));
    prodPort = await freePort();
    await initServer({ dataDir: prodDir(), port: prodPort, databases: ["shop"] });
    await psql(prodPort, "shop", SCHEMA_SQL);
    prodBefore = await checksum(prodPort);
    await takeSnapshot({ dataDir: prodDir(), port: prodPort, snapshotDir: path.join(tmp, "snaps", "s1"), name: "s1" });
    sbPort = await freePort();
    await restoreSnapshot({ snapshotDir: path.join(tmp, "snaps", "s1"), dataDir: sbDir(), port: sbPort });
  });

  after(async () => {
    await destroyServer(sbDir()).catch(() => undefined);
    await destroyServer(prodDir()).catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("the snapshot records every table's columns and foreign keys (read at preview)", () => {
    const schema = readSnapshot(path.join(tmp, "snaps", "s1")).schema?.shop;
    assert.ok(schema, "the snapshot's meta holds the schema of database shop");
    assert.deepStrictEqual(Object.keys(schema.customers.columns), ["id", "email", "name", "nick", "phone", "address", "city", "card", "birth_date", "tier"]);
    assert.deepStrictEqual(schema.customers.columns.email, { type: "character varying", notNull: true, maxLength: 60 });
    assert.deepStrictEqual(schema.orders.foreignKeys, [{ columns: ["customer_email"], refTable: "customers", refColumns: ["email"] }]);
  });

  it("a production database is refused, naming it, and nothing changes", async () => {
    await assert.rejects(
      maskDatabase({ port: prodPort, database: "shop", role: "production", label: "shop-db", rules: RULES, saltFile: saltFile() }),
      /masking refuses database shop-db \(postgres:\/\/postgres@127\.0\.0\.1:\d+\/shop\): its role is production/,
    );
    assert.strictEqual(await checksum(prodPort), prodBefore);
  });

  it("a rule naming a missing column, or a table that fails half-way, changes nothing", async () => {
    const before = await checksum(sbPort);
    await assert.rejects(
      maskDatabase({ port: sbPort, database: "shop", role: "sandbox", rules: [{ table: "customers", column: "mail", rule: "hash" }], saltFile: saltFile() }),
      /switchyard:masking\[0\]: column "mail" does not exist in table customers/,
    );
    // Tables are masked in name order: customers is masked, then orders.coupon, faked as names, collides on its UNIQUE index.
    await assert.rejects(
      maskDatabase({
        port: sbPort,
        database: "shop",
        role: "sandbox",
        rules: [
          { table: "customers", column: "email", rule: "hash" },
          { table: "orders", column: "customer_email", rule: "hash" },
          { table: "orders", column: "coupon", rule: "fake", kind: "name" },
        ],
        saltFile: saltFile(),
      }),
      /masking table orders failed: duplicate key value violates unique constraint "orders_coupon_key"/,
    );
    assert.strictEqual(await checksum(sbPort), before, "the sandbox is as it was: one transaction");
  });

  it("masks: every masked value of every row changed, formats kept, rows and foreign keys still join, production unchanged", async () => {
    const prodCustomers = await rowsOf(prodPort, "customers");
    const lines: string[] = [];
    const r = await maskDatabase({ port: sbPort, database: "shop", role: "sandbox", rules: RULES, saltFile: saltFile(), onProgress: (l) => lines.push(l) });
    assert.deepStrictEqual(
      r.tables.map((t) => [t.table, t.rows]),
      [
        ["customers", ROWS],
        ["orders", ROWS * 2],
      ],
      "one statement per table, every row",
    );
    assert.strictEqual(lines.length, 2);

    const sb = await rowsOf(sbPort, "customers");
    assert.strictEqual(sb.size, ROWS);
    let checked = 0;
    for (const [id, before] of prodCustomers) {
      const after = sb.get(id) as Record<string, unknown>;
      assert.ok(after, `customer ${id} is still there`);
      for (const col of MASKED) {
        if (before[col] === null) continue;
        assert.notDeepStrictEqual(after[col], before[col], `customers.${col} of row ${id} changed (${JSON.stringify(before[col])})`);
        checked++;
      }
      assert.strictEqual(after.tier, before.tier, "keep keeps");
      assert.match(String(after.email), /^[0-9a-f]{32}$/);
      assert.match(String(after.name), /^[A-Z][a-z]+ [A-Z][a-z]+$/);
      assert.strictEqual(String(after.phone).replace(/\d/g, "9"), String(before.phone).replace(/\d/g, "9"), "a fake phone has the real one's shape");
      assert.match(String(after.address), /^\d+ [A-Z][a-z]+ [A-Z][a-z]+$/);
      assert.strictEqual(after.card, `${"*".repeat(String(before.card).length - 4)}${String(before.card).slice(-4)}`);
      assert.strictEqual(after.birth_date, null);
    }
    assert.strictEqual(checked, ROWS * MASKED.length, "every row of every masked column was checked");
    // Shuffle moves values between rows: the same values, none in its own row.
    assert.deepStrictEqual([...sb.values()].map((x) => x.city).sort(), [...prodCustomers.values()].map((x) => x.city).sort());

    // Orders: every order still joins its customer (the same customer id as in production).
    const joined = async (port: number) =>
      psql(port, "shop", "SELECT string_agg(o.id || ':' || c.id, ',' ORDER BY o.id) FROM orders o JOIN customers c ON c.email = o.customer_email");
    assert.strictEqual(await joined(sbPort), await joined(prodPort), "every order joins the same customer after masking");
    assert.strictEqual(await psql(sbPort, "shop", "SELECT count(*) FROM orders o LEFT JOIN customers c ON c.email = o.customer_email WHERE c.id IS NULL"), "0");
    assert.strictEqual(await psql(sbPort, "shop", "SELECT count(*) FROM orders WHERE customer_email LIKE 'customer%'"), "0", "no real email is left in orders");
    // Constraints and indexes are the same, and hold: a new order for a masked customer is accepted, an unknown one refused.
    const shape = (port: number) =>
      psql(port, "shop", "SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), '|' ORDER BY conname) || (SELECT string_agg(indexdef, '|' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'public') FROM pg_constraint WHERE connamespace = 'public'::regnamespace");
    assert.strictEqual(await shape(sbPort), await shape(prodPort));
    await psql(sbPort, "shop", `INSERT INTO orders SELECT ${ROWS * 3}, email, 1 FROM customers WHERE id = 1`);
    await assert.rejects(psql(sbPort, "shop", `INSERT INTO orders VALUES (${ROWS * 3 + 1}, 'customer1@mail.example.org', 1)`), /violates foreign key constraint/);
    assert.strictEqual(await psql(sbPort, "shop", "SELECT count(*) FROM customers WHERE email LIKE '%@mail.example.org' OR name LIKE 'Real Person%'"), "0");

    assert.strictEqual(await checksum(prodPort), prodBefore, "production's rows, constraints and indexes are unchanged");
  });

  it("the salt is the sandbox's own, made once and kept (hashes stay stable across re-runs)", () => {
    const s = readOrMakeSalt(saltFile());
    assert.match(s, /^[0-9a-f]{32}$/);
    assert.strictEqual(readOrMakeSalt(saltFile()), s);
    assert.strictEqual(fs.statSync(saltFile()).mode & 0o077, 0, "only its owner reads it");
  });
});
