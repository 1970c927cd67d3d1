// Issue 13, dual stack: the root program with IPv6 addresses, through the real engine, in a lab whose
// upstream answers on 2001:db8::/32 and advertises itself as the uplink's IPv6 default router (radvd).
import { expect } from "chai";
import { plannedOps, expectPlan } from "../helpers/converge";
import { defaultRouteFromRa, inNs } from "../helpers/lab";
import { eventually } from "../helpers/kernel-suite";
import { forwardingSysctls, iptablesTableSave, routesOf } from "../helpers/snapshot";
import { useLabStacks } from "../helpers/lab";
import { tcpExchange } from "../helpers/traffic";

describe("EgressXdp dual stack (engine, root tier, IPv6 lab)", function () {
    this.timeout(300000);
    const { lab, stack } = useLabStacks({ ipv6: true });
    const ipv6Config = { outerAddress6: "fd00:e0::1/64", innerAddress6: "fd00:e0::2/64" };
    const v6 = () => lab().ipv6!;
    const sysctl = async (key: string) => (await inNs(lab().host, ["sysctl", "-n", key])).stdout;
    /** What destroy must leave exactly as it found: ip6tables, the forwarding sysctls of every device, the IPv6 routes. */
    const ipv6State = async () => ({
        nat6: await iptablesTableSave(lab().host, "nat", 6), filter6: await iptablesTableSave(lab().host, "filter", 6),
        sysctls: await forwardingSysctls(lab().host), routes6: await routesOf(lab().host, 6),
    });

    it("ICMPv6 and TCP leave NAT66ed from the uplink's address, counted per protocol; the RA route stays; destroy restores", async function () {
        const before = await ipv6State();
        expect(before.routes6, "the lab's uplink learnt its default route from RAs").to.match(/"dst":"default".*"protocol":"ra"/);
        const s = await stack("six", ipv6Config);
        await s.engine.pulumi(["up", "--yes"]);
        expect(await s.outputs()).to.include(ipv6Config);

        // Forwarding per device only: the global switches, which would make the host ignore RAs, stay off.
        expect(await sysctl("net.ipv6.conf.all.forwarding")).to.equal("0");
        expect(await sysctl("net.ipv4.ip_forward")).to.equal("0");
        for (const dev of ["br_1", "uplink0"]) {
            expect(await sysctl(`net.ipv6.conf.${dev}.force_forwarding`), dev).to.equal("1");
            expect(await sysctl(`net.ipv4.conf.${dev}.forwarding`), dev).to.equal("1");
        }

        expect(await s.ping(v6().serverAddress, 10), "ICMPv6 to the upstream").to.equal(true);
        expect(await s.ping(lab().serverAddress, 3), "IPv4 beside it").to.equal(true);
        const exchange = await tcpExchange(lab().upstream, v6().serverAddress, s.namespace, "hello over ipv6");
        expect(exchange.received).to.equal("hello over ipv6");
        expect(exchange.peerAddress, "the server sees the uplink's IPv6 address (NAT66)").to.equal(v6().uplinkAddress);
        const counters = await s.counters();
        expect(counters.stats!.icmp6.packets, "echo requests, with neighbour discovery").to.be.at.least(10);
        expect(counters.stats!.tcp6.packets).to.be.at.least(3);

        // The uplink still takes router advertisements while the stack is up: a removed RA route comes back.
        await inNs(lab().host, ["ip", "-6", "route", "del", "default", "proto", "ra"]);
        expect(await eventually(() => defaultRouteFromRa(lab().host), 15000), "RA route learnt again while up").to.equal(true);

        await s.engine.pulumi(["preview", "--expect-no-changes"]);
        await s.engine.pulumi(["refresh", "--yes", "--expect-no-changes"]);
        await s.engine.pulumi(["destroy", "--yes"]);
        expect(await ipv6State(), "ip6tables, forwarding sysctls and IPv6 routes after destroy").to.deep.equal(before);
    });

    it("ipv6Forwarding global (kernels without force_forwarding): traffic flows, the RA route stays up and after destroy, a change of method converges in place", async function () {
        const fresh = await ipv6State();
        // lo made an IPv6 router by hand before the stack: that write purges RA routes (accept_ra 1), so the
        // uplink's is waited for again. egress-xdp's switch rewrites lo's forwarding; destroy must put it back.
        await inNs(lab().host, ["sysctl", "-q", "-w", "net.ipv6.conf.lo.forwarding=1"]);
        expect(await eventually(() => defaultRouteFromRa(lab().host), 15000)).to.equal(true);
        const before = await ipv6State();
        const s = await stack("glob", { ...ipv6Config, ipv6Forwarding: "global" });
        await s.engine.pulumi(["up", "--yes"]);

        expect(await sysctl("net.ipv6.conf.all.forwarding")).to.equal("1");
        expect(await sysctl("net.ipv6.conf.uplink0.accept_ra"), "the uplink takes RAs although it forwards").to.equal("2");
        for (const dev of ["br_1", "uplink0"]) expect(await sysctl(`net.ipv6.conf.${dev}.force_forwarding`), dev).to.equal("0");
        expect(await defaultRouteFromRa(lab().host), "the uplink's RA default route survived the switch").to.equal(true);
        expect(await s.ping(v6().serverAddress, 5), "ICMPv6 to the upstream").to.equal(true);
        const exchange = await tcpExchange(lab().upstream, v6().serverAddress, s.namespace, "hello by the global switch");
        expect(exchange.received).to.equal("hello by the global switch");
        expect(exchange.peerAddress, "NAT66").to.equal(v6().uplinkAddress);
        await inNs(lab().host, ["ip", "-6", "route", "del", "default", "proto", "ra"]);
        expect(await eventually(() => defaultRouteFromRa(lab().host), 15000), "RA route learnt again while up").to.equal(true);
        await s.engine.pulumi(["preview", "--expect-no-changes"]);
        await s.engine.pulumi(["refresh", "--yes", "--expect-no-changes"]);

        // global -> per-device: IpForwarding updated in place; the switch and accept_ra go back, force_forwarding on.
        s.edit({ ...s.config, ipv6Forwarding: "per-device" });
        expectPlan(await plannedOps(s), { "ip-forward": "update" }, "ipv6Forwarding global -> per-device");
        await s.engine.pulumi(["up", "--yes", "--skip-preview"]);
        expect(await sysctl("net.ipv6.conf.all.forwarding")).to.equal("0");
        expect(await sysctl("net.ipv6.conf.uplink0.accept_ra")).to.equal("1");
        expect(await sysctl("net.ipv6.conf.lo.forwarding"), "the hand-made router again").to.equal("1");
        for (const dev of ["br_1", "uplink0"]) expect(await sysctl(`net.ipv6.conf.${dev}.force_forwarding`), dev).to.equal("1");
        expect(await s.ping(v6().serverAddress, 3), "ICMPv6 per device, at once after up").to.equal(true);
        await s.engine.pulumi(["preview", "--expect-no-changes"]);

        // And back, then destroy: the sysctls and IPv6 routes exactly as before the stack.
        s.edit({ ...s.config, ipv6Forwarding: "global" });
        await s.engine.pulumi(["up", "--yes"]);
        expect(await s.ping(v6().serverAddress, 3), "ICMPv6 by the switch again").to.equal(true);
        await s.engine.pulumi(["destroy", "--yes"]);
        expect(await defaultRouteFromRa(lab().host), "the RA route survived destroy").to.equal(true);
        expect(await ipv6State(), "ip6tables, forwarding and accept_ra sysctls (all, default, per device), IPv6 routes").to.deep.equal(before);
        await inNs(lab().host, ["sysctl", "-q", "-w", "net.ipv6.conf.lo.forwarding=0"]);
        expect(await ipv6State(), "the fresh lab").to.deep.equal(fresh);
    });

    it("drops an IPv6 prefix and counts it, beside an IPv4 prefix; forwardAccept always adds ip6tables rules too", async function () {
        const s = await stack("drop6", {
            ...ipv6Config, xdpProgram: "bpf/xdp_droplist.c", dropPrefixes: ["198.19.1.0/24", "2001:db8:0:3::/64"],
            forwardAccept: "always",
        });
        await s.engine.pulumi(["up", "--yes"]);
        for (const command of ["iptables", "ip6tables"]) {
            const rules = (await inNs(lab().host, [command, "-w", "-S", "FORWARD"])).stdout.split("\n").filter((l) => l.startsWith("-A "));
            expect(rules.filter((rule) => rule.includes("br_1") && rule.includes("egress-xdp:")), command).to.have.length(2);
        }
        expect(await s.ping(v6().otherServerAddress, 5), "dropped by XDP").to.equal(false);
        expect(await s.ping(v6().serverAddress, 5)).to.equal(true);
        expect(await s.ping(lab().otherServerAddress, 3), "the IPv4 prefix too").to.equal(false);
        const counters = await s.counters();
        expect(counters.dropsByPrefix!["2001:db8:0:3::/64"]).to.be.at.least(5);
        expect(counters.dropsByPrefix!["198.19.1.0/24"]).to.be.at.least(3);
        expect(counters.verdicts!.passed).to.be.at.least(5);
        await s.engine.pulumi(["preview", "--expect-no-changes"]);
        await s.engine.pulumi(["refresh", "--yes", "--expect-no-changes"]);
    });
});
