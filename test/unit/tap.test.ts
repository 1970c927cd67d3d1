import { expect } from "chai";
import { LinkState, linkKindOf, parseLinks } from "../../provider/parse";
import { checkTap } from "../../provider/tap";
import { unknownValue } from "../helpers/diff-classes";

// Trimmed from real `ip -json -details addr show` output: a tap, a tun and a bridge.
const tunDevices = JSON.stringify([
    { ifindex: 2, ifname: "t1", flags: ["NO-CARRIER", "BROADCAST", "MULTICAST", "UP"], mtu: 1500, address: "3e:88:ab:40:2e:b1",
        link_type: "ether", linkinfo: { info_kind: "tun", info_data: { type: "tap" } } },
    { ifindex: 3, ifname: "t2", flags: ["POINTOPOINT", "MULTICAST", "NOARP"], mtu: 1500, link_type: "none",
        linkinfo: { info_kind: "tun", info_data: { type: "tun" } } },
    { ifindex: 4, ifname: "br0", flags: ["BROADCAST"], mtu: 1500, address: "f2:ec:80:f7:7a:e9",
        linkinfo: { info_kind: "bridge" } },
]);

describe("Tap checks and kinds", function () {
    it("tells a tap from a tun device and passes other kinds through", function () {
        expect(parseLinks(tunDevices).map(linkKindOf)).to.deep.equal(["tap", "tun", "bridge"]);
        expect(linkKindOf({ kind: "" } as LinkState)).to.equal("");
    });

    it("defaults up to true and accepts a full set of inputs", function () {
        expect(checkTap({ name: "tap_1", owner: "o" }))
            .to.deep.equal({ inputs: { name: "tap_1", owner: "o", up: true }, failures: [] });
        const full = { name: "tap_1", netns: "lab", mtu: 1400, up: false, master: "br_1", adopt: true, owner: "o" };
        expect(checkTap(full)).to.deep.equal({ inputs: full, failures: [] });
    });

    it("names every bad property, and skips unknown values", function () {
        const { failures } = checkTap({ netns: "../x", mtu: 10, up: "yes", master: "br 1", adopt: 1 });
        expect(failures.map((f) => f.property)).to.deep.equal(["name", "netns", "mtu", "up", "adopt", "master"]);
        expect(checkTap({ name: unknownValue, master: unknownValue, mtu: unknownValue }).failures).to.deep.equal([]);
    });
});
