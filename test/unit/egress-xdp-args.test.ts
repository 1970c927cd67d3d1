import { expect } from "chai";
import * as path from "path";
import {
    ResolvedArgs, argProblems, egressXdpDefaults, forwardChainAcceptsAll, ipv6ForwardingMethod, ipv6ForwardingProblem, programMaps,
} from "../../components/egress-xdp-args";
import { projectRoot } from "../../lab/engine";

/** The problems of args as EgressXdp resolves them: defaults filled in, xdpProgram absolute. */
function problems(values: Record<string, unknown>): string[] {
    const args = { ...egressXdpDefaults, sendDev: "uplink0", hostNetns: "lab", ...values } as ResolvedArgs;
    return argProblems({ ...args, xdpProgram: path.resolve(projectRoot, args.xdpProgram) }).map((f) => f.property);
}

describe("EgressXdp arg checks (no host needed)", function () {
    it("finds the maps a C source declares with SEC(\".maps\")", function () {
        expect(programMaps(path.join(projectRoot, "bpf", "xdp_droplist.c"))).to.deep.equal(["drop_prefixes", "drop_prefixes6", "verdicts"]);
        expect(programMaps(path.join(projectRoot, "bpf", "xdp_stats.c"))).to.deep.equal(["stats"]);
    });

    it("defaults to the package's own statistics program, wherever the package is", function () {
        expect(egressXdpDefaults.xdpProgram).to.equal(path.join(projectRoot, "bpf", "xdp_stats.c"));
        expect(problems({})).to.deep.equal([]);
    });

    it("refuses dropPrefixes for a program without the drop-list map, naming dropPrefixes", function () {
        expect(problems({ dropPrefixes: ["198.19.1.0/24"] })).to.deep.equal(["dropPrefixes"]);
        expect(problems({ xdpProgram: "bpf/xdp_droplist.c", dropPrefixes: ["198.19.1.0/24"] })).to.deep.equal([]);
    });

    it("takes IPv6 prefixes in dropPrefixes when the program has the IPv6 map", function () {
        expect(problems({ xdpProgram: "bpf/xdp_droplist.c", dropPrefixes: ["198.19.1.0/24", "2001:db8:0:3::/64"] })).to.deep.equal([]);
        expect(problems({ dropPrefixes: ["2001:db8:0:3::/64"] })).to.deep.equal(["dropPrefixes"]);
        expect(problems({ xdpProgram: "bpf/xdp_droplist.c", dropPrefixes: ["2001:db8:0:3::1/64"] })).to.deep.equal(["dropPrefixes[0]"]);
    });

    it("checks the IPv6 address pair: both or neither, one subnet, different, each key named", function () {
        const six = { outerAddress6: "fd00:e0::1/64", innerAddress6: "fd00:e0::2/64" };
        expect(problems(six)).to.deep.equal([]);
        expect(problems({ outerAddress6: six.outerAddress6 })).to.deep.equal(["innerAddress6"]);
        expect(problems({ innerAddress6: six.innerAddress6 })).to.deep.equal(["outerAddress6"]);
        expect(problems({ ...six, innerAddress6: "fd00:e1::2/64" })).to.deep.equal(["innerAddress6"]);
        expect(problems({ ...six, innerAddress6: "fd00:e0::1/64" })).to.deep.equal(["innerAddress6"]);
        expect(problems({ ...six, outerAddress6: "10.0.0.1/24" })).to.deep.equal(["outerAddress6"]);
        expect(problems({ ...six, innerAddress6: "fe80::2/64" })).to.deep.equal(["innerAddress6"]);
    });

    it("accepts forwardAccept auto, always, never, true and false, and refuses anything else", function () {
        for (const choice of ["auto", "always", "never", true, false]) expect(problems({ forwardAccept: choice })).to.deep.equal([]);
        expect(problems({ forwardAccept: "yes" })).to.deep.equal(["forwardAccept"]);
    });

    it("accepts ipv6Forwarding auto, per-device and global; auto is per-device only where the kernel has force_forwarding", function () {
        for (const choice of ["auto", "per-device", "global"]) expect(problems({ ipv6Forwarding: choice })).to.deep.equal([]);
        expect(problems({ ipv6Forwarding: "all" })).to.deep.equal(["ipv6Forwarding"]);
        expect(egressXdpDefaults.ipv6Forwarding).to.equal("auto");
        expect(ipv6ForwardingMethod("auto", true)).to.equal("per-device");
        expect(ipv6ForwardingMethod("auto", false), "a 6.1 kernel (Debian 12)").to.equal("global");
        expect(ipv6ForwardingMethod("per-device", false), "refused at up, with what to do").to.equal("per-device");
        expect(ipv6ForwardingMethod("global", true)).to.equal("global");
        // per-device on such a kernel is refused at preview (hostProblems), saying what to use instead.
        expect(ipv6ForwardingProblem("per-device", false)).to.match(/force_forwarding \(Linux 6\.17\+\).*use global .* or auto/);
        for (const [choice, has] of [["per-device", true], ["auto", false], ["global", false]] as const) {
            expect(ipv6ForwardingProblem(choice, has), `${choice} ${has}`).to.equal(undefined);
        }
    });

    it("names every bad arg at once, and skips the ones not known yet (Outputs)", function () {
        expect(problems({ bridge: "a/b", innerAddress: "10.9.0.2/24", xdpMode: "turbo" }))
            .to.have.members(["bridge", "innerAddress", "xdpMode"]);
        const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
        expect(problems({ bridge: unknown, tap: unknown, innerAddress: unknown, xdpSection: unknown })).to.deep.equal([]);
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
