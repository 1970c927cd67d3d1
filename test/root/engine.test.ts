// The real engine (scripts/pulumi: CLI, language host, dynamic-provider shim, command plugin) runs a
// tiny program on a local backend, offline: preview, up, refresh, destroy.
import { expect } from "chai";
import * as path from "path";
import { readLink } from "../../provider/link";
import { Engine, newEngine, projectRoot } from "../../lab/engine";
import { useLab } from "../helpers/kernel-suite";

describe("Pulumi engine (root tier)", function () {
    const lab = useLab();
    let engine: Engine | undefined;
    afterEach(async function () {
        if (engine) {
            await engine.pulumi(["destroy", "--yes"], { allowFailure: true });
            engine.dispose();
            engine = undefined;
        }
    });

    it("previews, brings up, refreshes cleanly and destroys a dynamic resource and a local.Command", async function () {
        engine = await newEngine(path.join(projectRoot, "test", "fixtures", "engine-smoke"), `smoke-${lab().id}`);
        await engine.pulumi(["config", "set", "netns", lab().host]);
        const preview = await engine.pulumi(["preview", "--diff"]);
        expect(preview.stdout).to.match(/\+ 3 to create/);
        expect(await readLink({ resource: "t", netns: lab().host }, "br_smoke")).to.equal(undefined);

        await engine.pulumi(["up", "--yes", "--skip-preview"]);
        const bridge = await readLink({ resource: "t", netns: lab().host }, "br_smoke");
        expect(bridge?.addresses).to.deep.equal(["10.77.0.1/24"]);
        const outputs = JSON.parse((await engine.pulumi(["stack", "output", "--json"])).stdout);
        expect(outputs).to.deep.equal({ bridgeIfindex: bridge!.ifindex, echoed: "built" });

        await engine.pulumi(["refresh", "--yes", "--expect-no-changes"]);
        await engine.pulumi(["preview", "--expect-no-changes"]);

        await engine.pulumi(["destroy", "--yes"]);
        expect(await readLink({ resource: "t", netns: lab().host }, "br_smoke")).to.equal(undefined);
    });
});
