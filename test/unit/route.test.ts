import { expect } from "chai";
import {
    checkRoute, describeRoute, kernelDestination, metricProblem, routeDestinationProblem, routeMatches, routeNote, routeProvider,
} from "../../provider/route";

describe("Route rules", function () {
    it("accepts default or an IPv4 prefix as destination", function () {
        for (const good of ["default", "192.0.2.0/24", "0.0.0.0/0", "10.1.0.5/32"]) {
            expect(routeDestinationProblem(good), good).to.equal(undefined);
        }
        expect(routeDestinationProblem("10.0.0.1/24")).to.match(/host bits.*10\.0\.0\.0\/24/);
        expect(routeDestinationProblem("Default")).to.be.a("string");
        expect(routeDestinationProblem("default; reboot")).to.be.a("string");
    });

    it("accepts a 32-bit whole metric only", function () {
        for (const good of [0, 100, 4294967295]) expect(metricProblem(good), String(good)).to.equal(undefined);
        for (const bad of [-1, 1.5, 4294967296, "100"]) expect(metricProblem(bad), String(bad)).to.be.a("string");
    });

    it("names the destination as ip -json route prints it", function () {
        expect(kernelDestination("default")).to.equal("default");
        expect(kernelDestination("0.0.0.0/0")).to.equal("default");
        expect(kernelDestination("10.1.0.5/32")).to.equal("10.1.0.5");
        expect(kernelDestination("10.1.0.0/24")).to.equal("10.1.0.0/24");
    });

    it("matches destination and gateway, and the device only when one is wanted", function () {
        const kernel = { dst: "default", gateway: "10.0.0.1", dev: "veth_1b" };
        expect(routeMatches(kernel, { destination: "default", via: "10.0.0.1" })).to.equal(true);
        expect(routeMatches(kernel, { destination: "0.0.0.0/0", via: "10.0.0.1", dev: "veth_1b" })).to.equal(true);
        expect(routeMatches(kernel, { destination: "default", via: "10.0.0.1", dev: "eth0" })).to.equal(false);
        expect(routeMatches(kernel, { destination: "default", via: "10.0.0.9" })).to.equal(false);
        expect(routeMatches(kernel, { destination: "10.0.0.0/8", via: "10.0.0.1" })).to.equal(false);
        const direct = { dst: "default", dev: "veth_1b" };
        expect(routeMatches(direct, { destination: "default", via: "10.0.0.1" })).to.equal(false);
        expect(routeMatches({ dst: "10.1.0.5", gateway: "10.0.0.1" }, { destination: "10.1.0.5/32", via: "10.0.0.1" }))
            .to.equal(true);
    });

    it("describes a kernel route for error messages", function () {
        expect(describeRoute({ dst: "default", gateway: "10.0.0.1", dev: "veth_1b" }))
            .to.equal("default via 10.0.0.1 dev veth_1b");
        expect(describeRoute({ dst: "10.0.0.0/24", dev: "br_1" })).to.equal("10.0.0.0/24 dev br_1");
    });

    it("check names every bad property and skips unknown values", function () {
        const { failures } = checkRoute({ netns: "a/b", destination: "10.0.0.1/24", dev: "x".repeat(16), metric: -1 });
        expect(failures.map((f) => f.property)).to.deep.equal(["netns", "destination", "via", "dev", "metric"]);
        const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
        expect(checkRoute({ destination: unknown, via: unknown, dev: unknown }).failures).to.deep.equal([]);
    });

    it("checks what the route depends on: the device's ifindex and the on-link address", function () {
        expect(checkRoute({ destination: "default", via: "10.0.0.1", dev: "veth_1b", devIfindex: 7, onLinkAddress: "10.0.0.2/24" })
            .failures).to.deep.equal([]);
        const { failures } = checkRoute({ destination: "default", via: "10.0.0.1", devIfindex: 0, onLinkAddress: "10.0.0.0/24" });
        expect(failures.map((f) => f.property)).to.deep.equal(["devIfindex", "onLinkAddress"]);
        expect(checkRoute({ destination: "default", via: "fd00:e0::1", dev: "veth_1b", devIfindex: 7, onLinkAddress: "fd00:e0::2/64" })
            .failures, "an IPv6 route on its IPv6 address").to.deep.equal([]);
        expect(checkRoute({ destination: "default", via: "fd00:e0::1", onLinkAddress: "10.0.0.2/24" }).failures)
            .to.deep.equal([{ property: "onLinkAddress", reason: "10.0.0.2/24 and the gateway fd00:e0::1 are of different families" }]);
    });

    it("gives both families' default routes of a namespace notes of their own", function () {
        const v4 = routeNote({ destination: "default", via: "10.0.0.1" });
        const v6 = routeNote({ destination: "default", via: "fd00:e0::1" });
        expect(v6.name).to.equal(`${v4.name}.ipv6`);
    });

    it("re-adds the route in place when its device is re-created or its on-link address changes", async function () {
        const olds = {
            netns: "eXDP", destination: "default", via: "10.0.0.1", dev: "veth_1b", devIfindex: 7, onLinkAddress: "10.0.0.2/24",
            owner: "p/s/route",
        };
        const diff = (news: Record<string, unknown>) => routeProvider.diff!("id", olds, { ...olds, ...news });
        expect(await diff({})).to.deep.include({ changes: false });
        expect(await diff({ devIfindex: 9 })).to.deep.include({ changes: true, replaces: [] });
        expect(await diff({ onLinkAddress: "10.0.0.3/24" })).to.deep.include({ changes: true, replaces: [] });
        expect(await diff({ dev: "vi_n", devIfindex: 9 })).to.deep.include({ changes: true, replaces: [] });
        expect(await diff({ netns: "other" })).to.deep.include({ changes: true, replaces: ["netns"] });
    });
});
