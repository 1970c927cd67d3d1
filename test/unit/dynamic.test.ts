import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { engineSafe } from "../../provider/dynamic";

describe("engineSafe (pure)", function () {
    const provider: pulumi.dynamic.ResourceProvider = {
        async create(inputs: Record<string, unknown>) {
            return { id: "x", outs: { ...inputs, gone: undefined, nested: { kept: 1, gone: undefined } } };
        },
    };

    it("drops undefined values from results, deeply", async function () {
        const result = await engineSafe(provider).create!({ name: "br_1" });
        expect(result).to.deep.equal({ id: "x", outs: { name: "br_1", nested: { kept: 1 } } });
        expect(Object.keys(result.outs)).to.not.include("gone");
    });

    it("returns one wrapper per provider, so Pulumi serializes each provider once per program run", function () {
        expect(engineSafe(provider)).to.equal(engineSafe(provider));
        expect(engineSafe({ ...provider })).to.not.equal(engineSafe(provider));
    });
});
