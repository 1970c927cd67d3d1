import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { providerModuleText } from "../../provider/dynamic";

// The provider the module text points at: this compiled test module exports it.
export const referencedProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: Record<string, unknown>) {
        return { id: "x", outs: { ...inputs, gone: undefined, nested: { kept: 1, gone: undefined } } };
    },
    async delete() {
        return;
    },
};

/** What Pulumi's dynamic-provider process does with a resource's `__provider`. */
function providerOf(text: string): pulumi.dynamic.ResourceProvider {
    const requireFromString = require("require-from-string") as (code: string) => { handler(): pulumi.dynamic.ResourceProvider };
    return requireFromString(text).handler();
}

describe("provider module text (pure)", function () {
    it("loads the provider by path, with undefined dropped from its results, deeply", async function () {
        const provider = providerOf(providerModuleText(__filename, "referencedProvider"));
        expect(Object.keys(provider)).to.deep.equal(["create", "delete"]);
        const result = await provider.create!({ name: "br_1" });
        expect(result).to.deep.equal({ id: "x", outs: { name: "br_1", nested: { kept: 1 } } });
        expect(Object.keys(result.outs)).to.not.include("gone");
    });

    it("is a few lines that hold the path, not the provider's code", function () {
        const text = providerModuleText(__filename, "referencedProvider");
        expect(text.length).to.be.below(1000);
        expect(text).to.include(JSON.stringify(__filename)).and.not.include("nested");
    });

    it("says what to do when the compiled code is not where the state says", function () {
        expect(() => providerOf(providerModuleText("/nonexistent/dist/provider/bridge.js", "bridgeProvider")))
            .to.throw(/cannot load this resource's provider from \/nonexistent\/dist\/provider\/bridge\.js[\s\S]*build it there/);
    });
});
