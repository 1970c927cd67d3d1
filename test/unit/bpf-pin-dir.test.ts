import { expect } from "chai";
import { claimBpffs, releaseBpffs } from "../../provider/bpf-pin-dir";

describe("bpffs ledger", function () {
    const mountedByA = { mounted: true, dirs: ["/r", "/r/egress-xdp", "/r/egress-xdp/s/a"] };

    it("lists every holder, the mount whoever made it, and every directory made once", function () {
        const afterA = claimBpffs(undefined, "a", mountedByA);
        const afterB = claimBpffs(afterA, "b", { mounted: false, dirs: ["/r/egress-xdp/s/b"] });
        expect(afterB).to.deep.equal({ mounted: true, dirs: [...mountedByA.dirs, "/r/egress-xdp/s/b"], holders: ["a", "b"] });
        expect(claimBpffs(afterB, "b", { mounted: false, dirs: [] })).to.deep.equal(afterB);
    });

    it("cleans up only when the last holder goes, then everything the ledger lists", function () {
        const both = claimBpffs(claimBpffs(undefined, "a", mountedByA), "b", { mounted: false, dirs: ["/r/egress-xdp/s/b"] });
        const first = releaseBpffs(both, "a", mountedByA);
        expect(first).to.deep.equal({ ledger: { ...both, holders: ["b"] } });
        expect(releaseBpffs(first.ledger, "b", { mounted: false, dirs: [] }))
            .to.deep.equal({ cleanup: { mounted: true, dirs: both.dirs } });
    });

    it("without a ledger listing it, cleans up its own, unless others are listed", function () {
        const own = { mounted: true, dirs: ["/r"] };
        expect(releaseBpffs(undefined, "a", own)).to.deep.equal({ cleanup: own });
        const others = claimBpffs(undefined, "b", { mounted: false, dirs: [] });
        expect(releaseBpffs(others, "a", own)).to.deep.equal({ ledger: others });
    });
});
