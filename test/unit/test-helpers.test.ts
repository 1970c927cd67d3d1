import { expect } from "chai";
import { gapsIn, parseLinkEvent } from "../helpers/link-events";
import { snapshotDifferences } from "../helpers/snapshot";

// Trimmed from real `ip -o -d monitor link` output on this kernel: a program attached, then detached.
const attached = "3: a0@a1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 xdpgeneric/id:1044 qdisc noqueue state UP " +
    "group default \\    link/ether be:ff:5a:18:f0:b6 brd ff:ff:ff:ff:ff:ff \\    prog/xdp id 1044 name xdp_droplist tag 1924b6803e53f1e8";
const detached = "3: a0@a1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default " +
    "\\    link/ether be:ff:5a:18:f0:b6 brd ff:ff:ff:ff:ff:ff";

describe("test helpers (unit)", function () {
    it("reads link events: the program after each change, a detach as a gap, a deleted link", function () {
        expect(parseLinkEvent(attached)).to.deep.equal({ ifname: "a0", deleted: false, progId: 1044 });
        expect(parseLinkEvent(detached)).to.deep.equal({ ifname: "a0", deleted: false, progId: undefined });
        expect(parseLinkEvent(`Deleted ${attached}`)).to.include({ ifname: "a0", deleted: true });
        expect(parseLinkEvent("    link/ether be:ff:5a:18:f0:b6")).to.equal(undefined);
        // A bridge port's AF_BRIDGE message, as seen on veth_1a during an update: not a link state.
        expect(parseLinkEvent("5: veth_1a@uplink0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 master br_1 state UP " +
            "\\    link/ether 16:3b:6c:20:d4:45")).to.equal(undefined);
        const events = [attached, detached].map((line) => parseLinkEvent(line)!);
        expect(gapsIn(events)).to.deep.equal([events[1]]);
    });

    it("lists what differs between two snapshots, line by line", function () {
        const before = { lab: "a\nb", gone: "x" };
        expect(snapshotDifferences(before, { ...before })).to.deep.equal([]);
        expect(snapshotDifferences(before, { lab: "a\nc", new: "y" }))
            .to.deep.equal(["- lab: b", "+ lab: c", "- gone (gone)", "+ new (appeared)"]);
        expect(snapshotDifferences({ lab: "a\nb" }, { lab: "b\na" })).to.deep.equal(["~ lab: the same lines in another order or number"]);
    });
});
