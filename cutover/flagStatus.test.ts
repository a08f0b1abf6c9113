/** `status` names a flag's disagreement among config, state and the served file, as it does for weights (pure). */
import * as assert from "assert";
import { disagreements, flagDisagreement, FlagPlaces } from "./index";

const w = { blue: 100, green: 0 };
const place = (p: Partial<FlagPlaces>): FlagPlaces => ({ name: "new-checkout", configGiven: true, config: "off", state: "off", served: "off", ...p });

describe("status: flags in config, state and the served file", () => {
    it("agreeing places give no disagreement", () => {
        assert.strictEqual(flagDisagreement(place({ config: 10, state: 10, served: 10 }), "dev"), undefined);
        assert.deepStrictEqual(disagreements({ weightsInState: w, weightsInConfig: w, weightsServed: w, flags: [place({})] }, "dev"), []);
    });

    it("a served file ahead of the state names each place and the stage it holds", () => {
        const d = flagDisagreement(place({ config: "off", state: "off", served: 10 }), "dev");
        assert.strictEqual(d, "flag new-checkout: the config file holds off, the state holds off, the served file serves 10%: `switchyard up dev` writes the file from the stack again");
    });

    it("a config ahead of the state says the next up would apply it", () => {
        const d = flagDisagreement(place({ config: "internal", state: "off", served: "internal" }), "dev");
        assert.match(d ?? "", /^flag new-checkout: the config file holds internal, the state holds off, the served file serves internal: the next `up` would apply the config's$/);
    });

    it("a flag missing from the served file is named absent", () => {
        assert.match(flagDisagreement(place({ served: undefined }), "dev") ?? "", /the served file serves nothing \(absent\)/);
    });

    it("flags the program gives are not compared with the config file", () => {
        assert.strictEqual(flagDisagreement(place({ configGiven: false, config: undefined, state: 10, served: 10 }), "dev"), undefined);
        assert.doesNotMatch(flagDisagreement(place({ configGiven: false, config: undefined, state: 10, served: "off" }), "dev") ?? "", /config/);
    });

    it("status lists flag disagreements beside the weights', one line per flag", () => {
        const d = disagreements(
            { weightsInState: w, weightsInConfig: w, weightsServed: { blue: 50, green: 50 }, flags: [place({ served: 50 }), place({ name: "other" }), place({ name: "third", state: 10 })] },
            "dev",
        );
        assert.strictEqual(d.length, 3, d.join("\n"));
        assert.match(d[0], /^the router serves/);
        assert.match(d[1], /^flag new-checkout: /);
        assert.match(d[2], /^flag third: .*the state holds 10%/);
    });
});
