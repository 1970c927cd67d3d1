import { expect } from "chai";
import {
    checkIpForwarding, claimForwarding, deviceSysctl, forwardingKeys, previousForwarding, releaseForwarding,
} from "../../provider/ip-forwarding";
import { parseSysctlValues, planGlobalSwitch, restoreOrder } from "../../provider/ipv6-global-forwarding";

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

    it("keeps what the global switch rewrote: recorded by the holder that writes it, earlier records win, given to the last one out", function () {
        const first = claimForwarding(undefined, "a", "0", "1", { "net.ipv6.conf.eth0.forwarding": "0", "net.ipv6.conf.eth0.accept_ra": "1" });
        expect(first.ledger).to.deep.equal({
            original: "0", holders: { a: "1" }, rewritten: { "net.ipv6.conf.eth0.forwarding": "0", "net.ipv6.conf.eth0.accept_ra": "1" },
        });
        // A re-write after a drift (the switch found off again) records nothing over what was there first.
        const again = claimForwarding(first.ledger, "b", "0", "1", { "net.ipv6.conf.eth0.forwarding": "1", "net.ipv6.conf.br_1.forwarding": "0" });
        expect(again.ledger.rewritten).to.deep.equal({
            "net.ipv6.conf.eth0.forwarding": "0", "net.ipv6.conf.eth0.accept_ra": "1", "net.ipv6.conf.br_1.forwarding": "0",
        });
        const afterA = releaseForwarding(again.ledger, "a", "0");
        expect(afterA.ledger?.rewritten, "kept while b holds the switch").to.deep.equal(again.ledger.rewritten);
        expect(releaseForwarding(afterA.ledger, "b", "1")).to.deep.equal({ restore: "0", rewritten: again.ledger.rewritten });
        expect(claimForwarding(undefined, "a", "1", "1").ledger, "nothing written, nothing recorded").to.deep.equal({ original: "1", holders: { a: "1" } });
    });

    it("plans the global switch: default's and every device's forwarding it overwrites, accept_ra=2 where it turns RAs off", function () {
        const values = parseSysctlValues([
            "net.ipv6.conf.all.forwarding = 0", "net.ipv6.conf.all.accept_ra = 1", "net.ipv6.conf.all.force_forwarding = 0",
            "net.ipv6.conf.default.forwarding = 0", "net.ipv6.conf.default.accept_ra = 1",
            "net.ipv6.conf.uplink0.forwarding = 0", "net.ipv6.conf.uplink0.accept_ra = 1", "net.ipv6.conf.uplink0.force_forwarding = 1",
            "net.ipv6.conf.eth0/100.forwarding = 0", "net.ipv6.conf.eth0/100.accept_ra = 2",
            "net.ipv6.conf.lo.forwarding = 0", "net.ipv6.conf.lo.accept_ra = 0",
            // A router already: it ignores RAs with accept_ra=1 and keeps doing so.
            "net.ipv6.conf.wan1.forwarding = 1", "net.ipv6.conf.wan1.accept_ra = 1", "",
        ].join("\n"));
        expect(planGlobalSwitch(values, "1", true)).to.deep.equal({
            rewritten: {
                "net.ipv6.conf.default.forwarding": "0", "net.ipv6.conf.default.accept_ra": "1",
                "net.ipv6.conf.eth0/100.forwarding": "0", "net.ipv6.conf.lo.forwarding": "0",
                "net.ipv6.conf.uplink0.forwarding": "0", "net.ipv6.conf.uplink0.accept_ra": "1",
                "net.ipv6.conf.wan1.forwarding": "1",
            },
            hybridRa: ["net.ipv6.conf.default.accept_ra", "net.ipv6.conf.uplink0.accept_ra"],
            forceForwarding: [],
        });
        // Turned off (a restore): no accept_ra, and the force_forwarding it clears (6.17+), `all` first.
        const on = { ...values, "net.ipv6.conf.all.forwarding": "1", "net.ipv6.conf.all.force_forwarding": "1",
            "net.ipv6.conf.uplink0.forwarding": "1", "net.ipv6.conf.lo.forwarding": "1" };
        expect(planGlobalSwitch(on, "0", false)).to.deep.equal({
            rewritten: {
                "net.ipv6.conf.default.forwarding": "0", "net.ipv6.conf.eth0/100.forwarding": "0", "net.ipv6.conf.lo.forwarding": "1",
                "net.ipv6.conf.uplink0.forwarding": "1", "net.ipv6.conf.wan1.forwarding": "1",
            },
            hybridRa: [], forceForwarding: ["net.ipv6.conf.all.force_forwarding", "net.ipv6.conf.uplink0.force_forwarding"],
        });
    });

    it("restores forwarding values before accept_ra, so a restored forwarding=1 purges no RA route", function () {
        expect(restoreOrder({ "net.ipv6.conf.eth0.accept_ra": "1", "net.ipv6.conf.eth0.forwarding": "0", "net.ipv6.conf.wan1.forwarding": "1" }))
            .to.deep.equal([["net.ipv6.conf.eth0.forwarding", "0"], ["net.ipv6.conf.wan1.forwarding", "1"], ["net.ipv6.conf.eth0.accept_ra", "1"]]);
    });

    it("check defaults enabled to true, ipv6 to false and ipv6Method to per-device, sorts the devices, and refuses bad values", function () {
        expect(checkIpForwarding({ netns: "eXDP", interfaces: ["uplink0", "br_1", "br_1"] }).inputs)
            .to.deep.include({ netns: "eXDP", interfaces: ["br_1", "uplink0"], enabled: true, ipv6: false, ipv6Method: "per-device" });
        expect(checkIpForwarding({ netns: "../x", interfaces: ["br;x"], enabled: "yes", ipv6: 1, ipv6Method: "all" }).failures.map((f) => f.property))
            .to.deep.equal(["netns", "interfaces[0]", "ipv6", "ipv6Method", "enabled"]);
        expect(checkIpForwarding({ interfaces: [] }).failures.map((f) => f.property)).to.deep.equal(["interfaces"]);
        expect(checkIpForwarding({}).failures.map((f) => f.property)).to.deep.equal(["interfaces"]);
    });

    it("sets IPv4 forwarding per device and, with ipv6, IPv6 force_forwarding per device or the global switch", function () {
        expect(forwardingKeys({ interfaces: ["br_1", "uplink0"] }))
            .to.deep.equal(["net.ipv4.conf.br_1.forwarding", "net.ipv4.conf.uplink0.forwarding"]);
        expect(forwardingKeys({ interfaces: ["br_1"], ipv6: true }))
            .to.deep.equal(["net.ipv4.conf.br_1.forwarding", "net.ipv6.conf.br_1.force_forwarding"]);
        expect(forwardingKeys({ interfaces: ["br_1", "uplink0"], ipv6: true, ipv6Method: "global" }), "the global switch once, not per device")
            .to.deep.equal(["net.ipv4.conf.br_1.forwarding", "net.ipv4.conf.uplink0.forwarding", "net.ipv6.conf.all.forwarding"]);
        expect(forwardingKeys({ interfaces: ["br_1"], ipv6Method: "global" }), "no IPv6, no switch").to.deep.equal(["net.ipv4.conf.br_1.forwarding"]);
        expect(deviceSysctl("ipv4", "eth0.100", "forwarding"), "sysctl writes a device's '.' as '/'")
            .to.equal("net.ipv4.conf.eth0/100.forwarding");
    });
});
