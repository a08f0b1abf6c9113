/** LocalSandbox's arguments: ports left unset (as a stack file without switchyard:local.ports gives them) take the defaults. */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { expectThrows, runGraph, valueOf } from "../aws/testkit";
import { DEFAULT_SANDBOX_PORTS, LocalSandbox } from "./sandbox";

describe("LocalSandbox arguments", () => {
    let root: string;
    before(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-sbargs-"));
        fs.mkdirSync(path.join(root, "snap-1"));
        fs.writeFileSync(path.join(root, "snap-1", "meta.json"), JSON.stringify({ name: "snap-1", createdAt: "2026-11-30T00:00:00Z" }));
    });
    after(() => fs.rmSync(root, { recursive: true, force: true }));

    const args = (ports: unknown) => ({
        app: { command: "node app.js" },
        candidate: { version: "1.1.0" },
        snapshotRoot: root,
        ttlHours: 24,
        dataDir: path.join(root, "sb"),
        ports: ports as { app?: number; database?: number },
    });

    for (const [what, ports] of [
        ["no ports", undefined],
        ["ports with explicit undefined values", { app: undefined, database: undefined }],
    ] as const) {
        it(`${what}: the app and the database get the default ports`, async () => {
            const g = await runGraph(() => new LocalSandbox("sb", args(ports)));
            const byName = (n: string) => g.resources.find((r) => r.name === n);
            assert.strictEqual(byName("sb-db")?.inputs.port, DEFAULT_SANDBOX_PORTS.database);
            assert.strictEqual(byName("sb-app")?.inputs.port, DEFAULT_SANDBOX_PORTS.app);
        });
    }

    it("one port given: it is used, the other keeps its default", async () => {
        const g = await runGraph(() => new LocalSandbox("sb", args({ app: 19101, database: undefined })));
        assert.strictEqual(g.resources.find((r) => r.name === "sb-app")?.inputs.port, 19101);
        assert.strictEqual(g.resources.find((r) => r.name === "sb-db")?.inputs.port, DEFAULT_SANDBOX_PORTS.database);
    });
});

describe("LocalSandbox masking", () => {
    let root: string;
    const schema = {
        shop: {
            customers: { columns: { id: { type: "integer", notNull: true }, email: { type: "text", notNull: true }, phone: { type: "text", notNull: false } } },
        },
    };
    before(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-sbmask-"));
        fs.mkdirSync(path.join(root, "snap-1"));
        fs.writeFileSync(path.join(root, "snap-1", "meta.json"), JSON.stringify({ name: "snap-1", createdAt: "2026-11-30T00:00:00Z", schema }));
    });
    after(() => fs.rmSync(root, { recursive: true, force: true }));

    const args = (masking: unknown, extra: object = {}) => ({
        app: { command: "node app.js" },
        candidate: { version: "1.1.0" },
        snapshotRoot: root,
        ttlHours: 24,
        databaseName: "shop",
        dataDir: path.join(root, "sb"),
        masking: masking as { rules?: unknown; strict?: boolean },
        ...extra,
    });
    const MASK = "pulumi-nodejs:dynamic/switchyard-local:Masking";

    it("masks after the restore and before the app: the app depends on the masking, which depends on the database", async () => {
        const g = await runGraph(() => new LocalSandbox("sb", args({ rules: [{ table: "customers", column: "email", rule: "hash" }] })));
        const mask = g.one(MASK, "sb-mask");
        const sandbox = g.one("switchyard:local:Sandbox", "sb");
        const db = g.one("pulumi-nodejs:dynamic/switchyard-local:PostgresServer", "sb-db");
        assert.strictEqual(mask.parent, sandbox.urn, "a child of the sandbox");
        assert.ok(mask.dependencies.includes(db.urn), "after the restore");
        assert.ok(g.one("pulumi-nodejs:dynamic/switchyard-local:AppProcess", "sb-app").dependencies.includes(mask.urn), "before the app starts");
        assert.deepStrictEqual(mask.inputs.rules, [{ table: "customers", column: "email", rule: "hash" }]);
        assert.deepStrictEqual(mask.inputs.schema, schema.shop, "the snapshot's schema, for the policy pack");
        assert.strictEqual(mask.inputs.role, "sandbox");
    });

    it("without masking settings there is no masking resource", async () => {
        const g = await runGraph(() => new LocalSandbox("sb", args(undefined)));
        assert.strictEqual(g.all(MASK).length, 0);
    });

    it("a rule naming a column the snapshot's schema lacks is an error at preview, naming it", async () => {
        const g = await runGraph(() => new LocalSandbox("sb", args({ rules: [{ table: "customers", column: "mail", rule: "hash" }] })), { preview: true });
        await assert.rejects(
            valueOf(g.result.databaseUrl),
            /switchyard:masking\[0\]: column "mail" does not exist in table customers of database "shop" of snapshot snap-1; its columns: id, email, phone/,
        );
    });

    it("strict: a personal-looking column with no rule is an error at preview", async () => {
        const g = await runGraph(() => new LocalSandbox("sb", args({ rules: [{ table: "customers", column: "email", rule: "hash" }], strict: true })), { preview: true });
        await assert.rejects(valueOf(g.result.databaseUrl), /switchyard:maskingStrict: column customers\.phone of database "shop" of snapshot snap-1 looks personal/);
    });

    it("an unknown rule is refused before any child", async () => {
        const { error, graph } = await expectThrows(() => new LocalSandbox("sb", args({ rules: [{ table: "customers", column: "email", rule: "blur" }] })));
        assert.match(error.message, /switchyard:masking\[0\]\.rule is "blur", an unknown rule/);
        assert.strictEqual(graph.resources.filter((r) => r.custom).length, 0);
    });

    it("a database given the production role is refused, naming it, before any child", async () => {
        const { error, graph } = await expectThrows(
            () =>
                new LocalSandbox(
                    "sb",
                    args({ rules: [] }, { transform: { database: (a: Record<string, unknown>) => ({ ...a, role: "production" }) } }),
                ),
        );
        assert.match(error.message, /masking refuses database sb-db: its role is production/);
        assert.strictEqual(graph.resources.filter((r) => r.custom).length, 0);
    });
});
