import { expect } from "chai";
import {
    CheckFailure, checkProperty, formatIpv6, ifindexProblem, interfaceAddressProblem, interfaceCidr6Problem, interfaceCidrProblem,
    interfaceNameProblem, ipAddressProblem, mtuProblem, netnsNameProblem, networkCidrProblem, networkPrefixProblem, parseIpCidr,
    parseIpv4, parseIpv6, sameSubnet, subnetOf, unicastMacProblem, xdpModeProblem,
} from "../../provider/validate";
import { stableMac } from "../../components/egress-xdp";

describe("check rules", function () {
    it("accepts kernel interface names and refuses the rest with a reason", function () {
        for (const good of ["br_1", "veth_1a", "a", "eth0.100", "x-y_z", "123456789012345"]) {
            expect(interfaceNameProblem(good), good).to.equal(undefined);
        }
        expect(interfaceNameProblem("")).to.match(/1-15 characters/);
        expect(interfaceNameProblem("1234567890123456")).to.match(/got 16/);
        expect(interfaceNameProblem("br 1")).to.match(/may only hold/);
        expect(interfaceNameProblem("br;rm")).to.match(/may only hold/);
        expect(interfaceNameProblem("a/b")).to.match(/may only hold/);
        expect(interfaceNameProblem(".")).to.match(/not a valid/);
        expect(interfaceNameProblem("..")).to.match(/not a valid/);
        expect(interfaceNameProblem(7)).to.match(/string/);
    });

    it("accepts namespace names that are safe file names", function () {
        expect(netnsNameProblem("eXDP")).to.equal(undefined);
        expect(netnsNameProblem("ex-lab_1.a")).to.equal(undefined);
        for (const bad of ["", "../etc", "a/b", ".hidden", "-x", "a b", "$(x)", "x".repeat(65)]) {
            expect(netnsNameProblem(bad), bad).to.be.a("string");
        }
    });

    it("parses IPv4 strictly", function () {
        expect(parseIpv4("10.0.0.1")).to.equal(167772161);
        expect(parseIpv4("255.255.255.255")).to.equal(2 ** 32 - 1);
        for (const bad of ["10.0.0", "10.0.0.256", "010.0.0.1", "10.0.0.1.2", "a.b.c.d", ""]) {
            expect(parseIpv4(bad), bad).to.equal(undefined);
        }
    });

    it("parses IPv6 strictly: groups, one '::', an IPv4 tail, nothing else", function () {
        expect(parseIpv6("::")).to.equal(0n);
        expect(parseIpv6("::1")).to.equal(1n);
        expect(parseIpv6("2001:db8::1")).to.equal(0x20010db8000000000000000000000001n);
        expect(parseIpv6("2001:DB8:0:0:0:0:0:1")).to.equal(0x20010db8000000000000000000000001n);
        expect(parseIpv6("::ffff:192.0.2.1")).to.equal(0xffffc0000201n);
        expect(parseIpv6("1:2:3:4:5:6:7:8")).to.equal(0x00010002000300040005000600070008n);
        for (const bad of ["", ":", ":::", "1::2::3", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1:2:3:4::5:6:7:8", "12345::",
            "g::1", "::1%eth0", "[::1]", "1.2.3.4::", "::1.2.3", "::01.2.3.4", ":1::", "1:", " ::1", "::1/64"]) {
            expect(parseIpv6(bad), JSON.stringify(bad)).to.equal(undefined);
        }
    });

    it("writes IPv6 as RFC 5952 does (and as the kernel prints it)", function () {
        for (const text of ["::", "::1", "2001:db8::1", "fd00:e0::1", "2001:db8:0:1:1:1:1:1", "2001:0:0:1::1", "1::", "fe80::a8bb:ccff:fedd:eeff"]) {
            expect(formatIpv6(parseIpv6(text)!), text).to.equal(text);
        }
        expect(formatIpv6(parseIpv6("2001:db8:0:0:1:0:0:1")!)).to.equal("2001:db8::1:0:0:1");
        expect(formatIpv6(parseIpv6("2001:0DB8::0001")!)).to.equal("2001:db8::1");
    });

    it("checks IPv6 interface and prefix CIDRs, naming what is wrong", function () {
        expect(interfaceCidr6Problem("fd00:e0::1/64")).to.equal(undefined);
        expect(interfaceCidr6Problem("2001:db8::1/127")).to.equal(undefined);
        expect(interfaceCidr6Problem("fd00:e0::/64")).to.match(/network address/);
        expect(interfaceCidr6Problem("fe80::1/64")).to.match(/link-local/);
        expect(interfaceCidr6Problem("ff02::1/64")).to.match(/multicast/);
        expect(interfaceCidr6Problem("fd00:e0::1/128")).to.match(/between \/8 and \/127/);
        expect(interfaceCidr6Problem("fd00:e0::1/129")).to.match(/not an IPv6 address with a prefix length/);
        expect(interfaceCidr6Problem("fd00:e0::1/064")).to.match(/not an IPv6 address/);
        expect(interfaceCidr6Problem("fd00:E0::1/64")).to.match(/write fd00:E0::1\/64 as fd00:e0::1\/64/);
        expect(interfaceCidr6Problem("fd00:e0:0:0::1/64")).to.match(/as fd00:e0::1\/64/);
        expect(interfaceCidr6Problem("10.0.0.1/24")).to.match(/not an IPv6 address/);
        expect(interfaceCidrProblem("fd00::1/64")).to.match(/not an IPv4 address/);
        expect(interfaceAddressProblem("fd00::1/64")).to.equal(undefined);
        expect(interfaceAddressProblem("10.0.0.1/24")).to.equal(undefined);
        expect(networkPrefixProblem("2001:db8::/32")).to.equal(undefined);
        expect(networkPrefixProblem("::/0")).to.equal(undefined);
        expect(networkPrefixProblem("2001:db8::1/32")).to.match(/host bits set; did you mean 2001:db8::\/32\?/);
        expect(networkPrefixProblem("2001:db8:0::/48")).to.match(/as 2001:db8::\/48/);
        expect(networkPrefixProblem("198.19.1.0/24")).to.equal(undefined);
        expect(networkCidrProblem("2001:db8::/32")).to.match(/not an IPv4 prefix/);
        expect(ipAddressProblem("fd00::1")).to.equal(undefined);
        expect(ipAddressProblem("FD00::1")).to.match(/as fd00::1/);
        expect(ipAddressProblem("fd00::1/64")).to.match(/not an IPv4 or IPv6 address/);
        expect(parseIpCidr("fd00::1/64")).to.deep.equal({ family: 6, value: 0xfd000000000000000000000000000001n, prefixLength: 64 });
        expect(subnetOf("fd00:e0::2/64")).to.equal("fd00:e0::/64");
        expect(subnetOf("10.0.0.2/24")).to.equal("10.0.0.0/24");
    });

    it("compares IPv6 subnets, and never across families", function () {
        expect(sameSubnet("fd00:e0::1/64", "fd00:e0::2/64")).to.equal(true);
        expect(sameSubnet("fd00:e0::1/64", "fd00:e1::2/64")).to.equal(false);
        expect(sameSubnet("fd00:e0::1/64", "fd00:e0::2/56")).to.equal(false);
        expect(sameSubnet("10.0.0.1/24", "::a00:2/24")).to.equal(false);
    });

    it("checks interface CIDRs: prefix range and host part", function () {
        expect(interfaceCidrProblem("10.0.0.1/24")).to.equal(undefined);
        expect(interfaceCidrProblem("10.0.0.0/24")).to.match(/network address/);
        expect(interfaceCidrProblem("10.0.0.255/24")).to.match(/broadcast/);
        expect(interfaceCidrProblem("10.0.0.1/31")).to.match(/between \/8 and \/30/);
        expect(interfaceCidrProblem("10.0.0.1/7")).to.match(/between/);
        expect(interfaceCidrProblem("10.0.0.1")).to.match(/prefix length/);
        expect(interfaceCidrProblem("10.0.0.1/33")).to.match(/prefix length/);
        expect(interfaceCidrProblem("300.0.0.1/24")).to.match(/not an IPv4/);
    });

    it("checks network prefixes and suggests the network when host bits are set", function () {
        expect(networkCidrProblem("192.0.2.0/24")).to.equal(undefined);
        expect(networkCidrProblem("0.0.0.0/0")).to.equal(undefined);
        expect(networkCidrProblem("192.0.2.7/24")).to.match(/did you mean 192\.0\.2\.0\/24/);
    });

    it("compares subnets", function () {
        expect(sameSubnet("10.0.0.1/24", "10.0.0.2/24")).to.equal(true);
        expect(sameSubnet("10.0.0.1/24", "10.0.1.2/24")).to.equal(false);
        expect(sameSubnet("10.0.0.1/24", "10.0.0.2/25")).to.equal(false);
    });

    it("checks MTU and XDP mode", function () {
        expect(mtuProblem(1500)).to.equal(undefined);
        expect(mtuProblem(67)).to.match(/outside/);
        expect(mtuProblem(1500.5)).to.match(/whole/);
        expect(xdpModeProblem("native")).to.equal(undefined);
        expect(xdpModeProblem("drv")).to.match(/native, generic, auto/);
    });

    it("names the property, skips unknown preview values, and reports missing required ones", function () {
        const failures: CheckFailure[] = [];
        const inputs = { name: "bad name", netns: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" };
        checkProperty(failures, inputs, "name", interfaceNameProblem, true);
        checkProperty(failures, inputs, "netns", netnsNameProblem);
        checkProperty(failures, inputs, "peerName", interfaceNameProblem, true);
        expect(failures.map((f) => f.property)).to.deep.equal(["name", "peerName"]);
        expect(failures[1].reason).to.equal("is required");
    });

    it("checks MAC addresses (unicast, as ip prints them) and interface indexes", function () {
        expect(unicastMacProblem("02:5a:00:12:34:56")).to.equal(undefined);
        for (const bad of ["02:5A:00:12:34:56", "02:5a:00:12:34", "01:00:5e:00:00:01", 2]) {
            expect(unicastMacProblem(bad), String(bad)).to.be.a("string");
        }
        expect(ifindexProblem(1)).to.equal(undefined);
        for (const bad of [0, -1, 1.5, "3"]) expect(ifindexProblem(bad), String(bad)).to.be.a("string");
    });

    it("derives a stable, locally administered unicast MAC from a seed", function () {
        const mac = stableMac("egress-xdp/dev/dev-bridge");
        expect(mac).to.equal(stableMac("egress-xdp/dev/dev-bridge"));
        expect(unicastMacProblem(mac)).to.equal(undefined);
        expect(parseInt(mac.slice(0, 2), 16) & 0x02, "locally administered").to.equal(2);
        expect(stableMac("egress-xdp/other/other-bridge")).to.not.equal(mac);
    });
});
