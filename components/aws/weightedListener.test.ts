import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { TAGS, TrafficWeights } from "../types";
import { AWS_TAGS } from "./common";
import { Graph, expectThrows, runGraph, valueOf } from "./testkit";
import { WeightedListener, WeightedListenerArgs } from "./weightedListener";

const LISTENER = "aws:lb/listener:Listener";
const BLUE = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/1";
const GREEN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/green/2";

function args(traffic: TrafficWeights, extra: Partial<WeightedListenerArgs> = {}): WeightedListenerArgs {
    return { loadBalancerArn: "arn:alb", targetGroupArns: { blue: BLUE, green: GREEN }, traffic, ...extra };
}

const main = (g: Graph<unknown>) => g.one(LISTENER, "l-main").inputs;
const test = (g: Graph<unknown>) => g.one(LISTENER, "l-test").inputs;

describe("aws WeightedListener", () => {
    it("forwards to both colors with the configured weights", async () => {
        const g = await runGraph(() => new WeightedListener("l", args({ blue: 90, green: 10 })));
        const m = main(g);
        assert.strictEqual(m.port, 80);
        assert.strictEqual(m.protocol, "HTTP");
        assert.strictEqual(m.defaultActions.length, 1);
        assert.strictEqual(m.defaultActions[0].type, "forward");
        assert.deepStrictEqual(m.defaultActions[0].forward.targetGroups, [
            { arn: BLUE, weight: 90 },
            { arn: GREEN, weight: 10 },
        ]);
        assert.deepStrictEqual(m.defaultActions[0].forward.stickiness, { enabled: false, duration: 3600 });
    });

    it("takes the weights from the stack's configuration (switchyard:traffic) when none are given", async () => {
        const g = await runGraph(() => new WeightedListener("l", args(undefined as never)), { config: { "switchyard:traffic": '{"blue":30,"green":70}' } });
        assert.deepStrictEqual(main(g).defaultActions[0].forward.targetGroups, [
            { arn: BLUE, weight: 30 },
            { arn: GREEN, weight: 70 },
        ]);
        assert.deepStrictEqual(test(g).defaultActions[0].forward.targetGroups, [{ arn: BLUE, weight: 1 }], "green is live, so the test listener reaches blue");
        const given = await runGraph(() => new WeightedListener("l", args({ blue: 90, green: 10 })), { config: { "switchyard:traffic": '{"blue":30,"green":70}' } });
        assert.deepStrictEqual(main(given).defaultActions[0].forward.targetGroups.map((t: any) => t.weight), [90, 10], "given weights win over the configuration");
    });

    const idleCases: [string, TrafficWeights, string, string][] = [
        ["blue live", { blue: 100, green: 0 }, GREEN, "green"],
        ["green live", { blue: 0, green: 100 }, BLUE, "blue"],
        ["mid-cutover, green ahead", { blue: 25, green: 75 }, BLUE, "blue"],
        ["a tie (blue counts as live)", { blue: 50, green: 50 }, GREEN, "green"],
    ];
    for (const [what, traffic, idleArn, idleName] of idleCases) {
        it(`test listener forwards only to the idle color: ${what}`, async () => {
            const g = await runGraph(() => new WeightedListener("l", args(traffic)));
            const t = test(g);
            assert.strictEqual(t.port, 8080);
            assert.strictEqual(t.defaultActions.length, 1);
            assert.deepStrictEqual(t.defaultActions[0].forward.targetGroups, [{ arn: idleArn, weight: 1 }]);
            assert.strictEqual(await valueOf(g.result.idleColor), idleName);
        });
    }

    it("keeps clients on their color when stickiness is on", async () => {
        const g = await runGraph(() => new WeightedListener("l", args({ blue: 50, green: 50 }, { stickiness: { enabled: true, durationSeconds: 600 } })));
        assert.deepStrictEqual(main(g).defaultActions[0].forward.stickiness, { enabled: true, duration: 600 });
    });

    it("tags the listener with the cutover plan, and only when one is given", async () => {
        const g = await runGraph(() => new WeightedListener("l", args({ blue: 100, green: 0 }, { cutover: { steps: [10, 25, 50, 100] } })));
        assert.strictEqual(main(g).tags[AWS_TAGS.cutoverSteps], "10,25,50,100");
        assert.strictEqual(main(g).tags[TAGS.role], "production");
        const none = await runGraph(() => new WeightedListener("l", args({ blue: 100, green: 0 })));
        assert.strictEqual(main(none).tags[AWS_TAGS.cutoverSteps], undefined);
    });

    it("uses HTTPS on 443 for both listeners with a certificate", async () => {
        const g = await runGraph(() => new WeightedListener("l", args({ blue: 100, green: 0 }, { certificateArn: "arn:cert" })));
        for (const l of [main(g), test(g)]) {
            assert.strictEqual(l.protocol, "HTTPS");
            assert.strictEqual(l.certificateArn, "arn:cert");
            assert.match(l.sslPolicy, /^ELBSecurityPolicy-TLS13/);
        }
        assert.strictEqual(main(g).port, 443);
    });

    describe("validation (nothing is created when it fails)", () => {
        const cases: [string, WeightedListenerArgs, RegExp][] = [
            ["a weight above 100", args({ blue: 120, green: 0 }), /traffic weight for blue is 120: it must be an integer from 0 to 100/],
            ["a negative weight", args({ blue: 100, green: -1 }), /traffic weight for green is -1/],
            ["a fractional weight", args({ blue: 99.5, green: 0.5 }), /traffic weight for blue is 99.5/],
            ["both weights 0", args({ blue: 0, green: 0 }), /traffic weights are both 0/],
            ["missing weights", args(undefined as never), /traffic weights are missing/],
            ["a cutover plan that falls", args({ blue: 100, green: 0 }, { cutover: { steps: [10, 5, 100] } }), /cutover step 2 \(5\) does not rise/],
            ["a cutover plan not ending at 100", args({ blue: 100, green: 0 }, { cutover: { steps: [10, 50] } }), /cutover steps end at 50/],
            ["the test listener on the main port", args({ blue: 100, green: 0 }, { port: 8080 }), /port and testPort are both 8080/],
            ["stickiness too long", args({ blue: 100, green: 0 }, { stickiness: { enabled: true, durationSeconds: 700000 } }), /stickiness durationSeconds is 700000/],
        ];
        for (const [what, a, message] of cases) {
            it(`refuses ${what}`, async () => {
                const { error, graph } = await expectThrows(() => new WeightedListener("l", a));
                assert.ok(error instanceof pulumi.ResourceError);
                assert.match(error.message, message);
                assert.deepStrictEqual(graph.resources.map((r) => r.type), ["switchyard:aws:WeightedListener"]);
            });
        }

        it("refuses configured weights out of range, naming the configuration key", async () => {
            const { error, graph } = await expectThrows(() => new WeightedListener("l", args(undefined as never)), { config: { "switchyard:traffic": '{"blue":100,"green":101}' } });
            assert.ok(error instanceof pulumi.ResourceError);
            assert.match(error.message, /^switchyard:traffic: traffic weight for green is 101: it must be an integer from 0 to 100/);
            assert.deepStrictEqual(graph.resources.map((r) => r.type), ["switchyard:aws:WeightedListener"]);
        });

        it("refuses missing weights, pointing to the configuration key", async () => {
            const { error } = await expectThrows(() => new WeightedListener("l", args(undefined as never)));
            assert.match(error.message, /traffic weights are missing: .*, or set the stack's configuration switchyard:traffic/);
        });

        it("checks weights that are an Output when they resolve", async () => {
            const g = await runGraph(() => new WeightedListener("l", args(pulumi.output({ blue: 101, green: 0 }) as never)));
            await assert.rejects(valueOf(g.result.traffic), (e: Error) => e instanceof pulumi.ResourceError && /traffic weight for blue is 101/.test(e.message));
            assert.strictEqual(g.all(LISTENER).length, 0);
        });
    });

    it("gives both listeners a parent and a stable name", async () => {
        const g = await runGraph(() => new WeightedListener("shop-listener", args({ blue: 100, green: 0 })));
        const component = g.one("switchyard:aws:WeightedListener");
        const children = g.resources.filter((r) => r !== component);
        assert.deepStrictEqual(children.map((r) => `${r.type} ${r.name}`).sort(), [`${LISTENER} shop-listener-main`, `${LISTENER} shop-listener-test`]);
        for (const c of children) {
            assert.strictEqual(c.parent, component.urn, `${c.name} must be a child of the component`);
        }
    });

    it("honours its transform hooks", async () => {
        const g = await runGraph(
            () =>
                new WeightedListener(
                    "l",
                    args(
                        { blue: 100, green: 0 },
                        {
                            transform: {
                                listener: (a) => ({ ...a, tcpIdleTimeoutSeconds: 120, tags: { custom: "main" } }),
                                testListener: (a) => ({ ...a, port: 9443 }),
                            },
                        },
                    ),
                ),
        );
        assert.strictEqual(main(g).tcpIdleTimeoutSeconds, 120);
        assert.deepStrictEqual(main(g).tags, { custom: "main" });
        assert.strictEqual(test(g).port, 9443);
        assert.deepStrictEqual(test(g).defaultActions[0].forward.targetGroups, [{ arn: GREEN, weight: 1 }]);
    });
});
