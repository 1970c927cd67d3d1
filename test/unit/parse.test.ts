import { expect } from "chai";
import { isLinkLocal6, parseLinks, parseRoutes } from "../../provider/parse";

// Trimmed from real `ip -json -details addr show` output on this kernel.
const bridgeAndPort = JSON.stringify([
    {
        ifindex: 2, ifname: "br0", flags: ["NO-CARRIER", "BROADCAST", "MULTICAST", "UP"], mtu: 1500,
        operstate: "DOWN", address: "f2:ec:80:f7:7a:e9", linkinfo: { info_kind: "bridge" },
        addr_info: [
            { family: "inet", local: "10.9.0.1", prefixlen: 24, scope: "global" },
            { family: "inet6", local: "fd00:e0::1", prefixlen: 64, scope: "global" },
            { family: "inet6", local: "fe80::1", prefixlen: 64, scope: "link" },
        ],
    },
    {
        ifindex: 4, link: "vb", ifname: "va", flags: ["NO-CARRIER", "BROADCAST", "MULTICAST", "UP", "M-DOWN"],
        mtu: 1500, master: "br0", operstate: "LOWERLAYERDOWN", address: "f2:ec:80:f7:7a:e9",
        ifalias: "egress-xdp:test", linkinfo: { info_kind: "veth", info_slave_kind: "bridge" }, addr_info: [],
    },
    {
        ifindex: 6, link_index: 2, ifname: "vc", flags: ["BROADCAST", "MULTICAST"], mtu: 1400,
        address: "7e:42:c2:4e:17:b0", link_netnsid: 1, linkinfo: { info_kind: "veth" },
        xdp: { mode: 2, prog: { id: 41, name: "xdp_stats", tag: "a04f5eef06a7f555", jited: 1 } },
    },
]);

describe("parsers of ip -json output", function () {
    it("reads links: kind, admin state, master, alias, addresses without IPv6 link-local ones", function () {
        const [bridge, port, veth] = parseLinks(bridgeAndPort);
        expect(bridge).to.deep.include({
            ifname: "br0", ifindex: 2, kind: "bridge", up: true, mtu: 1500, mac: "f2:ec:80:f7:7a:e9",
            addresses: ["10.9.0.1/24", "fd00:e0::1/64"], peerInOtherNetns: false, xdp: undefined,
        });
        expect(port).to.deep.include({ master: "br0", alias: "egress-xdp:test", up: true, addresses: [] });
        expect(veth).to.deep.include({ up: false, peerIfindex: 2, peerInOtherNetns: true, mtu: 1400 });
        expect(veth.xdp).to.deep.equal({ mode: "generic", progId: 41, tag: "a04f5eef06a7f555", name: "xdp_stats" });
    });

    it("tells IPv6 link-local addresses (fe80::/10) from the rest", function () {
        for (const local of ["fe80::1/64", "febf:ffff::1/64", "fe80::a8bb:ccff:fedd:eeff/64"]) expect(isLinkLocal6(local), local).to.equal(true);
        for (const other of ["fec0::1/64", "fd00::1/64", "2001:db8::1/64", "10.0.0.1/24", "fe7f::1/64"]) {
            expect(isLinkLocal6(other), other).to.equal(false);
        }
    });

    it("reads an empty answer as no links", function () {
        expect(parseLinks("")).to.deep.equal([]);
        expect(parseLinks("[]\n")).to.deep.equal([]);
    });

    it("reads routes", function () {
        const json = '[{"dst":"default","gateway":"10.0.0.1","dev":"veth_1b","flags":[]},' +
            '{"dst":"10.0.0.0/24","dev":"veth_1b","protocol":"kernel","scope":"link","prefsrc":"10.0.0.2"}]';
        expect(parseRoutes(json)).to.deep.equal([
            { dst: "default", gateway: "10.0.0.1", dev: "veth_1b" },
            { dst: "10.0.0.0/24", gateway: undefined, dev: "veth_1b" },
        ]);
    });
});
