import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { packageMajor, providerModuleText, servedProvider } from "../../provider/dynamic";
import { projectRoot } from "../../lab/engine";

/** What Pulumi's dynamic-provider process does with a resource's `__provider`, in directory `cwd`. */
function providerOf(text: string, cwd = projectRoot): pulumi.dynamic.ResourceProvider {
    const requireFromString = require("require-from-string") as (code: string) => { handler(): pulumi.dynamic.ResourceProvider };
    const before = process.cwd();
    process.chdir(cwd);
    try {
        return requireFromString(text).handler();
    } finally {
        process.chdir(before);
    }
}

describe("provider module text and served providers (pure)", function () {
    const scratch: string[] = [];
    afterEach(() => scratch.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));
    /** A program directory whose node_modules holds a package egress-xdp of `version`. */
    function programDirWith(version: string | undefined): string {
        const dir = mkdtempSync(path.join(tmpdir(), "egress-xdp-unit-"));
        scratch.push(dir);
        if (version) {
            mkdirSync(path.join(dir, "node_modules", "egress-xdp"), { recursive: true });
            writeFileSync(path.join(dir, "node_modules", "egress-xdp", "package.json"), JSON.stringify({ name: "egress-xdp", version }));
        }
        return dir;
    }

    it("names the package and the resource type, no path, and loads the provider from the program's directory", function () {
        const text = providerModuleText("Bridge");
        expect(text).to.not.include(projectRoot).and.not.include("dist/");
        expect(text).to.include(`egress-xdp@${packageMajor}`).and.include('"Bridge"');
        // The repository's own directory finds the package by its own name (package.json exports).
        expect(Object.keys(providerOf(text))).to.include.members(["check", "diff", "create", "read", "update", "delete"]);
    });

    it("says which version wrote the state when the program has another major, or none", function () {
        expect(() => providerOf(providerModuleText("Bridge"), programDirWith("99.0.0")))
            .to.throw(`written by egress-xdp@${packageMajor}, but the program has egress-xdp 99.0.0`);
        expect(() => providerOf(providerModuleText("Bridge"), programDirWith(undefined)))
            .to.throw(new RegExp(`written by egress-xdp@${packageMajor}, which cannot be found from [\\s\\S]*installed there`));
    });

    it("drops undefined from results, and updates a resource whose provider text changed without touching it", async function () {
        let updates = 0;
        const served = servedProvider({
            async create(inputs: Record<string, unknown>) {
                return { id: "x", outs: { ...inputs, gone: undefined, nested: { kept: 1, gone: undefined } } };
            },
            async diff(_id: string, olds: Record<string, unknown>, news: Record<string, unknown>) {
                return { changes: olds.name !== news.name };
            },
            async update() {
                updates += 1;
                return { outs: {} };
            },
        });
        expect(await served.create!({ name: "br_1" })).to.deep.equal({ id: "x", outs: { name: "br_1", nested: { kept: 1 } } });
        const olds = { name: "br_1", ifindex: 7, __provider: "old text" };
        const news = { name: "br_1", __provider: "new text" };
        expect(await served.diff!("x", olds, news)).to.deep.equal({ changes: true });
        expect(await served.diff!("x", olds, { ...news, __provider: "old text" })).to.deep.equal({ changes: false });
        expect(await served.update!("x", olds, news)).to.deep.equal({ outs: { name: "br_1", ifindex: 7 } });
        expect(updates, "nothing else changed: the provider's update is not called").to.equal(0);
        await served.update!("x", olds, { ...news, name: "br_2" });
        expect(updates).to.equal(1);
    });
});
