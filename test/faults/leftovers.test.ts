// Issue 5, what a killed create leaves, made on purpose: the exact state a create leaves when pulumi
// dies between its first kernel change and its owner mark (or, for what carries no alias: a route, an
// XDP program, ip_forward, before pulumi recorded the result). The next create must take it back; a
// look-alike that no create of this resource left is refused and left untouched.
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { xdpAttachArgv } from "../../provider/bpf";
import { BridgeOutputs, bridgeProvider, checkBridge } from "../../provider/bridge";
import {
    IpForwardingOutputs, checkIpForwarding, forwardingLedgerDir, forwardingLedgerPath, ipForwardingProvider,
} from "../../provider/ip-forwarding";
import { readLink } from "../../provider/link";
import { ownerMark } from "../../provider/owner";
import { NamespaceOutputs, checkNamespace, namespaceProvider } from "../../provider/namespace";
import { NoteKey, notePath, writeNote } from "../../provider/notes";
import { RouteOutputs, checkRoute, routeNote, routeProtocol, routeProvider } from "../../provider/route";
import { run } from "../../provider/runner";
import { VethPairOutputs, checkVethPair, vethPairProvider } from "../../provider/veth-pair";
import { XdpAttachmentOutputs, checkXdpAttachment, xdpAttachmentProvider } from "../../provider/xdp-attachment";
import { useBuiltObjects } from "../helpers/bpf-build";
import { failureOf, useLab } from "../helpers/kernel-suite";
import { inNs } from "../helpers/lab";
import { linkDetails, routeDetails, snapshotNetns } from "../helpers/snapshot";

/** The inputs `check` makes of `news`, which must be valid. */
function checked<T>(check: (news: Record<string, unknown>) => { inputs: T; failures: unknown[] }, news: Record<string, unknown>): T {
    const { inputs, failures } = check(news);
    expect(failures).to.deep.equal([]);
    return inputs;
}

describe("Leftovers of a killed create: taken back when ours, refused when not (faults)", function () {
    const lab = useLab();
    const owner = "egress-xdp/faults/leftover";
    const host = () => ({ resource: "t", netns: lab().host });
    const linkNote = (name: string, netns = lab().host): NoteKey => ({ kind: "link", netns, name });

    it("a bridge added but not yet marked: taken back with our creation note, refused with another owner's", async function () {
        const inputs = checked(checkBridge, { name: "br_left", netns: lab().host, addresses: ["10.5.0.1/24"], owner });
        writeNote(linkNote("br_left"), { owner: "egress-xdp/other/stack" });
        await inNs(lab().host, ["ip", "link", "add", "name", "br_left", "type", "bridge"]);
        const foreign = await linkDetails(lab().host, "br_left");
        expect(await failureOf(bridgeProvider.create!(inputs))).to.match(/already exists.*not created by this resource/s);
        expect(await linkDetails(lab().host, "br_left"), "left exactly as it was (unmarked)").to.deep.equal(foreign);

        writeNote(linkNote("br_left"), { owner });
        const created = await bridgeProvider.create!(inputs);
        const bridge = await readLink(host(), "br_left");
        expect(bridge).to.include({ alias: ownerMark(owner) });
        expect(bridge?.addresses).to.deep.equal(["10.5.0.1/24"]);
        expect(fs.existsSync(notePath(linkNote("br_left"))), "the note goes with the mark").to.equal(false);
        await bridgeProvider.delete!(created.id, created.outs as BridgeOutputs);
        expect(await readLink(host(), "br_left")).to.equal(undefined);
    });

    it("a veth pair added but not yet marked is taken back as one pair", async function () {
        const inner = lab().netnsName("left");
        await run({ resource: "t" }, ["ip", "netns", "add", inner]);
        const inputs = checked(checkVethPair, {
            name: "vleft_a", netns: lab().host, peerName: "vleft_b", peerNetns: inner, peerAddresses: ["10.5.0.2/24"], owner,
        });
        writeNote(linkNote("vleft_a"), { owner });
        writeNote(linkNote("vleft_b", inner), { owner });
        await inNs(lab().host, ["ip", "link", "add", "vleft_a", "type", "veth", "peer", "name", "vleft_b", "netns", inner]);
        const created = await vethPairProvider.create!(inputs);
        expect((created.outs as VethPairOutputs).peerAddresses).to.deep.equal(["10.5.0.2/24"]);
        expect((await readLink({ resource: "t", netns: inner }, "vleft_b"))?.alias).to.equal(ownerMark(owner));
        await vethPairProvider.delete!(created.id, created.outs as VethPairOutputs);
        expect(await readLink(host(), "vleft_a")).to.equal(undefined);
        await run({ resource: "t" }, ["ip", "netns", "del", inner]);
    });

    it("a namespace added before its lo was marked is taken back; an unmarked one without our note is refused", async function () {
        const name = lab().netnsName("leftns");
        const inputs = checked(checkNamespace, { name, owner });
        await run({ resource: "t" }, ["ip", "netns", "add", name]);
        const foreign = await snapshotNetns(name);
        expect(await failureOf(namespaceProvider.create!(inputs))).to.match(/already exists.*not created by this resource/s);
        expect(await snapshotNetns(name), "left exactly as it was").to.equal(foreign);

        writeNote(linkNote("lo", name), { owner });
        const created = await namespaceProvider.create!(inputs);
        expect((await readLink({ resource: "t", netns: name }, "lo"))?.alias).to.equal(ownerMark(owner));
        await namespaceProvider.delete!(created.id, created.outs as NamespaceOutputs);
        expect(fs.existsSync(`/var/run/netns/${name}`)).to.equal(false);
    });

    it("a namespace whose `ip netns add` was killed before it mounted one: cleared and made when ours", async function () {
        const name = lab().netnsName("halfns");
        const inputs = checked(checkNamespace, { name, owner });
        // What `ip netns add` leaves when killed between creating the file and mounting the namespace on it.
        fs.writeFileSync(`/var/run/netns/${name}`, "");
        const fileState = () => {
            const { ino, size, mode, mtimeMs, dev } = fs.statSync(`/var/run/netns/${name}`);
            return { ino, size, mode, mtimeMs, dev };
        };
        const foreign = fileState();
        expect(await failureOf(namespaceProvider.create!(inputs))).to.match(/holds no namespace.*left untouched/s);
        expect(fileState(), "left as it was").to.deep.equal(foreign);

        writeNote(linkNote("lo", name), { owner });
        const created = await namespaceProvider.create!(inputs);
        expect((await readLink({ resource: "t", netns: name }, "lo"))?.alias).to.equal(ownerMark(owner));
        await namespaceProvider.delete!(created.id, created.outs as NamespaceOutputs);
        expect(fs.existsSync(`/var/run/netns/${name}`)).to.equal(false);
    });

    it("forwarding set by a killed create: the re-create records the original value, and delete restores it", async function () {
        const inputs = checked(checkIpForwarding, { netns: lab().host, interfaces: ["uplink0"], owner });
        const key = "net.ipv4.conf.uplink0.forwarding";
        // What the killed create left: its ledger entry, and the uplink's forwarding already on.
        fs.mkdirSync(forwardingLedgerDir, { recursive: true });
        fs.writeFileSync(forwardingLedgerPath(lab().host), JSON.stringify({ [key]: { original: "0", holders: { [owner]: "1" } } }));
        await inNs(lab().host, ["sysctl", "-q", "-w", `${key}=1`]);
        const created = await ipForwardingProvider.create!(inputs);
        expect(created.outs).to.deep.include({ previous: { [key]: "0" }, current: { [key]: "1" } });
        fs.rmSync(forwardingLedgerPath(lab().host)); // as if the delete were killed after it dropped the ledger
        await ipForwardingProvider.delete!(created.id, created.outs as IpForwardingOutputs);
        expect((await inNs(lab().host, ["sysctl", "-n", key])).stdout).to.equal("0");
    });

    it(`a route with our note is taken back; a look-alike (proto ${routeProtocol} of another stack, or the host's) is refused and left alone`, async function () {
        const inputs = checked(checkRoute, { netns: lab().host, destination: "192.0.2.0/24", via: "198.18.0.2", owner });
        const routes = () => routeDetails(lab().host, "192.0.2.0/24");
        const addRoute = (...extra: string[]) =>
            inNs(lab().host, ["ip", "route", "add", "192.0.2.0/24", "via", "198.18.0.2", "metric", "0", ...extra]);
        await addRoute();
        const foreign = await routes();
        expect(await failureOf(routeProvider.create!(inputs))).to.match(/already exists.*not this resource's.*left untouched/s);
        expect(await routes(), "left untouched, protocol included").to.deep.equal(foreign);
        await inNs(lab().host, ["ip", "route", "del", "192.0.2.0/24"]);

        // Another stack's route: our protocol, its note.
        await addRoute("proto", String(routeProtocol));
        const another = await routes();
        expect(await failureOf(routeProvider.create!(inputs)), "no note").to.match(/not this resource's/);
        writeNote(routeNote(inputs), { owner: "egress-xdp/other/route" });
        expect(await failureOf(routeProvider.create!(inputs))).to.match(/egress-xdp resource egress-xdp\/other\/route made it/);
        await routeProvider.delete!("id", { ...inputs, dev: "uplink0" });
        expect(await routes(), "another stack's route stays on delete").to.deep.equal(another);

        // A create killed right after the add left the route with our note: taken back.
        writeNote(routeNote(inputs), { owner });
        const created = await routeProvider.create!(inputs);
        expect(created.outs).to.deep.equal({ ...inputs, dev: "uplink0" });
        await routeProvider.delete!(created.id, created.outs as RouteOutputs);
        expect(await routes()).to.deep.equal([]);
        expect(fs.existsSync(notePath(routeNote(inputs))), "the note goes with the route").to.equal(false);
    });

    describe("XDP programs", function () {
        const built = useBuiltObjects(["xdp_stats"]);

        const xdpNote = (): NoteKey => ({ kind: "xdp", netns: lab().host, name: "uplink0" });
        /** Attaches xdp_stats to the lab's uplink with iproute2, as the killed create (or someone else) did. */
        async function attachByHand(): Promise<number> {
            const bpffsDir = fs.mkdtempSync(path.join(built().dir, "bpffs-"));
            try {
                await inNs(lab().host, xdpAttachArgv({
                    dev: "uplink0", mode: "generic", objectPath: built().path("xdp_stats"), section: "xdp", replace: false, bpffsDir,
                }));
            } finally {
                fs.rmdirSync(bpffsDir);
            }
            return (await readLink(host(), "uplink0"))!.xdp!.progId;
        }

        it("a program attached by a killed create is replaced by ours; one attached since is refused", async function () {
            const inputs = checked(checkXdpAttachment, {
                interface: "uplink0", netns: lab().host, objectPath: built().path("xdp_stats"), section: "xdp", mode: "generic", owner,
            });
            const leftover = await attachByHand();
            writeNote(xdpNote(), { owner, progId: leftover - 1 });
            const foreign = await linkDetails(lab().host, "uplink0");
            expect(await failureOf(xdpAttachmentProvider.create!(inputs)), "not the program our create attached")
                .to.match(/already has XDP program.*did not attach/s);
            expect(await linkDetails(lab().host, "uplink0"), "left attached, the link as it was").to.deep.equal(foreign);

            writeNote(xdpNote(), { owner });
            const created = await xdpAttachmentProvider.create!(inputs);
            const outs = created.outs as XdpAttachmentOutputs;
            expect(outs.progId).to.not.equal(leftover);
            expect((await readLink(host(), "uplink0"))?.xdp?.progId).to.equal(outs.progId);
            await xdpAttachmentProvider.delete!(created.id, outs);
            expect((await readLink(host(), "uplink0"))?.xdp).to.equal(undefined);
            expect(fs.existsSync(notePath(xdpNote())), "delete removes the note").to.equal(false);
        });
    });
});
