import { expect } from "chai";
import * as path from "path";
import { configProblems, forwardChainAcceptsAll, programMaps } from "../../components/config";
import { projectRoot } from "../helpers/engine";

describe("stack config checks (no host needed)", function () {
    const good = { sendDev: "uplink0", hostNetns: "lab" };

    it("finds the maps a C source declares with SEC(\".maps\")", function () {
        expect(programMaps(path.join(projectRoot, "bpf", "xdp_droplist.c"))).to.deep.equal(["drop_prefixes", "drop_prefixes6", "verdicts"]);
        expect(programMaps(path.join(projectRoot, "bpf", "xdp_stats.c"))).to.deep.equal(["stats"]);
    });

    it("refuses dropPrefixes for a program without the drop-list map, naming dropPrefixes", function () {
        expect(configProblems({ ...good, dropPrefixes: ["198.19.1.0/24"] }, projectRoot).map((f) => f.property))
            .to.deep.equal(["dropPrefixes"]);
        expect(configProblems({ ...good, xdpProgram: "bpf/xdp_droplist.c", dropPrefixes: ["198.19.1.0/24"] }, projectRoot))
            .to.deep.equal([]);
    });

    it("takes IPv6 prefixes in dropPrefixes when the program has the IPv6 map", function () {
        expect(configProblems({ ...good, xdpProgram: "bpf/xdp_droplist.c", dropPrefixes: ["198.19.1.0/24", "2001:db8:0:3::/64"] },
            projectRoot)).to.deep.equal([]);
        const reasons = configProblems({ ...good, dropPrefixes: ["2001:db8:0:3::/64"] }, projectRoot).map((f) => f.reason);
        expect(reasons).to.have.length(1);
        expect(reasons[0]).to.match(/xdp_stats\.c has no map drop_prefixes6 to hold IPv6 prefixes/);
        expect(configProblems({ ...good, xdpProgram: "bpf/xdp_droplist.c", dropPrefixes: ["2001:db8:0:3::1/64"] }, projectRoot))
            .to.deep.equal([{ property: "dropPrefixes[0]", reason: "2001:db8:0:3::1/64 has host bits set; did you mean 2001:db8:0:3::/64?" }]);
    });

    it("checks the IPv6 address pair: both or neither, one subnet, different, each key named", function () {
        const six = { outerAddress6: "fd00:e0::1/64", innerAddress6: "fd00:e0::2/64" };
        expect(configProblems({ ...good, ...six }, projectRoot)).to.deep.equal([]);
        const problems = (extra: Record<string, string>) => configProblems({ ...good, ...extra }, projectRoot);
        expect(problems({ outerAddress6: six.outerAddress6 })).to.deep.equal(
            [{ property: "innerAddress6", reason: "is required when outerAddress6 is set" }]);
        expect(problems({ innerAddress6: six.innerAddress6 })).to.deep.equal(
            [{ property: "outerAddress6", reason: "is required when innerAddress6 is set" }]);
        expect(problems({ ...six, innerAddress6: "fd00:e1::2/64" })).to.deep.equal(
            [{ property: "innerAddress6", reason: "fd00:e1::2/64 is not in the subnet of outerAddress6 fd00:e0::1/64" }]);
        expect(problems({ ...six, innerAddress6: "fd00:e0::1/64" })).to.deep.equal(
            [{ property: "innerAddress6", reason: "must differ from outerAddress6" }]);
        expect(problems({ ...six, outerAddress6: "10.0.0.1/24" }).map((f) => f.property)).to.deep.equal(["outerAddress6"]);
        expect(problems({ ...six, innerAddress6: "fe80::2/64" }).map((f) => f.property)).to.deep.equal(["innerAddress6"]);
    });

    it("accepts forwardAccept auto, always and never, and refuses anything else", function () {
        for (const choice of ["auto", "always", "never"]) expect(configProblems({ ...good, forwardAccept: choice }, projectRoot)).to.deep.equal([]);
        expect(configProblems({ ...good, forwardAccept: "yes" }, projectRoot).map((f) => f.property)).to.deep.equal(["forwardAccept"]);
    });

    it("needs no accept rules only in an empty FORWARD chain with policy ACCEPT", function () {
        expect(forwardChainAcceptsAll("-P FORWARD ACCEPT\n")).to.equal(true);
        expect(forwardChainAcceptsAll("-P FORWARD DROP\n")).to.equal(false);
        expect(forwardChainAcceptsAll("-P FORWARD ACCEPT\n-A FORWARD -j DOCKER-USER\n")).to.equal(false);
        expect(forwardChainAcceptsAll("-P FORWARD ACCEPT\n-A FORWARD -i br_1 -m comment --comment \"egress-xdp:p/s/fwd\" -j ACCEPT\n"))
            .to.equal(false);
        expect(forwardChainAcceptsAll(""), "nothing read: assume rules are needed").to.equal(false);
    });
});
