import { expect } from "chai";
import {
    checkIpForwarding, claimForwarding, deviceSysctl, forwardingKeys, previousForwarding, releaseForwarding,
} from "../../provider/ip-forwarding";

describe("IpForwarding ledger", function () {
    it("records the value found by the first holder and keeps it for later holders", function () {
        const first = claimForwarding(undefined, "a", "0", "1");
        expect(first).to.deep.equal({ ledger: { original: "0", holders: { a: "1" } } });
        const second = claimForwarding(first.ledger, "b", "1", "1");
        expect(second).to.deep.equal({ ledger: { original: "0", holders: { a: "1", b: "1" } } });
    });

    it("starts afresh from an empty ledger", function () {
        expect(claimForwarding({ original: "0", holders: {} }, "a", "1", "1").ledger)
            .to.deep.equal({ original: "1", holders: { a: "1" } });
    });

    it("refuses a holder that wants another value, and lets a sole holder change its mind", function () {
        const ledger = { original: "0" as const, holders: { a: "1" as const } };
        expect(claimForwarding(ledger, "b", "1", "0")).to.deep.equal({ ledger, conflict: "a" });
        expect(claimForwarding(ledger, "a", "1", "0").ledger).to.deep.equal({ original: "0", holders: { a: "0" } });
    });

    it("takes the previous value from the ledger when an interrupted create of the same holder set it", function () {
        const ledger = { original: "0" as const, holders: { a: "1" as const } };
        expect(previousForwarding(ledger, "a", "1"), "a's own leftover").to.equal("0");
        expect(previousForwarding(ledger, "b", "1"), "a later holder").to.equal("1");
        expect(previousForwarding(undefined, "a", "0")).to.equal("0");
    });

    it("restores the original only when the last holder leaves", function () {
        const ledger = { original: "0" as const, holders: { a: "1" as const, b: "1" as const } };
        const afterA = releaseForwarding(ledger, "a", "0");
        expect(afterA).to.deep.equal({ ledger: { original: "0", holders: { b: "1" } } });
        expect(releaseForwarding(afterA.ledger, "b", "1")).to.deep.equal({ restore: "0" });
    });

    it("leaves a ledger it is not part of alone, and restores its own previous without a ledger", function () {
        const ledger = { original: "0" as const, holders: { b: "1" as const } };
        expect(releaseForwarding(ledger, "a", "0")).to.deep.equal({ ledger });
        expect(releaseForwarding(undefined, "a", "1")).to.deep.equal({ restore: "1" });
    });

    it("check defaults enabled to true and ipv6 to false, sorts the devices, and refuses bad values", function () {
        expect(checkIpForwarding({ netns: "eXDP", interfaces: ["uplink0", "br_1", "br_1"] }).inputs)
            .to.deep.include({ netns: "eXDP", interfaces: ["br_1", "uplink0"], enabled: true, ipv6: false });
        expect(checkIpForwarding({ netns: "../x", interfaces: ["br;x"], enabled: "yes", ipv6: 1 }).failures.map((f) => f.property))
            .to.deep.equal(["netns", "interfaces[0]", "ipv6", "enabled"]);
        expect(checkIpForwarding({ interfaces: [] }).failures.map((f) => f.property)).to.deep.equal(["interfaces"]);
        expect(checkIpForwarding({}).failures.map((f) => f.property)).to.deep.equal(["interfaces"]);
    });

    it("sets per-device keys only: IPv4 forwarding and, with ipv6, IPv6 force_forwarding", function () {
        expect(forwardingKeys({ interfaces: ["br_1", "uplink0"] }))
            .to.deep.equal(["net.ipv4.conf.br_1.forwarding", "net.ipv4.conf.uplink0.forwarding"]);
        expect(forwardingKeys({ interfaces: ["br_1"], ipv6: true }))
            .to.deep.equal(["net.ipv4.conf.br_1.forwarding", "net.ipv6.conf.br_1.force_forwarding"]);
        expect(deviceSysctl("ipv4", "eth0.100", "forwarding"), "sysctl writes a device's '.' as '/'")
            .to.equal("net.ipv4.conf.eth0/100.forwarding");
    });
});
