import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { prefixDrops, statsCounters, verdictCounters, xdpAttachArgv } from "../../provider/bpf";
import { readLink } from "../../provider/link";
import { ethtoolFeaturesArgv, parseEthtoolFeatures } from "../../provider/offload";
import { RunContext, run } from "../../provider/runner";
import {
    XdpAttachmentOutputs, checkXdpAttachment, dumpMap, xdpAttachmentProvider as provider,
} from "../../provider/xdp-attachment";
import { BuiltObjects, buildBpfObjects } from "../helpers/bpf-build";
import { eventually, useLab } from "../helpers/kernel-suite";
import { inNs } from "../helpers/lab";
import { gapsIn, watchLinkEvents } from "../helpers/link-events";

// The egress path in miniature: xv1 (10.0.0.2) in an inner namespace sends, its peer xv0
// (10.0.0.1) in the lab host receives, and the XDP program on xv0 sees every packet.
describe("XdpAttachment (kernel)", function () {
    const lab = useLab();
    let built: BuiltObjects;
    before(async function () {
        built = await buildBpfObjects(["xdp_stats", "xdp_droplist"]);
    });
    after(() => built?.remove());

    const host = (): RunContext => ({ resource: "t", netns: lab().host });
    const inner = () => lab().netnsName("in");
    const attached = async () => (await readLink(host(), "xv0"))?.xdp;

    /** Runs a test between a veth pair made for it and removed after it (the lab snapshot must match). */
    const withPair = (test: () => Promise<void>) => async function () {
        await run({ resource: "test pair" }, ["ip", "netns", "add", inner()]);
        await inNs(lab().host, ["ip", "link", "add", "xv0", "type", "veth", "peer", "name", "xv1", "netns", inner()]);
        await inNs(lab().host, ["ip", "addr", "add", "10.0.0.1/24", "dev", "xv0"]);
        await inNs(lab().host, ["ip", "link", "set", "xv0", "up"]);
        await inNs(inner(), ["ip", "addr", "add", "10.0.0.2/24", "dev", "xv1"]);
        await inNs(inner(), ["ip", "link", "set", "xv1", "up"]);
        await test();
        // Before the namespace goes (which would take xv0 and its program with it): the test's delete detached it.
        expect(await attached(), "no program left on xv0 by the test").to.equal(undefined);
        await run({ resource: "test pair" }, ["ip", "netns", "del", inner()]);
        expect(await eventually(async () => !await readLink(host(), "xv0")), "xv0 gone with its peer").to.equal(true);
    };

    const inputsFor = (extra: Record<string, unknown> = {}) => {
        const { inputs, failures } = checkXdpAttachment({
            interface: "xv0", netns: lab().host, objectPath: built.path("xdp_stats"), section: "xdp", mode: "native",
            owner: "test/xdp", ...extra,
        });
        expect(failures).to.deep.equal([]);
        return inputs;
    };
    const dropList = (prefixes: string[], extra: Record<string, unknown> = {}) => inputsFor({
        objectPath: built.path("xdp_droplist"), ...extra,
        maps: [{ map: "drop_prefixes", key: "lpm4", entries: prefixes.map((prefix) => ({ key: prefix })) }],
    });

    /** Pings xv0 from the inner namespace; returns how many replies came back. */
    async function ping(count: number): Promise<number> {
        const { stdout } = await inNs(inner(), ["ping", "-c", String(count), "-i", "0.01", "-W", "1", "-q", "10.0.0.1"],
            { allowFailure: true });
        return Number(/(\d+) received/.exec(stdout)?.[1] ?? NaN);
    }

    /** Attaches a program the way someone else would: iproute2 directly, outside the resource. */
    async function attachForeign(object: string, replace: boolean): Promise<number> {
        const bpffsDir = fs.mkdtempSync(path.join(built.dir, "bpffs-"));
        try {
            const argv = xdpAttachArgv({ dev: "xv0", mode: "native", objectPath: built.path(object), section: "xdp", replace, bpffsDir });
            await inNs(lab().host, argv);
        } finally {
            fs.rmdirSync(bpffsDir);
        }
        return (await attached())!.progId;
    }

    for (const [mode, effectiveMode] of [["native", "native"], ["generic", "generic"], ["auto", "native"]] as const) {
        it(`${mode} mode: attaches, counts pinged packets, reads back identical outputs, deletes twice`, withPair(async () => {
            const created = await provider.create!(inputsFor({ mode }));
            const outs = created.outs as XdpAttachmentOutputs;
            const xdp = await attached();
            expect(xdp).to.deep.equal({ mode: effectiveMode, progId: outs.progId, tag: outs.tag, name: "xdp_stats" });
            expect(outs).to.include({ effectiveMode, progName: "xdp_stats" });
            expect(outs.mapIds).to.have.keys(["stats"]);
            expect(await provider.read!(created.id, outs)).to.deep.equal({ id: created.id, props: outs });

            const before = statsCounters(await dumpMap(host(), outs.mapIds.stats)).icmp;
            expect(await ping(20)).to.equal(20);
            const after = statsCounters(await dumpMap(host(), outs.mapIds.stats)).icmp;
            expect(after.packets - before.packets).to.be.at.least(20);
            expect(after.bytes - before.bytes).to.be.at.least(20 * 98); // 84-byte ICMP echo in a 14-byte Ethernet frame

            await provider.delete!(created.id, outs);
            expect(await attached()).to.equal(undefined);
            expect(await provider.read!(created.id, outs)).to.deep.equal({});
            await provider.delete!(created.id, outs);
        }));
    }

    it("drop-list: a listed prefix blocks the ping and counts drops; prefix updates keep the program", withPair(async () => {
        const created = await provider.create!(dropList(["10.0.0.1/32", "198.51.100.0/24"]));
        let outs = created.outs as XdpAttachmentOutputs;
        const listed = (o: XdpAttachmentOutputs) => o.maps?.[0].entries.map((e) => e.key);
        expect(listed(outs)).to.have.members(["10.0.0.1/32", "198.51.100.0/24"]);
        expect(await ping(10)).to.equal(0);
        expect(verdictCounters(await dumpMap(host(), outs.mapIds.verdicts)).dropped).to.be.at.least(10);
        expect(prefixDrops(await dumpMap(host(), outs.mapIds.drop_prefixes))["10.0.0.1/32"]).to.be.at.least(10);

        const unlisted = dropList(["198.51.100.0/24"]);
        expect(await provider.diff!(created.id, outs, unlisted)).to.deep.include({ changes: true, replaces: [] });
        outs = (await provider.update!(created.id, outs, unlisted)).outs as XdpAttachmentOutputs;
        expect(outs).to.include({ progId: (created.outs as XdpAttachmentOutputs).progId });
        expect(listed(outs)).to.deep.equal(["198.51.100.0/24"]);
        const passedBefore = verdictCounters(await dumpMap(host(), outs.mapIds.verdicts)).passed;
        expect(await ping(10)).to.equal(10);
        expect(verdictCounters(await dumpMap(host(), outs.mapIds.verdicts)).passed - passedBefore).to.be.at.least(10);

        // A covering /24 blocks again: the map does longest-prefix matching.
        const covering = dropList(["10.0.0.0/24", "198.51.100.0/24"]);
        outs = (await provider.update!(created.id, outs, covering)).outs as XdpAttachmentOutputs;
        expect(await ping(5)).to.equal(0);
        expect(outs.progId).to.equal((created.outs as XdpAttachmentOutputs).progId);
        expect(await provider.read!(created.id, outs)).to.deep.equal({ id: created.id, props: outs });
        await provider.delete!(created.id, outs);
        expect(await attached()).to.equal(undefined);
    }));

    it("swaps xdp_stats for xdp_droplist without a moment with no program attached", withPair(async () => {
        const created = await provider.create!(inputsFor());
        const old = created.outs as XdpAttachmentOutputs;
        const next = dropList([]);
        expect(await provider.diff!(created.id, old, next)).to.deep.include({ changes: true, replaces: [] });
        const watch = await watchLinkEvents(lab().host, "xv0");
        const swapped = await provider.update!(created.id, old, next);
        const outs = swapped.outs as XdpAttachmentOutputs;
        const events = await watch.stop();
        expect(events.length, "the kernel announced the swap").to.be.at.least(1);
        expect(gapsIn(events), "link events without a program during the swap").to.deep.equal([]);
        expect(events.at(-1)?.progId, "the last event shows the new program").to.equal(outs.progId);
        expect(outs).to.include({ progName: "xdp_droplist", effectiveMode: "native" });
        expect(outs.progId).to.not.equal(old.progId);
        expect(await ping(5)).to.equal(5);

        // A mode change cannot be atomic (the kernel holds one mode at a time), but it must land.
        const toGeneric = dropList([], { mode: "generic" });
        const generic = (await provider.update!(created.id, outs, toGeneric)).outs as XdpAttachmentOutputs;
        expect(await attached()).to.deep.include({ mode: "generic", progId: generic.progId });
        await provider.delete!(created.id, generic);
        expect(await attached()).to.equal(undefined);
    }));

    it("refuses a foreign program on create and leaves it; adopt replaces it in one step", withPair(async () => {
        const foreign = await attachForeign("xdp_droplist", false);
        let failure: unknown;
        await provider.create!(inputsFor()).catch((error) => { failure = error; });
        expect(String(failure)).to.match(/already has XDP program \d+ \(xdp_droplist.*left attached.*adopt: true/s);
        expect((await attached())?.progId).to.equal(foreign);

        const adoption = await provider.create!(inputsFor({ adopt: true }));
        const adopted = adoption.outs as XdpAttachmentOutputs;
        expect(adopted.progName).to.equal("xdp_stats");
        expect((await attached())?.progId).to.equal(adopted.progId);
        await provider.delete!(adoption.id, adopted);
        expect(await attached()).to.equal(undefined);
    }));

    it("never clobbers a program that replaced ours; refresh records it, the next update restores ours", withPair(async () => {
        const created = await provider.create!(inputsFor());
        const ours = created.outs as XdpAttachmentOutputs;
        const foreign = await attachForeign("xdp_droplist", true);

        await provider.delete!(created.id, ours);
        expect((await attached())?.progId, "delete leaves a foreign program").to.equal(foreign);
        let failure: unknown;
        await provider.update!(created.id, ours, inputsFor({ mode: "auto" })).catch((error) => { failure = error; });
        const refusal = new RegExp(`now program ${foreign} .*not program ${ours.progId}.*pulumi refresh`, "s");
        expect(String(failure)).to.match(refusal);
        expect((await attached())?.progId).to.equal(foreign);

        const refreshed = (await provider.read!(created.id, ours)).props as XdpAttachmentOutputs;
        expect(refreshed).to.deep.include({
            progId: foreign, progName: "xdp_droplist", foreignProgram: { progId: foreign, name: "xdp_droplist" },
            objectHash: ours.objectHash,
        });
        await provider.delete!(created.id, refreshed);
        expect((await attached())?.progId, "a refreshed foreign program is still not ours to delete").to.equal(foreign);
        expect(await provider.diff!(created.id, refreshed, inputsFor())).to.deep.include({ changes: true, replaces: [] });

        const restored = (await provider.update!(created.id, refreshed, inputsFor())).outs as XdpAttachmentOutputs;
        expect(restored).to.include({ progName: "xdp_stats", objectHash: ours.objectHash });
        expect(restored).to.not.have.property("foreignProgram");
        expect((await attached())?.progId).to.equal(restored.progId);
        await provider.delete!(created.id, restored);
        expect(await attached()).to.equal(undefined);
    }));

    /** xv0's GRO as the kernel has it, and as ethtool would set it for the test. */
    const gro = async () => parseEthtoolFeatures((await inNs(lab().host, ethtoolFeaturesArgv("xv0"))).stdout)["generic-receive-offload"];
    const setGro = (on: boolean) => inNs(lab().host, ["ethtool", "-K", "xv0", "generic-receive-offload", on ? "on" : "off"]);
    const groChange = { feature: "generic-receive-offload", found: false, set: true };

    it("native mode turns GRO on and records it; drift shows in refresh and is repaired; generic and delete put it back", withPair(async () => {
        expect(await gro(), "a fresh veth").to.include({ active: false, requested: false });
        const created = await provider.create!(inputsFor({ mode: "auto" }));
        let outs = created.outs as XdpAttachmentOutputs;
        expect(outs).to.deep.include({
            effectiveMode: "native", programView: "wire frames", offloads: { "generic-receive-offload": "on" }, offloadChanges: [groChange],
        });
        expect(await gro()).to.include({ active: true, requested: true });
        expect(await provider.read!(created.id, outs)).to.deep.equal({ id: created.id, props: outs });
        expect(await provider.diff!(created.id, outs, inputsFor({ mode: "auto" }))).to.deep.include({ changes: false });

        // Someone turns it off: refresh shows it, the next up turns it on again and keeps what was first found.
        await setGro(false);
        const refreshed = (await provider.read!(created.id, outs)).props as XdpAttachmentOutputs;
        expect(refreshed.offloads).to.deep.equal({ "generic-receive-offload": "off" });
        expect(await provider.diff!(created.id, refreshed, inputsFor({ mode: "auto" }))).to.deep.include({ changes: true, replaces: [] });
        outs = (await provider.update!(created.id, refreshed, inputsFor({ mode: "auto" }))).outs as XdpAttachmentOutputs;
        expect(outs).to.deep.include({ progId: refreshed.progId, offloadChanges: [groChange] });
        expect(await gro()).to.include({ active: true });

        // An interrupted create that attached and changed GRO before pulumi recorded it: the attach note
        // holds the change, so the next create still knows GRO was off before.
        const again = (await provider.create!(inputsFor({ mode: "auto" }))).outs as XdpAttachmentOutputs;
        expect(again.offloadChanges).to.deep.equal([groChange]);

        const generic = (await provider.update!(created.id, again, inputsFor({ mode: "generic" }))).outs as XdpAttachmentOutputs;
        expect(generic).to.deep.include({
            effectiveMode: "generic", programView: "super-packets", offloads: { "generic-receive-offload": "off" }, offloadChanges: [],
        });
        expect(await gro(), "switched to generic").to.include({ active: false, requested: false });
        const native = (await provider.update!(created.id, generic, inputsFor())).outs as XdpAttachmentOutputs;
        expect(native.offloadChanges).to.deep.equal([groChange]);
        expect(await gro()).to.include({ active: true });
        await provider.delete!(created.id, native);
        expect(await attached()).to.equal(undefined);
        expect(await gro(), "after delete").to.include({ active: false, requested: false });
    }));

    it("leaves GRO alone where it was on before: nothing recorded, still on after generic and delete", withPair(async () => {
        await setGro(true);
        const created = await provider.create!(inputsFor());
        const outs = created.outs as XdpAttachmentOutputs;
        expect(outs).to.deep.include({ offloads: { "generic-receive-offload": "on" }, offloadChanges: [] });
        const generic = (await provider.update!(created.id, outs, inputsFor({ mode: "generic" }))).outs as XdpAttachmentOutputs;
        expect(generic).to.deep.include({ offloads: { "generic-receive-offload": "on" }, offloadChanges: [] });
        expect(await gro(), "switched to generic").to.include({ active: true, requested: true });
        await provider.delete!(created.id, generic);
        expect(await gro(), "after delete").to.include({ active: true, requested: true });
        await setGro(false); // the test's own setting, undone before the pair goes
    }));

    it("BPF_PROG_TEST_RUN: xdp_stats passes and counts, xdp_droplist drops a listed destination", withPair(async () => {
        // Ethernet + IPv4 (10.0.0.2 -> 10.0.0.1, ICMP) + ICMP echo header.
        const packet = Buffer.concat([
            Buffer.alloc(12), Buffer.from([0x08, 0x00]),
            Buffer.from([0x45, 0, 0, 28, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1]),
            Buffer.from([8, 0, 0, 0, 0, 0, 0, 0]),
        ]);
        const packetFile = path.join(built.dir, "packet.bin");
        fs.writeFileSync(packetFile, packet);
        const testRun = async (progId: number, repeat: number) => JSON.parse((await inNs(lab().host,
            ["bpftool", "-j", "prog", "run", "id", String(progId), "data_in", packetFile, "repeat", String(repeat)])).stdout) as
            { retval: number; duration: number };

        const created = await provider.create!(inputsFor());
        const stats = created.outs as XdpAttachmentOutputs;
        const result = await testRun(stats.progId, 100000);
        expect(result.retval).to.equal(2); // XDP_PASS
        expect(statsCounters(await dumpMap(host(), stats.mapIds.stats)).icmp.packets).to.be.at.least(100000);
        console.log(`      xdp_stats: ${result.duration} ns/packet under BPF_PROG_TEST_RUN`);

        const drops = (await provider.update!(created.id, stats, dropList(["10.0.0.0/8"]))).outs as XdpAttachmentOutputs;
        expect((await testRun(drops.progId, 1000)).retval).to.equal(1); // XDP_DROP
        expect(prefixDrops(await dumpMap(host(), drops.mapIds.drop_prefixes))["10.0.0.0/8"]).to.equal(1000);
        await provider.delete!(created.id, drops);
    }));
});
