import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { byReference } from "../../provider/dynamic";

// The provider byReference points at: this compiled test module exports it.
export const referencedProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: Record<string, unknown>) {
        return { id: "x", outs: { ...inputs, gone: undefined, nested: { kept: 1, gone: undefined } } };
    },
    async delete() {
        return;
    },
};

describe("byReference (pure)", function () {
    it("drops undefined values from results, deeply", async function () {
        const result = await byReference(referencedProvider, __filename, "referencedProvider").create!({ name: "br_1" });
        expect(result).to.deep.equal({ id: "x", outs: { name: "br_1", nested: { kept: 1 } } });
        expect(Object.keys(result.outs)).to.not.include("gone");
    });

    it("returns one reference per provider, so Pulumi serializes each provider once per program run", function () {
        const reference = byReference(referencedProvider, __filename, "referencedProvider");
        expect(byReference(referencedProvider, __filename, "referencedProvider")).to.equal(reference);
        expect(Object.keys(reference)).to.deep.equal(["create", "delete"]);
    });

    it("refuses a module or export that does not hold the provider", function () {
        expect(() => byReference({ ...referencedProvider }, __filename, "referencedProvider")).to.throw(/does not export/);
        expect(() => byReference(referencedProvider, __filename.replace(/\.js$/, ".ts"), "referencedProvider"))
            .to.throw(/compiled/);
    });

    it("serializes to a small module that loads the provider by path", async function () {
        const reference = byReference(referencedProvider, __filename, "referencedProvider");
        const serialized = await pulumi.runtime.serializeFunction(() => reference, { allowSecrets: true });
        expect(serialized.text.length).to.be.below(4000);
        expect(serialized.text).to.include(JSON.stringify(__filename).slice(1, -1));
        expect(serialized.text).to.not.include("nested: { kept: 1");
        // What the dynamic-provider process does with the state's text.
        const requireFromString = require("require-from-string") as (code: string) => Record<string, () => pulumi.dynamic.ResourceProvider>;
        const loaded = requireFromString(serialized.text)[serialized.exportName]();
        expect(await loaded.create!({ name: "tap_1" })).to.deep.equal({ id: "x", outs: { name: "tap_1", nested: { kept: 1 } } });
    });
});
