/** Finding Switchyard's components in a stack's state: the sandbox a command acts on, never production. */
import * as assert from "assert";
import { chooseSandbox } from "./pairs";
import { StateResource } from "./run";

const res = (type: string, name: string, outputs: Record<string, unknown> = {}): StateResource => ({ urn: `urn:pulumi:s::p::${type}::${name}`, type, name, outputs });
const pair = res("switchyard:local:BlueGreen", "shop", { databaseUrl: "postgres://app:s3cret@127.0.0.1:5432/shop" });
const sandbox = (name: string) => res("switchyard:local:Sandbox", name, { url: "http://127.0.0.1:8080" });
const WHY = "masking runs only on a sandbox's copy";

describe("stack: chooseSandbox", () => {
    it("returns the only sandbox, or the one named", () => {
        assert.strictEqual(chooseSandbox([res("pulumi:pulumi:Stack", "s"), sandbox("sb")], "local-sandbox", WHY).name, "sb");
        assert.strictEqual(chooseSandbox([sandbox("a"), sandbox("b")], "local-sandbox", WHY, "b").name, "b");
    });

    it("refuses a production stack, naming its pair and its database without the password, and why", () => {
        assert.throws(
            () => chooseSandbox([pair], "local", WHY),
            (e: Error) =>
                e.name === "UserError" &&
                e.message === `stack "local" holds a blue-green pair (shop), which is production: ${WHY} (production's database, shop: postgres://app@127.0.0.1:5432/shop)`,
        );
        assert.throws(() => chooseSandbox([res("switchyard:aws:BlueGreen", "web")], "prod", WHY), { message: `stack "prod" holds a blue-green pair (web), which is production: ${WHY}` });
    });

    it("refuses a stack with nothing in its state, and names the sandboxes when several and none named", () => {
        assert.throws(() => chooseSandbox([], "empty", WHY), { message: `stack "empty" has no sandbox in its state (is it up?): ${WHY}` });
        assert.throws(() => chooseSandbox([sandbox("a"), sandbox("b")], "two", WHY), /stack "two" has 2 sandboxes: a \(switchyard:local:Sandbox\), b \(switchyard:local:Sandbox\); name one with --sandbox <name>/);
        assert.throws(() => chooseSandbox([sandbox("a")], "one", WHY, "c"), /stack "one" has no sandbox named "c"; its sandboxes: a/);
    });
});
