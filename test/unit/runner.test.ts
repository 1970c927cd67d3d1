import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { CommandError } from "../../provider/runner";

describe("CommandError (pure)", function () {
    it("keeps its message once Pulumi has serialized it into a dynamic provider", async function () {
        const fail = () => {
            throw new CommandError("Bridge br_1", ["ip", "link", "add"], 2, "RTNETLINK answers: File exists", "");
        };
        // What the dynamic provider runs: the serialized text of the function and all it uses.
        const serialized = await pulumi.runtime.serializeFunction(fail);
        const module = { exports: {} as Record<string, () => void> };
        new Function("exports", "require", "module", serialized.text)(module.exports, require, module);
        expect(() => module.exports[serialized.exportName]())
            .to.throw("Bridge br_1: `ip link add` failed (exit 2): RTNETLINK answers: File exists");
    });
});
