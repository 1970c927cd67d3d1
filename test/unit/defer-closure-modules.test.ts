import { expect } from "chai";
import { execFileSync } from "child_process";
import * as path from "path";
import { projectRoot } from "../../lab/engine";

const deferModule = path.join(projectRoot, "dist", "provider", "defer-closure-modules.js");

/** Runs `script` in a fresh Node.js process in the project (so @pulumi/pulumi resolves); its stdout as JSON. */
function inFreshNode(script: string, preload: string[] = []): Record<string, unknown> {
    const stdout = execFileSync(process.execPath, [...preload.flatMap((p) => ["--require", p]), "-e", script],
        { cwd: projectRoot, encoding: "utf8" });
    return JSON.parse(stdout) as Record<string, unknown>;
}

const loadedNow = `const loaded = () => Object.keys(require.cache).filter((f) => /node_modules\\/(typescript|@npmcli\\/arborist)\\//.test(f)).length;`;

describe("deferring the closure-serialization modules (a fresh Node.js process each)", function () {
    this.timeout(60000);

    it("@pulumi/pulumi loads without typescript and arborist, and serializing a closure still works", () => {
        const result = inFreshNode(`${loadedNow}
            const pulumi = require("@pulumi/pulumi");
            const before = loaded();
            pulumi.runtime.serializeFunction(() => 6 * 7).then((f) => {
                console.log(JSON.stringify({ before, after: loaded(), text: f.text }));
            }, (e) => { console.log(JSON.stringify({ error: String(e) })); });`, [deferModule]);
        expect(result.error).to.equal(undefined);
        expect(result.before).to.equal(0);
        expect(result.after).to.be.greaterThan(0);
        expect(result.text).to.contain("6 * 7");
    });

    it("without it, @pulumi/pulumi loads both (what the deferral saves)", () => {
        const result = inFreshNode(`${loadedNow} require("@pulumi/pulumi"); console.log(JSON.stringify({ before: loaded() }));`);
        expect(result.before).to.be.greaterThan(0);
    });

    it("a module loaded before it is handed out as it is (ts-node loads typescript first)", () => {
        const result = inFreshNode(`${loadedNow} const real = require("typescript");
            require(${JSON.stringify(deferModule)});
            const same = require("typescript") === real;
            const before = loaded();
            require("@npmcli/arborist");
            console.log(JSON.stringify({ same, arboristDeferred: loaded() === before }));`);
        expect(result.same).to.equal(true);
        // ...while one not loaded yet is still deferred: the stand-in is in place.
        expect(result.arboristDeferred).to.equal(true);
    });
});
