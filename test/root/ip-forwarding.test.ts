import { expect } from "chai";
import * as fs from "fs";
import {
    ForwardingLedgers, IpForwardingOutputs, checkIpForwarding, forwardingLedgerPath, ipForwardingProvider,
} from "../../provider/ip-forwarding";
import { run } from "../../provider/runner";
import { expectDiffClasses } from "../helpers/diff-classes";
import { eventually, failureOf, useLab } from "../helpers/kernel-suite";
import { defaultRouteFromRa, inNs } from "../helpers/lab";
import { forwardingSysctls } from "../helpers/snapshot";

describe("IpForwarding (kernel)", function () {
    const bridge = "fwbr0";
    // A bridge of the test's own, made after the lab's snapshot and removed before the comparison
    // (registered before useLab's hooks, so it runs first).
    afterEach(async function () {
        await inNs(lab().host, ["ip", "link", "del", "dev", bridge], { allowFailure: true });
    });
    // An IPv6 lab, so IPv6 force_forwarding is exercised where IPv6 is on.
    const lab = useLab({ ipv6: true });
    const v4 = (dev: string) => `net.ipv4.conf.${dev}.forwarding`;
    const v6 = (dev: string) => `net.ipv6.conf.${dev}.force_forwarding`;
    const inputsFor = (extra: Record<string, unknown> = {}) => {
        const { inputs, failures } = checkIpForwarding({
            netns: lab().host, interfaces: [bridge, "uplink0"], owner: "test/fwd-a", ...extra,
        });
        expect(failures).to.deep.equal([]);
        return inputs;
    };
    const value = async (key: string, netns = lab().host) => (await inNs(netns, ["sysctl", "-n", key])).stdout;
    const set = (key: string, to: string) => inNs(lab().host, ["sysctl", "-q", "-w", `${key}=${to}`]);
    const ledgers = (): ForwardingLedgers | undefined => {
        const file = forwardingLedgerPath(lab().host);
        return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : undefined;
    };
    /** The global switches, which this resource must never write. */
    const globals = async () => [await value("net.ipv4.ip_forward"), await value("net.ipv6.conf.all.forwarding"),
        await value("net.ipv4.conf.default.forwarding"), await value("net.ipv6.conf.default.forwarding")];
    beforeEach(async function () {
        await inNs(lab().host, ["ip", "link", "add", "name", bridge, "type", "bridge"]);
    });

    it("turns forwarding on per device only, reads back identical outputs, updates in place, restores on delete", async function () {
        const created = await ipForwardingProvider.create!(inputsFor({ ipv6: true }));
        const outs = created.outs as IpForwardingOutputs;
        const keys = [v4(bridge), v6(bridge), v4("uplink0"), v6("uplink0")];
        const all = (to: string) => Object.fromEntries(keys.map((key) => [key, to]));
        expect(outs).to.deep.equal({ ...inputsFor({ ipv6: true }), previous: all("0"), current: all("1") });
        for (const key of keys) expect(await value(key), key).to.equal("1");
        expect(await globals(), "global switches untouched").to.deep.equal(["0", "0", "0", "0"]);
        expect(Object.keys(ledgers()!).sort()).to.deep.equal([...keys].sort());
        expect(await ipForwardingProvider.read!(created.id, outs)).to.deep.equal({ id: created.id, props: outs });

        await expectDiffClasses(ipForwardingProvider, created.id, outs, (extra) => inputsFor({ ipv6: true, ...extra }),
            { inPlace: { enabled: false, ipv6: false, ipv6Method: "global", interfaces: [bridge] }, replace: { netns: lab().upstream } },
            { deleteBeforeReplace: false });

        // One key turned off behind our back reads as drift, so the next up sets it again.
        await set(v6("uplink0"), "0");
        expect((await ipForwardingProvider.read!(created.id, outs)).props).to.include({ enabled: false });
        await set(v6("uplink0"), "1");

        // Dropping IPv6 and the uplink in an update restores exactly those keys.
        const fewer = inputsFor({ interfaces: [bridge] });
        const updated = (await ipForwardingProvider.update!(created.id, outs, fewer)).outs as IpForwardingOutputs;
        expect(updated).to.deep.include({ previous: { [v4(bridge)]: "0" }, current: { [v4(bridge)]: "1" } });
        for (const key of [v6(bridge), v4("uplink0"), v6("uplink0")]) expect(await value(key), key).to.equal("0");

        await ipForwardingProvider.delete!(created.id, updated);
        for (const key of keys) expect(await value(key), key).to.equal("0");
        expect(ledgers()).to.equal(undefined);
        await ipForwardingProvider.delete!(created.id, updated);
        expect(await globals()).to.deep.equal(["0", "0", "0", "0"]);
    });

    describe("IPv6 by the global switch (ipv6Method global, for kernels without force_forwarding)", function () {
        const fwd6 = (dev: string) => `net.ipv6.conf.${dev}.forwarding`;
        const acceptRa = (dev: string) => `net.ipv6.conf.${dev}.accept_ra`;
        const hasRaRoute = () => defaultRouteFromRa(lab().host);
        /**
         * The bridge made a router by hand before egress-xdp (IPv6 forwarding=1). That write purges the
         * RA-learnt default routes of devices without accept_ra=2 (rt6_purge_dflt_routers), so the
         * uplink's is waited for again: the lab as a host with one router device and a SLAAC uplink.
         */
        async function bridgeWasARouter(): Promise<void> {
            await set(fwd6(bridge), "1");
            expect(await eventually(hasRaRoute, 15000), "the uplink learnt its RA route again").to.equal(true);
        }

        it("turns all.forwarding on with accept_ra=2 where RAs were accepted: the RA route stays; delete restores every IPv6 conf exactly", async function () {
            await bridgeWasARouter();
            const before = await forwardingSysctls(lab().host);
            const created = await ipForwardingProvider.create!(inputsFor({ ipv6: true, ipv6Method: "global" }));
            const outs = created.outs as IpForwardingOutputs;
            const keys = [v4(bridge), v4("uplink0"), "net.ipv6.conf.all.forwarding"];
            expect(outs).to.deep.include({
                previous: Object.fromEntries(keys.map((key) => [key, "0"])), current: Object.fromEntries(keys.map((key) => [key, "1"])),
            });
            expect(await hasRaRoute(), "the uplink's RA default route survived the switch").to.equal(true);
            // The switch rewrote default's and every device's forwarding; RAs stay on where they were accepted.
            for (const conf of ["default", "lo", "uplink0", bridge]) expect(await value(fwd6(conf)), conf).to.equal("1");
            for (const conf of ["default", "lo", "uplink0"]) expect(await value(acceptRa(conf)), conf).to.equal("2");
            expect(await value(acceptRa(bridge)), "a router already, which ignored RAs: left so").to.equal("1");
            expect(await value(v6(bridge)), "no force_forwarding").to.equal("0");
            expect(ledgers()!["net.ipv6.conf.all.forwarding"]).to.deep.equal({
                original: "0", holders: { "test/fwd-a": "1" },
                rewritten: {
                    [fwd6("default")]: "0", [acceptRa("default")]: "1", [fwd6("lo")]: "0", [acceptRa("lo")]: "1",
                    [fwd6("uplink0")]: "0", [acceptRa("uplink0")]: "1", [fwd6(bridge)]: "1",
                },
            });
            expect(await ipForwardingProvider.read!(created.id, outs)).to.deep.equal({ id: created.id, props: outs });

            // The uplink still takes router advertisements: a removed RA route comes back.
            await inNs(lab().host, ["ip", "-6", "route", "del", "default", "proto", "ra"]);
            expect(await eventually(hasRaRoute, 15000), "RA route learnt again while forwarding").to.equal(true);

            // accept_ra reset by hand (the uplink, a router now, would ignore RAs): read reports it, update sets it again.
            await set(acceptRa("uplink0"), "1");
            const drifted = await ipForwardingProvider.read!(created.id, outs);
            expect(drifted.props, "a reset accept_ra shows as drift").to.deep.include({ enabled: false });
            await ipForwardingProvider.update!(created.id, drifted.props as IpForwardingOutputs, inputsFor({ ipv6: true, ipv6Method: "global" }));
            expect(await value(acceptRa("uplink0")), "set to 2 again").to.equal("2");
            expect(await ipForwardingProvider.read!(created.id, outs), "in sync again").to.deep.equal({ id: created.id, props: outs });
            expect(ledgers()!["net.ipv6.conf.all.forwarding"].rewritten![acceptRa("uplink0")], "the original kept").to.equal("1");

            await ipForwardingProvider.delete!(created.id, outs);
            // Restoring the bridge's forwarding=1 purges RA routes where accept_ra is not 2: accept_ra goes back last.
            expect(await hasRaRoute(), "the RA route survived the restore").to.equal(true);
            expect(await forwardingSysctls(lab().host), "every IPv6 and IPv4 forwarding conf as before").to.deep.equal(before);
            expect(await value(fwd6(bridge)), "the hand-made router stays one").to.equal("1");
            expect(ledgers()).to.equal(undefined);
        });

        it("is held by two stacks and turned off by the last; force_forwarding of a per-device holder survives it", async function () {
            const before = await forwardingSysctls(lab().host);
            const first = await ipForwardingProvider.create!(inputsFor({ ipv6: true, ipv6Method: "global" }));
            const second = await ipForwardingProvider.create!(inputsFor({ owner: "test/fwd-b", interfaces: ["uplink0"], ipv6: true, ipv6Method: "global" }));
            expect((second.outs as IpForwardingOutputs).previous, "joined a switch that was on").to.deep.include({ "net.ipv6.conf.all.forwarding": "1" });
            const perDevice = await ipForwardingProvider.create!(inputsFor({ owner: "test/fwd-c", interfaces: [bridge], ipv6: true }));
            expect(await value(v6(bridge))).to.equal("1");

            await ipForwardingProvider.delete!(first.id, first.outs);
            expect(await value("net.ipv6.conf.all.forwarding"), "still held by the second").to.equal("1");
            expect(await value(acceptRa("uplink0"))).to.equal("2");
            expect(await hasRaRoute()).to.equal(true);

            await ipForwardingProvider.delete!(second.id, second.outs);
            expect(await value("net.ipv6.conf.all.forwarding")).to.equal("0");
            expect(await value(acceptRa("uplink0"))).to.equal("1");
            // Writing all.forwarding=0 clears every force_forwarding (6.17+); the per-device holder's is set again.
            expect(await value(v6(bridge)), "the per-device holder still forwards").to.equal("1");
            expect(await hasRaRoute()).to.equal(true);

            await ipForwardingProvider.delete!(perDevice.id, perDevice.outs);
            expect(await forwardingSysctls(lab().host)).to.deep.equal(before);
            expect(ledgers()).to.equal(undefined);
        });

        it("changes method in place, each update restoring what the old method changed", async function () {
            const before = await forwardingSysctls(lab().host);
            const created = await ipForwardingProvider.create!(inputsFor({ ipv6: true }));
            const global = inputsFor({ ipv6: true, ipv6Method: "global" });
            expect(await ipForwardingProvider.diff!(created.id, created.outs, global)).to.deep.include({ changes: true, replaces: [] });
            const toGlobal = (await ipForwardingProvider.update!(created.id, created.outs, global)).outs as IpForwardingOutputs;
            expect(await value("net.ipv6.conf.all.forwarding")).to.equal("1");
            for (const dev of [bridge, "uplink0"]) expect(await value(v6(dev)), dev).to.equal("0");
            expect(Object.keys(toGlobal.previous).sort()).to.deep.equal([v4(bridge), v4("uplink0"), "net.ipv6.conf.all.forwarding"].sort());
            expect(await hasRaRoute()).to.equal(true);

            const perDevice = inputsFor({ ipv6: true, ipv6Method: "per-device" });
            const back = (await ipForwardingProvider.update!(created.id, toGlobal, perDevice)).outs as IpForwardingOutputs;
            expect(await value("net.ipv6.conf.all.forwarding")).to.equal("0");
            expect(await value(acceptRa("uplink0"))).to.equal("1");
            for (const dev of [bridge, "uplink0"]) expect(await value(v6(dev)), dev).to.equal("1");
            await ipForwardingProvider.delete!(created.id, back);
            expect(await forwardingSysctls(lab().host)).to.deep.equal(before);
            expect(await hasRaRoute()).to.equal(true);
        });
    });

    it("restores a device found with forwarding on to on, and one found off to off", async function () {
        await set(v4("uplink0"), "1");
        await set(v6("uplink0"), "1");
        const created = await ipForwardingProvider.create!(inputsFor({ ipv6: true }));
        expect((created.outs as IpForwardingOutputs).previous).to.deep.equal(
            { [v4(bridge)]: "0", [v6(bridge)]: "0", [v4("uplink0")]: "1", [v6("uplink0")]: "1" });
        await ipForwardingProvider.delete!(created.id, created.outs);
        expect(await value(v4("uplink0"))).to.equal("1");
        expect(await value(v6("uplink0"))).to.equal("1");
        expect(await value(v4(bridge))).to.equal("0");
        expect(await value(v6(bridge))).to.equal("0");
        await set(v4("uplink0"), "0");
        await set(v6("uplink0"), "0");
    });

    it("restores the original values only when the last of two holders of a device is deleted", async function () {
        const first = await ipForwardingProvider.create!(inputsFor());
        const second = await ipForwardingProvider.create!(inputsFor({ owner: "test/fwd-b", interfaces: ["uplink0"] }));
        expect((second.outs as IpForwardingOutputs).previous).to.deep.equal({ [v4("uplink0")]: "1" });

        await ipForwardingProvider.delete!(first.id, first.outs);
        expect(await value(v4("uplink0")), "still held by the second").to.equal("1");
        expect(await value(v4(bridge)), "only the first held the bridge").to.equal("0");
        expect(ledgers()).to.deep.equal({ [v4("uplink0")]: { original: "0", holders: { "test/fwd-b": "1" } } });

        await ipForwardingProvider.delete!(second.id, second.outs);
        expect(await value(v4("uplink0"))).to.equal("0");
        expect(ledgers()).to.equal(undefined);
    });

    it("refuses a second holder that wants another value and changes nothing", async function () {
        const first = await ipForwardingProvider.create!(inputsFor());
        expect(await failureOf(ipForwardingProvider.create!(inputsFor({ owner: "test/fwd-b", enabled: false }))))
            .to.match(/test\/fwd-a also manages net\.ipv4\.conf\.fwbr0\.forwarding.*wants it 1; nothing was changed/);
        expect(await value(v4("uplink0"))).to.equal("1");
        await ipForwardingProvider.delete!(first.id, first.outs);
        expect(await value(v4("uplink0"))).to.equal("0");
    });

    it("refuses a device that does not exist, naming it, and changes nothing", async function () {
        expect(await failureOf(ipForwardingProvider.create!(inputsFor({ interfaces: ["nosuch0", "uplink0"] }))))
            .to.match(/cannot set net\.ipv4\.conf\.nosuch0\.forwarding: device nosuch0 does not exist/);
        expect(await value(v4("uplink0"))).to.equal("0");
        expect(ledgers()).to.equal(undefined);
    });

    it("has nothing to restore for a device deleted before it, and restores the others", async function () {
        const created = await ipForwardingProvider.create!(inputsFor());
        await inNs(lab().host, ["ip", "link", "del", "dev", bridge]);
        await ipForwardingProvider.delete!(created.id, created.outs);
        expect(await value(v4("uplink0"))).to.equal("0");
        expect(ledgers()).to.equal(undefined);
    });

    it("replaces state of the ip_forward version, deleting it first the way it was made", async function () {
        // What that version recorded: ip_forward turned on, its ledger under /run/egress-xdp/ip-forward.
        const legacy = { netns: lab().host, enabled: true, owner: "test/fwd-old", previous: "0", current: "1" };
        const file = `/run/egress-xdp/ip-forward/${forwardingLedgerPath(lab().host).split("/").pop()}`;
        fs.mkdirSync("/run/egress-xdp/ip-forward", { recursive: true });
        fs.writeFileSync(file, JSON.stringify({ original: "0", holders: { "test/fwd-old": "1" } }));
        await set("net.ipv4.ip_forward", "1");
        expect(await ipForwardingProvider.diff!("id", legacy, inputsFor()))
            .to.deep.include({ changes: true, replaces: ["interfaces"], deleteBeforeReplace: true });
        await ipForwardingProvider.delete!("id", legacy);
        expect(await value("net.ipv4.ip_forward")).to.equal("0");
        expect(fs.existsSync(file)).to.equal(false);
    });

    it("reads nothing once its namespace is gone, and its delete drops the namespace's ledger", async function () {
        const netns = lab().netnsName("fw");
        await run({ resource: "t" }, ["ip", "netns", "add", netns]);
        const created = await ipForwardingProvider.create!(inputsFor({ netns, interfaces: ["lo"] }));
        expect(await value(v4("lo"), netns)).to.equal("1");
        const file = forwardingLedgerPath(netns);
        await run({ resource: "t" }, ["ip", "netns", "del", netns]);
        expect(await ipForwardingProvider.read!(created.id, created.outs)).to.deep.equal({});
        expect(fs.existsSync(file)).to.equal(true);
        await ipForwardingProvider.delete!(created.id, created.outs);
        expect(fs.existsSync(file)).to.equal(false);
    });
});
