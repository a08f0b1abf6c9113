/** LocalSandbox's arguments: ports left unset (as a stack file without switchyard:local.ports gives them) take the defaults. */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runGraph } from "../aws/testkit";
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
