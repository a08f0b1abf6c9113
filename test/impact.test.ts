/**
 * The impact map. The pure part with tables: previews' steps classed, tiered, and the release path
 * a tier allows. Then the real engine on the local platform: a database whose port changes is
 * flagged high risk naming `port`; a weights-only change is low; a version change with a migration
 * the database has not applied is a schema migration; a high-risk cutover is refused.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import {
    affectedResources,
    formatImpact,
    impactOf,
    majorVersion,
    MigrationStatus,
    PlannedStep,
    releasePathOf,
    releaseRefusals,
    readReleasePolicy,
    RiskTier,
    ChangeClass,
} from "../stack/impact";
import { migrationIds, migrationsDir, stepOf } from "../stack/impactRun";

const L = "pulumi-nodejs:dynamic/switchyard-local";
const urn = (type: string, name: string) => `urn:pulumi:local::switchyard::switchyard:local:BlueGreen$${type}::${name}`;
const step = (type: string, name: string, op: string, more: Partial<PlannedStep> = {}): PlannedStep => ({ urn: urn(type, name), type, op, ...more });
const noMigrations: MigrationStatus = { known: true, pending: [], applied: ["001_items", "002_items_add_sku"] };

describe("impact map: the pure core", () => {
    const cases: { name: string; steps: PlannedStep[]; migrations?: MigrationStatus; tier: RiskTier; classes: ChangeClass[]; reason?: RegExp }[] = [
        { name: "nothing changes", steps: [step(`${L}:Router`, "shop-router", "same")], tier: "low", classes: [] },
        {
            name: "traffic weights only (local router)",
            steps: [step(`${L}:Router`, "shop-router", "update", { olds: { weights: { blue: 100, green: 0 } }, news: { weights: { blue: 90, green: 10 } } })],
            tier: "low",
            classes: ["configuration"],
            reason: /traffic weights only/,
        },
        {
            name: "traffic weights only (ALB listener)",
            steps: [step("aws:lb/listener:Listener", "shop-listener", "update", { diffs: ["defaultActions"] })],
            tier: "low",
            classes: ["configuration"],
        },
        {
            name: "an app's version (local app process replaced for its version)",
            steps: [step(`${L}:AppProcess`, "shop-green", "replace", { keys: ["version"], olds: { version: "1.1.0" }, news: { version: "1.2.0" } })],
            tier: "medium",
            classes: ["app-version"],
            reason: /new app version/,
        },
        {
            name: "an app's version on AWS: task definition image and VERSION only, and its service",
            steps: [
                step("aws:ecs/taskDefinition:TaskDefinition", "shop-green-task", "replace", {
                    keys: ["containerDefinitions"],
                    olds: { containerDefinitions: JSON.stringify([{ name: "app", image: "r/shop:1.1.0", environment: [{ name: "VERSION", value: "1.1.0" }, { name: "A", value: "1" }] }]) },
                    news: { containerDefinitions: JSON.stringify([{ name: "app", image: "r/shop:1.2.0", environment: [{ name: "VERSION", value: "1.2.0" }, { name: "A", value: "1" }] }]) },
                }),
                step("aws:ecs/service:Service", "shop-green-svc", "update", { diffs: ["taskDefinition"] }),
            ],
            tier: "medium",
            classes: ["app-version"],
        },
        {
            name: "a task definition whose environment changes besides VERSION is not a version only",
            steps: [
                step("aws:ecs/taskDefinition:TaskDefinition", "shop-green-task", "replace", {
                    keys: ["containerDefinitions"],
                    olds: { containerDefinitions: JSON.stringify([{ image: "r:1", environment: [{ name: "A", value: "1" }] }]) },
                    news: { containerDefinitions: JSON.stringify([{ image: "r:2", environment: [{ name: "A", value: "2" }] }]) },
                }),
            ],
            tier: "medium",
            classes: ["infrastructure"],
        },
        {
            name: "an app's environment (configuration, not traffic)",
            steps: [step(`${L}:AppProcess`, "shop-blue", "update", { olds: { environment: { A: "1" } }, news: { environment: { A: "2" } } })],
            tier: "medium",
            classes: ["configuration"],
            reason: /configuration changes \(environment\)/,
        },
        {
            name: "an app's environment, its local process started again for it (configuration)",
            steps: [step(`${L}:AppProcess`, "shop-blue", "replace", { keys: ["environment"], olds: { environment: { A: "1" } }, news: { environment: { A: "2" } } })],
            tier: "medium",
            classes: ["configuration"],
            reason: /AppProcess shop-blue: configuration changes \(environment\)/,
        },
        {
            name: "the local database's port: the server is replaced, high, forced by port",
            steps: [
                step(`${L}:PostgresServer`, "shop-db", "delete-replaced", { keys: ["port"] }),
                step(`${L}:PostgresServer`, "shop-db", "replace", { keys: ["port"], diffs: ["port"], olds: { port: 15432 }, news: { port: 15499 } }),
                step(`${L}:PostgresServer`, "shop-db", "create-replacement", { keys: ["port"] }),
            ],
            tier: "high",
            classes: ["infrastructure"],
            reason: /stateful PostgresServer shop-db is replaced: its data goes with it; forced by port/,
        },
        {
            name: "an RDS instance replaced for its identifier",
            steps: [step("aws:rds/instance:Instance", "shop-db", "replace", { keys: ["identifier"] })],
            tier: "high",
            classes: ["infrastructure"],
            reason: /Instance shop-db is replaced.*forced by identifier/,
        },
        { name: "an RDS snapshot deleted", steps: [step("aws:rds/snapshot:Snapshot", "before-cutover", "delete")], tier: "high", classes: ["infrastructure"], reason: /Snapshot before-cutover is deleted/ },
        { name: "a local data directory created (new stack)", steps: [step(`${L}:DataDirectory`, "shop-data", "create")], tier: "medium", classes: ["infrastructure"] },
        {
            name: "an RDS major upgrade in place",
            steps: [step("aws:rds/instance:Instance", "shop-db", "update", { diffs: ["engineVersion"], olds: { engineVersion: "15.6" }, news: { engineVersion: "16.2" } })],
            tier: "high",
            classes: ["database-engine"],
            reason: /database engine or major version/,
        },
        {
            name: "an RDS minor upgrade is configuration",
            steps: [step("aws:rds/instance:Instance", "shop-db", "update", { diffs: ["engineVersion"], olds: { engineVersion: "16.1" }, news: { engineVersion: "16.2" } })],
            tier: "medium",
            classes: ["configuration"],
        },
        {
            name: "Switchyard's RDS Blue/Green deployment made for an upgrade",
            steps: [step("pulumi-nodejs:dynamic:Resource", "shop-upgrade", "create", { news: { kind: "switchyard:aws:RdsBlueGreenDeployment", targetEngineVersion: "17.2" } })],
            tier: "high",
            classes: ["database-engine"],
        },
        {
            name: "a version change with a pending migration: a schema migration, high",
            steps: [step(`${L}:AppProcess`, "shop-green", "replace", { keys: ["version"] })],
            migrations: { known: true, pending: ["003_orders"], applied: ["001_items", "002_items_add_sku"] },
            tier: "high",
            classes: ["app-version", "schema-migration"],
            reason: /1 migration\(s\) pending: 003_orders/,
        },
        {
            name: "components and the stack are not resources that change",
            steps: [step("switchyard:local:BlueGreen", "shop", "create", { custom: false }), { urn: "urn:pulumi:local::p::pulumi:pulumi:Stack::p-local", type: "pulumi:pulumi:Stack", op: "create" }],
            tier: "low",
            classes: [],
        },
    ];
    for (const c of cases) {
        it(`${c.name}: ${c.tier}, ${c.classes.join(" + ") || "no class"}`, () => {
            const map = impactOf({ stack: "local", steps: c.steps, migrations: c.migrations ?? noMigrations });
            assert.strictEqual(map.tier, c.tier, JSON.stringify(map, null, 2));
            assert.deepStrictEqual(map.classes, c.classes);
            if (c.reason) assert.match(map.reasons.join("\n"), c.reason);
        });
    }

    it("a replacement's three steps are one resource, with the keys that forced it", () => {
        const r = affectedResources([
            step(`${L}:PostgresServer`, "shop-db", "delete-replaced", { keys: ["port"] }),
            step(`${L}:PostgresServer`, "shop-db", "replace", { keys: ["dataDir", "port"], olds: { port: 1, dataDir: "/a", __provider: "x" }, news: { port: 2, dataDir: "/b", __provider: "y" } }),
            step(`${L}:PostgresServer`, "shop-db", "create-replacement", { keys: ["port"] }),
        ]);
        assert.strictEqual(r.length, 1);
        const green = affectedResources([
            step(`${L}:AppProcess`, "shop-green", "delete-replaced", { keys: ["version"], olds: { version: "1.1.0", port: 1 } }),
            step(`${L}:AppProcess`, "shop-green", "replace", { keys: ["version"], diffs: ["version"], olds: { version: "1.1.0", port: 1 }, news: { version: "1.2.0", port: 1 } }),
            step(`${L}:AppProcess`, "shop-green", "create-replacement", { keys: ["version"], news: { version: "1.2.0", port: 1 } }),
        ]);
        assert.deepStrictEqual(green.map((g) => [g.changed, g.class]), [[["version"], "app-version"]], "one-sided inputs of a replacement's own steps are not changes");
        assert.deepStrictEqual({ action: r[0].action, forcedBy: r[0].forcedBy, changed: r[0].changed, stateful: r[0].stateful }, { action: "replace", forcedBy: ["dataDir", "port"], changed: ["dataDir", "port"], stateful: true });
    });

    it("major versions: PostgreSQL from 10 by the first number, below by two; MySQL by two", () => {
        const table: [string, string][] = [
            ["16.4", "16"],
            ["17", "17"],
            ["9.6.24", "9.6"],
            ["5.7.44", "5.7"],
            ["8.0.35", "8.0"],
        ];
        for (const [v, m] of table) assert.strictEqual(majorVersion(v), m, v);
    });

    it("release paths: low all at once; medium two steps; high the configured minimum and evidence", () => {
        const table: [RiskTier, number | undefined, { allAtOnce: boolean; minSteps: number; requiresRehearsalAndTests: boolean }][] = [
            ["low", undefined, { allAtOnce: true, minSteps: 1, requiresRehearsalAndTests: false }],
            ["medium", 6, { allAtOnce: false, minSteps: 2, requiresRehearsalAndTests: false }],
            ["high", undefined, { allAtOnce: false, minSteps: 4, requiresRehearsalAndTests: true }],
            ["high", 6, { allAtOnce: false, minSteps: 6, requiresRehearsalAndTests: true }],
            ["high", 1, { allAtOnce: false, minSteps: 2, requiresRehearsalAndTests: true }],
        ];
        for (const [tier, minSteps, want] of table) assert.deepStrictEqual(releasePathOf(tier, { minSteps }), want, `${tier} ${minSteps}`);
    });

    it("refusals: the plan's steps against the tier, and the missing evidence only when high", () => {
        const map = (tier: RiskTier) => ({ stack: "local", tier, releasePath: releasePathOf(tier, { minSteps: 4 }) });
        const table: [RiskTier, number[], string[], RegExp[]][] = [
            ["low", [100], ["no run"], []],
            ["medium", [100], ["no run"], [/the plan 100 has 1 step\(s\); a medium-risk change needs no all-at-once cutover/]],
            ["medium", [50, 100], ["no run"], []],
            ["high", [50, 100], [], [/a high-risk change needs at least 4 steps \(switchyard:cutover.minSteps\)/]],
            ["high", [10, 25, 50, 100], ['suite "rehearsal" has no run of 1.2.0'], [/suite "rehearsal" has no run of 1.2.0/]],
            ["high", [10, 25, 50, 100], [], []],
        ];
        for (const [tier, steps, missing, want] of table) {
            const got = releaseRefusals(map(tier), { steps, evidenceMissing: missing });
            assert.strictEqual(got.length, want.length, `${tier} ${steps}: ${got.join(" | ")}`);
            want.forEach((re, i) => assert.match(got[i], re));
        }
    });

    it("switchyard:cutover.minSteps: a whole number from 1 to 100, else refused naming the key and the value", () => {
        assert.deepStrictEqual(readReleasePolicy({ steps: [10, 100] }), {});
        assert.deepStrictEqual(readReleasePolicy({ minSteps: 5 }), { minSteps: 5 });
        for (const bad of [0, 2.5, "4", 101, -1]) {
            assert.throws(() => readReleasePolicy({ minSteps: bad }), (e: Error) => e.name === "UserError" && e.message.includes(`switchyard:cutover.minSteps is ${JSON.stringify(bad)}`));
        }
    });

    it("the candidate's migrations: <id>.up.sql or <id>.sql; the folder from dir, else beside the command's script", () => {
        assert.deepStrictEqual(migrationIds(["002_b.up.sql", "002_b.down.sql", "001_a.up.sql", "003_c.sql", "README.md", "004_d.down.sql"]), ["001_a", "002_b", "003_c"]);
        assert.strictEqual(migrationsDir({ dir: "db/migrations" }, "/p"), "/p/db/migrations");
        assert.strictEqual(migrationsDir({ command: "node examples/app/migrate.js" }, "/p"), "/p/examples/app/migrations");
        assert.strictEqual(migrationsDir({ command: "MIGRATIONS_DIR=x node tools/migrate.ts" }, "/p"), "/p/tools/migrations");
        assert.strictEqual(migrationsDir({ command: "dbmate" }, "/p"), undefined);
    });

    it("an engine pre-event becomes a step (a component has no provider)", () => {
        const s = stepOf({
            sequence: 1,
            timestamp: 0,
            resourcePreEvent: {
                metadata: { op: "replace", urn: "u", type: `${L}:PostgresServer`, keys: ["port"], diffs: ["port"], provider: "p", old: { inputs: { port: 1 } } as never, new: { inputs: { port: 2 }, custom: true } as never },
            },
        });
        assert.deepStrictEqual(s, { urn: "u", type: `${L}:PostgresServer`, op: "replace", keys: ["port"], diffs: ["port"], olds: { port: 1 }, news: { port: 2 }, custom: true });
    });

    it("the text names the tier, the classes, the forcing property and the release path", () => {
        const map = impactOf({
            stack: "local",
            steps: [step(`${L}:PostgresServer`, "shop-db", "replace", { keys: ["port"] })],
            migrations: { known: false, pending: [], applied: [], note: "switchyard:migrations names no dir or command" },
        });
        const long = formatImpact(map);
        assert.match(long, /impact of local: HIGH risk \(infrastructure\)/);
        assert.match(long, /replace PostgresServer shop-db \(infrastructure: port\) forced by port {2}\[HIGH: stateful\]/);
        assert.match(long, /not compared: switchyard:migrations names no dir or command/);
        assert.match(long, /release path: at least 4 steps, a passing rehearsal and test run of this version/);
        const short = formatImpact(map, { short: true });
        assert.ok(short.split("\n").length <= 8, short);
    });
});

// ---------------------------------------------------------------------------------------------
// The real engine on the local platform (run under the e2e lock)
// ---------------------------------------------------------------------------------------------

import * as run from "../stack/run";
import { program } from "../index";
import { impact } from "../stack/impactRun";
import { cutover } from "../cutover";
import { localPairConfig } from "./support/stacks";
import { tempProject, TempProject, withEnv } from "./support/project";

const BASE = 20700 + (process.pid % 50) * 10;
const ROOT = path.resolve(__dirname, "..");
const APP_MIGRATIONS = path.join(ROOT, "examples", "app", "migrations");

describe("impact map on the real engine (local platform)", function () {
    this.timeout(300_000);
    let proj: TempProject;
    let home: string;
    let logs = "";
    const env = () => ({ PULUMI_BACKEND_URL: `file://${proj.stateDir}`, SWITCHYARD_HOME: home });
    const target = (): run.StackTarget => ({ stackName: "pair", root: proj.root, program, onOutput: (s) => (logs += s), onNotice: (s) => (logs += s) });
    const inEnv = <T>(fn: () => Promise<T>) => withEnv(env(), fn);
    const file = () => path.join(proj.root, "stacks", "Pulumi.pair.yaml");
    const pair = localPairConfig(BASE, { "switchyard:traffic": { blue: 100, green: 0 } });
    // The app runs from the package (the CLI runs the project's own program: the ready-made one, as `main`).
    const base: Record<string, unknown> = { ...pair, "switchyard:app": { ...(pair["switchyard:app"] as object), cwd: ROOT } };
    /** The pair's stack file with these keys over the config it was brought up with. */
    const configure = (over: Record<string, unknown>) => fs.writeFileSync(file(), YAML.stringify({ config: { ...base, ...over } }));

    before(async () => {
        proj = tempProject({ pair: YAML.stringify({ config: base }) });
        fs.writeFileSync(path.join(proj.root, "Pulumi.yaml"), `name: switchyard-test\nruntime: nodejs\nmain: ${path.join(ROOT, "stack", "classic.ts")}\nstackConfigDir: stacks\n`);
        home = path.join(proj.root, "home");
        await inEnv(() => run.up(target()));
    });

    after(async () => {
        await inEnv(() => run.destroy(target())).catch(() => undefined);
        proj.cleanup();
    });

    afterEach(function () {
        if (this.currentTest?.state === "failed") process.stderr.write(logs.slice(-4000));
        logs = "";
    });

    it("a weights-only change is low, and may go all at once", async () => {
        configure({ "switchyard:traffic": { blue: 90, green: 10 } });
        const map = await inEnv(() => impact(target()));
        process.stdout.write(formatImpact(map));
        assert.strictEqual(map.tier, "low", JSON.stringify(map, null, 2));
        assert.deepStrictEqual(map.classes, ["configuration"]);
        assert.deepStrictEqual(
            map.resources.map((r) => [r.name, r.action, r.changed, r.trafficOnly]),
            [["shop-router", "update", ["weights"], true]],
        );
        assert.strictEqual(map.releasePath.allAtOnce, true);
        // The CLI gives the same map to scripts.
        const cli = spawnSync(process.execPath, [path.join(ROOT, "bin", "switchyard"), "--cwd", proj.root, "impact", "pair", "--json"], {
            cwd: ROOT,
            env: { ...process.env, ...env() },
            encoding: "utf8",
            timeout: 180_000,
        });
        assert.strictEqual(cli.status, 0, cli.stderr);
        const json = JSON.parse(cli.stdout) as typeof map;
        assert.deepStrictEqual([json.tier, json.classes, json.resources.map((r) => r.name)], ["low", ["configuration"], ["shop-router"]]);
    });

    it("the database's port changed: its replacement is flagged high risk, naming port", async () => {
        const ports = (base["switchyard:local"] as { ports: Record<string, number> }).ports;
        configure({ "switchyard:local": { ports: { ...ports, database: BASE + 9 } } });
        const map = await inEnv(() => impact(target()));
        process.stdout.write(formatImpact(map));
        assert.strictEqual(map.tier, "high");
        const db = map.resources.find((r) => r.type.endsWith(":PostgresServer"));
        assert.ok(db, JSON.stringify(map.resources, null, 2));
        assert.deepStrictEqual({ action: db.action, forcedBy: db.forcedBy, stateful: db.stateful }, { action: "replace", forcedBy: ["port"], stateful: true });
        assert.match(map.reasons[0], /stateful PostgresServer shop-db is replaced: its data goes with it; forced by port/);
    });

    it("a version change with a migration the database has not applied is classed as a schema migration", async () => {
        const dir = path.join(proj.root, "candidate-migrations");
        fs.cpSync(APP_MIGRATIONS, dir, { recursive: true });
        fs.writeFileSync(path.join(dir, "003_orders.up.sql"), "CREATE TABLE orders (id serial PRIMARY KEY, item_id int REFERENCES items(id));\n");
        fs.writeFileSync(path.join(dir, "003_orders.down.sql"), "DROP TABLE orders;\n");
        configure({
            "switchyard:colors": { blue: { version: "1.0.0" }, green: { version: "1.2.0" } },
            "switchyard:migrations": { dir: "candidate-migrations" },
        });
        const map = await inEnv(() => impact(target()));
        process.stdout.write(formatImpact(map));
        assert.deepStrictEqual(map.migrations, { known: true, pending: ["003_orders"], applied: ["001_items", "002_items_add_sku"], source: dir });
        assert.deepStrictEqual(map.classes, ["app-version", "schema-migration"], JSON.stringify(map.resources, null, 2));
        assert.strictEqual(map.tier, "high");
        const green = map.resources.find((r) => r.name === "shop-green");
        assert.ok(green && green.class === "app-version" && green.forcedBy.includes("version"), JSON.stringify(map.resources, null, 2));
    });

    it("a high-risk cutover is refused before anything moves: too few steps, and no rehearsal or test run of the version", async () => {
        const ports = (base["switchyard:local"] as { ports: Record<string, number> }).ports;
        configure({ "switchyard:local": { ports: { ...ports, database: BASE + 9 } } });
        let shown: string | undefined;
        await assert.rejects(
            inEnv(() => cutover(target(), { steps: [50, 100], pretest: false, backup: false }, { impact: { onMap: (m) => (shown = m.tier) } })),
            (e: Error) =>
                e.name === "UserError" &&
                /refused: the change is high risk \(stateful PostgresServer shop-db is replaced.*forced by port\)/.test(e.message) &&
                /a high-risk change needs at least 4 steps/.test(e.message) &&
                /suite "rehearsal" has no run of 1.1.0/.test(e.message),
        );
        assert.strictEqual(shown, "high");
        configure({});
        const after = await inEnv(() => impact(target()));
        assert.strictEqual(after.tier, "low", "nothing changed: the stack is as it was brought up");
        assert.deepStrictEqual(after.resources, []);
    });

    it("a medium-risk cutover may not go all at once; a low-risk one may: it starts (and is stopped)", async () => {
        const app = base["switchyard:app"] as { environment: Record<string, string> };
        configure({ "switchyard:app": { ...app, environment: { ...app.environment, FEATURE: "on" } } });
        await assert.rejects(
            inEnv(() => cutover(target(), { steps: [100], pretest: false, backup: false }, { impact: {} })),
            (e: Error) => e.name === "UserError" && /the change is medium risk \(AppProcess shop-blue: configuration changes \(environment\)\); the plan 100 has 1 step\(s\); a medium-risk change needs no all-at-once cutover/.test(e.message),
        );
        configure({});
        const stop = new AbortController();
        const events: string[] = [];
        let tier: string | undefined;
        const cp = await inEnv(() =>
            cutover(target(), { steps: [100], pretest: false, backup: false }, {
                impact: { onMap: (m) => (tier = m.tier) },
                signal: stop.signal,
                onEvent: (e) => {
                    events.push(e.type);
                    if (e.type === "started") stop.abort();
                },
            }),
        );
        assert.strictEqual(tier, "low");
        assert.strictEqual(events[0], "started", events.join(", "));
        assert.notStrictEqual(cp.phase, "promoted", "stopped at once: the all-at-once plan was allowed to start, then reverted");
    });

    it("switchyard up prints the map's short form first", () => {
        configure({});
        const cli = spawnSync(process.execPath, [path.join(ROOT, "bin", "switchyard"), "--cwd", proj.root, "up", "pair", "--no-policy"], {
            cwd: ROOT,
            env: { ...process.env, ...env() },
            encoding: "utf8",
            timeout: 240_000,
        });
        assert.strictEqual(cli.status, 0, cli.stdout + cli.stderr);
        assert.match(cli.stdout, /^impact of pair: LOW risk \(no change\)\n {2}- no change\n {2}release path: may go all at once\n/);
    });
});
