import { expect } from "chai";
import {
    Features, effectiveOffloads, ethtoolSetArgv, offloadsDrifted, parseEthtoolFeatures, planOffloads, planRestore,
    programViewOf,
} from "../../provider/offload";

// Trimmed from real `ethtool --json -k veth_1a` output (ethtool 6.1, kernel 6.18), GRO off.
const ethtoolJson = JSON.stringify([{
    ifname: "veth_1a",
    "tx-checksumming": { active: true, fixed: null, requested: null },
    "generic-receive-offload": { active: false, fixed: false, requested: false },
    "rx-gro-hw": { active: false, fixed: true, requested: false },
    "rx-gro-list": { active: false, fixed: false, requested: false },
}]);

const gro = (active: boolean, requested = active, fixed = false): Features =>
    ({ "generic-receive-offload": { active, requested, fixed } });

describe("offload helpers (pure)", function () {
    it("parses ethtool --json -k: settable features, group headings and fixed ones marked fixed", function () {
        const features = parseEthtoolFeatures(ethtoolJson);
        expect(features["generic-receive-offload"]).to.deep.equal({ active: false, requested: false, fixed: false });
        expect(features["rx-gro-hw"]).to.deep.equal({ active: false, requested: false, fixed: true });
        expect(features["tx-checksumming"]).to.deep.equal({ active: true, requested: false, fixed: true });
        expect(features).to.not.have.property("ifname");
        expect(effectiveOffloads(features)).to.deep.equal({ "generic-receive-offload": "off" });
        expect(effectiveOffloads(features, ["rx-gro-hw", "nonexistent"])).to.deep.equal({ "rx-gro-hw": "off [fixed]", nonexistent: "absent" });
    });

    it("plans GRO on where it is off and records what it found", function () {
        expect(planOffloads({ "generic-receive-offload": true }, gro(false), [])).to.deep.equal({
            settings: [["generic-receive-offload", true]],
            changes: [{ feature: "generic-receive-offload", found: false, set: true }],
        });
    });

    it("leaves a feature already as wanted alone and records nothing to restore", function () {
        expect(planOffloads({ "generic-receive-offload": true }, gro(true), [])).to.deep.equal({ settings: [], changes: [] });
    });

    it("keeps an earlier record (what was first found) when the feature drifted back", function () {
        const recorded = [{ feature: "generic-receive-offload", found: false, set: true }];
        expect(planOffloads({ "generic-receive-offload": true }, gro(false), recorded))
            .to.deep.equal({ settings: [["generic-receive-offload", true]], changes: recorded });
        expect(planOffloads({ "generic-receive-offload": true }, gro(true), recorded)).to.deep.equal({ settings: [], changes: recorded });
    });

    it("skips a fixed or absent feature", function () {
        expect(planOffloads({ "generic-receive-offload": true }, gro(false, false, true), [])).to.deep.equal({ settings: [], changes: [] });
        expect(planOffloads({ "generic-receive-offload": true }, {}, [])).to.deep.equal({ settings: [], changes: [] });
    });

    it("restores only what it changed, only where it is not back already", function () {
        const recorded = [{ feature: "generic-receive-offload", found: false, set: true }];
        expect(planRestore(recorded, gro(true))).to.deep.equal([["generic-receive-offload", false]]);
        expect(planRestore(recorded, gro(false))).to.deep.equal([]);
        expect(planRestore(recorded, {})).to.deep.equal([]);
        expect(planRestore([], gro(true))).to.deep.equal([]);
    });

    it("builds ethtool -K argv", function () {
        expect(ethtoolSetArgv("veth_1a", [["generic-receive-offload", true], ["rx-gro-list", false]]))
            .to.deep.equal(["ethtool", "-K", "veth_1a", "generic-receive-offload", "on", "rx-gro-list", "off"]);
    });

    it("sees drift in native mode only, never for a fixed or absent feature", function () {
        expect(offloadsDrifted("native", { "generic-receive-offload": "off" })).to.equal(true);
        expect(offloadsDrifted("native", { "generic-receive-offload": "on" })).to.equal(false);
        expect(offloadsDrifted("native", { "generic-receive-offload": "off [fixed]" })).to.equal(false);
        expect(offloadsDrifted("native", { "generic-receive-offload": "absent" })).to.equal(false);
        expect(offloadsDrifted("native", undefined), "state from before offloads were managed").to.equal(true);
        expect(offloadsDrifted("generic", { "generic-receive-offload": "off" })).to.equal(false);
    });

    it("names what the program sees per mode", function () {
        expect(programViewOf("native")).to.equal("wire frames");
        expect(programViewOf("generic")).to.equal("super-packets");
    });
});
