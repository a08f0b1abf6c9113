/**
 * Masking end to end: a real pair, a snapshot, and a sandbox whose stack sets switchyard:masking. The
 * sandbox's app serves masked rows from its first request; production's rows are unchanged; a rule
 * naming a column that does not exist fails the preview; `switchyard mask` masks again and refuses
 * production. Real engine, PostgreSQL and app processes: run under the e2e lock.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import * as run from "../stack/run";
import { snapshotStack } from "../stack/snapshot";
import { maskSandbox } from "../stack/mask";
import { program } from "../index";
import { localPairConfig, localSandboxConfig } from "./support/stacks";
import { tempProject, TempProject, withEnv } from "./support/project";

const BASE = 20700 + (process.pid % 40) * 10;
const NAMES = ["Ada's espresso", "Grace's flat white", "Linus's cortado", "Barbara's mocha"];
const MASKING = [
    { table: "items", column: "name", rule: "fake", kind: "name" },
    { table: "items", column: "id", rule: "keep" },
    { table: "schema_migrations", column: "name", rule: "keep" }, // the migration tool's, not personal
];

describe("masking a sandbox when it comes up (real engine, PostgreSQL, app)", function () {
    this.timeout(300_000);
    let proj: TempProject;
    let home: string;
    let logs = "";
    let prodUrl: string;
    const env = () => ({ PULUMI_BACKEND_URL: `file://${proj.stateDir}`, SWITCHYARD_HOME: home });
    const target = (stackName: string): run.StackTarget => ({ stackName, root: proj.root, program, onOutput: (s) => (logs += s) });
    const inEnv = <T>(fn: () => Promise<T>) => withEnv(env(), fn);
    const items = async (url: string) => ((await (await fetch(`${url}/items`)).json()) as { id: number; name: string }[]).map((i) => i.name);

    before(async () => {
        proj = tempProject({
            pair: YAML.stringify({ config: localPairConfig(BASE, { "switchyard:traffic": { blue: 100, green: 0 } }) }),
            sandbox: YAML.stringify({ config: localSandboxConfig(BASE, { "switchyard:masking": MASKING, "switchyard:maskingStrict": true }) }),
            bad: YAML.stringify({ config: localSandboxConfig(BASE + 5, { "switchyard:masking": [{ table: "items", column: "nme", rule: "fake", kind: "name" }] }) }),
        });
        home = path.join(proj.root, "home");
        const up = await inEnv(() => run.up(target("pair")));
        prodUrl = up.outputs.url.value as string;
        for (const name of NAMES) {
            const r = await fetch(`${prodUrl}/items`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name }) });
            assert.strictEqual(r.status, 201);
        }
        await inEnv(() => snapshotStack(target("pair")));
    });

    after(async () => {
        await inEnv(async () => {
            for (const s of ["bad", "sandbox", "pair"]) await run.destroy(target(s)).catch(() => undefined);
        });
        proj.cleanup();
    });

    afterEach(function () {
        if (this.currentTest?.state === "failed") process.stderr.write(logs.slice(-4000));
        logs = "";
    });

    it("a rule naming a column that does not exist fails the preview and the up, naming it, and nothing is made", async () => {
        const err = await inEnv(() => run.preview(target("bad"))).then(
            () => undefined,
            (e: Error) => e,
        );
        assert.ok(err, "the preview failed");
        assert.match(err.message + logs, /switchyard:masking\[0\]: column "nme" does not exist in table items of database "shop" of snapshot [^;]+; its columns: id, name, created_at/);
        const upErr = await inEnv(() => run.up(target("bad"))).then(
            () => undefined,
            (e: Error) => e,
        );
        assert.match(String(upErr?.message), /switchyard:masking\[0\]: column "nme" does not exist/);
        assert.ok(!fs.existsSync(path.join(home, "data", "bad", "pg")), "nothing restored: no copy of production's data was made");
    });

    it("the sandbox's app serves masked rows from its first request; every masked value changed; production is unchanged", async () => {
        const prodBefore = await items(prodUrl);
        const up = await inEnv(() => run.up(target("sandbox")));
        assert.match(String(up.outputs.databaseUrl.value), /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/shop$/, "the database URL is an output once masked");
        const masked = await items(up.outputs.url.value as string);
        assert.strictEqual(masked.length, NAMES.length, "every row is there");
        masked.forEach((n, i) => {
            assert.notStrictEqual(n, NAMES[i], `row ${i + 1} changed`);
            assert.match(n, /^[A-Z][a-z]+ [A-Z][a-z]+$/, "a fake name");
        });
        assert.deepStrictEqual(await items(prodUrl), prodBefore, "production's rows are unchanged");
        assert.deepStrictEqual(prodBefore, NAMES);
    });

    it("switchyard mask masks the sandbox again; a production stack is refused, naming its database", async () => {
        const lines: string[] = [];
        const r = await inEnv(() => maskSandbox(target("sandbox"), { onProgress: (l) => lines.push(l) }));
        assert.deepStrictEqual(
            r.tables.map((t) => [t.table, t.rows]),
            [["items", NAMES.length]],
        );
        assert.match(lines.join("\n"), /masked items \(name: fake\)/);
        await assert.rejects(
            inEnv(() => maskSandbox(target("pair"))),
            (e: Error) => e.name === "UserError" && /stack "pair" holds a blue-green pair \(\S+\), which is production: masking runs only on a sandbox's copy \(production's database, \S+: postgres:\/\/postgres@127\.0\.0\.1:\d+\/shop\)/.test(e.message),
        );
    });
});
