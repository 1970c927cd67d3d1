import { expect } from "chai";
import * as path from "path";
import { configProblems, forwardChainAcceptsAll, programMaps } from "../../components/config";
import { projectRoot } from "../helpers/engine";

describe("stack config checks (no host needed)", function () {
    const good = { sendDev: "uplink0", hostNetns: "lab" };

    it("finds the maps a C source declares with SEC(\".maps\")", function () {
        expect(programMaps(path.join(projectRoot, "bpf", "xdp_droplist.c"))).to.deep.equal(["drop_prefixes", "verdicts"]);
        expect(programMaps(path.join(projectRoot, "bpf", "xdp_stats.c"))).to.deep.equal(["stats"]);
    });

    it("refuses dropPrefixes for a program without the drop-list map, naming dropPrefixes", function () {
        expect(configProblems({ ...good, dropPrefixes: ["198.19.1.0/24"] }, projectRoot).map((f) => f.property))
            .to.deep.equal(["dropPrefixes"]);
        expect(configProblems({ ...good, xdpProgram: "bpf/xdp_droplist.c", dropPrefixes: ["198.19.1.0/24"] }, projectRoot))
            .to.deep.equal([]);
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
