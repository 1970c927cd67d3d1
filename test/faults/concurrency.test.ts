// Issue 5, concurrency: two stacks with their own names, namespaces, bridges and subnets, brought up
// at the same time on one lab host, both pass traffic, and are destroyed at the same time; the lab
// is then exactly as before.
import { expect } from "chai";
import { useFigures } from "../helpers/figures";
import { useLabStacks } from "../helpers/lab";

describe("Concurrency: two stacks up and down at the same time on one host (faults)", function () {
    this.timeout(180000);
    const { lab, stack } = useLabStacks();
    const measured = useFigures("concurrency", "both succeeded");

    it("two stacks brought up and destroyed at once both succeed and both pass traffic", async function () {
        await measured("two stacks at once", async (notes) => {
            const both = await Promise.all([
                stack("ca", { bridge: "br_a", tap: "tap_a", vethOuter: "veth_aa", vethInner: "veth_ab" }),
                stack("cb", {
                    bridge: "br_b", tap: "tap_b", vethOuter: "veth_ba", vethInner: "veth_bb",
                    outerAddress: "10.1.0.1/24", innerAddress: "10.1.0.2/24",
                    xdpProgram: "bpf/xdp_droplist.c", dropPrefixes: ["198.19.1.0/24"],
                }),
            ]);
            const [a, b] = both;
            await Promise.all(both.map((s) => s.engine.pulumi(["up", "--yes", "--skip-preview"])));
            expect(await a.ping(lab().serverAddress), "a passes traffic").to.equal(true);
            expect(await b.ping(lab().serverAddress), "b passes traffic").to.equal(true);
            expect(await a.ping(lab().otherServerAddress), "a has no drop-list").to.equal(true);
            expect(await b.replies(lab().otherServerAddress), "b drops its list").to.equal(0);
            const outputs = await Promise.all(both.map((s) => s.outputs()));
            notes.programs = outputs.map((o) => o.xdpProgramId);
            await Promise.all(both.map((s) => s.engine.pulumi(["destroy", "--yes"])));
        });
    });
});
