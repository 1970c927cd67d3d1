import { expect } from "chai";
import { readLink } from "../../provider/link";
import { run } from "../../provider/runner";
import { VethPairOutputs, checkVethPair, vethPairProvider } from "../../provider/veth-pair";
import { expectDiffClasses } from "../helpers/diff-classes";
import { eventually, failureOf, useLab } from "../helpers/kernel-suite";
import { inNs } from "../helpers/lab";

describe("VethPair (kernel)", function () {
    const lab = useLab();
    const inputsFor = (extra: Record<string, unknown> = {}) => {
        const { inputs, failures } = checkVethPair({
            name: "v_a", netns: lab().host, peerName: "v_b", peerNetns: lab().host, addresses: ["10.0.0.1/24"],
            owner: "test/veth", ...extra,
        });
        expect(failures).to.deep.equal([]);
        return inputs;
    };
    const readIn = (netns: string, name: string) => readLink({ resource: "t", netns }, name);
    const createFailure = (extra: Record<string, unknown>) => failureOf(vethPairProvider.create!(inputsFor(extra)));
    /** A namespace of this lab for the peer end; the test deletes it, destroyLab too if the test fails. */
    const addNetns = async (suffix: string) => {
        const netns = lab().netnsName(suffix);
        await run({ resource: "test" }, ["ip", "netns", "add", netns]);
        return netns;
    };

    it("creates a pair in one namespace, reads back identical outputs, updates both ends in place, deletes idempotently",
        async function () {
            const created = await vethPairProvider.create!(inputsFor());
            const outs = created.outs as VethPairOutputs;
            const end = await readIn(lab().host, "v_a");
            const peer = await readIn(lab().host, "v_b");
            expect(end).to.include({ kind: "veth", peerName: "v_b", up: true, alias: "egress-xdp:test/veth" });
            expect(peer).to.include({ kind: "veth", peerName: "v_a", up: true, alias: "egress-xdp:test/veth" });
            expect(end?.addresses).to.deep.equal(["10.0.0.1/24"]);
            expect(outs).to.deep.include({
                ifindex: end!.ifindex, mac: end!.mac, peerIfindex: peer!.ifindex, peerMac: peer!.mac, mtu: 1500,
                peerAddresses: [], master: undefined,
            });
            expect(await vethPairProvider.read!(created.id, outs)).to.deep.equal({ id: created.id, props: outs });

            await expectDiffClasses(vethPairProvider, created.id, outs, inputsFor, {
                inPlace: {
                    addresses: ["10.0.1.1/24"], peerAddresses: ["10.0.1.2/24"], mtu: 1400, up: false, peerUp: false,
                    master: "br_t",
                },
                replace: { name: "v_c", peerName: "v_d", netns: lab().netnsName("x"), peerNetns: lab().netnsName("y") },
            });

            await inNs(lab().host, ["ip", "link", "add", "br_t", "type", "bridge"]);
            const changed = inputsFor({
                addresses: ["10.0.1.1/24"], peerAddresses: ["10.0.1.2/24"], mtu: 1400, up: false, peerUp: false, master: "br_t",
            });
            const updated = (await vethPairProvider.update!(created.id, outs, changed)).outs as VethPairOutputs;
            expect(await readIn(lab().host, "v_a")).to.deep.include({
                ifindex: end!.ifindex, mtu: 1400, up: false, master: "br_t", addresses: ["10.0.1.1/24"],
            });
            expect(await readIn(lab().host, "v_b")).to.deep.include({
                ifindex: peer!.ifindex, mtu: 1400, up: false, addresses: ["10.0.1.2/24"],
            });
            expect(updated).to.deep.include({
                mtu: 1400, up: false, peerUp: false, master: "br_t", peerAddresses: ["10.0.1.2/24"],
            });

            await vethPairProvider.delete!(created.id, updated);
            expect(await readIn(lab().host, "v_a")).to.equal(undefined);
            expect(await readIn(lab().host, "v_b")).to.equal(undefined);
            expect(await vethPairProvider.read!(created.id, updated)).to.deep.equal({});
            await vethPairProvider.delete!(created.id, updated);
            await inNs(lab().host, ["ip", "link", "del", "br_t"]);
        });

    it("puts the peer in a second namespace and carries a ping across the pair", async function () {
        const inner = await addNetns("in");
        const inputs = inputsFor({ peerNetns: inner, peerAddresses: ["10.0.0.2/24"] });
        const created = await vethPairProvider.create!(inputs);
        const outs = created.outs as VethPairOutputs;
        expect(await readIn(lab().host, "v_b")).to.equal(undefined);
        const peer = await readIn(inner, "v_b");
        expect(peer).to.deep.include({ peerInOtherNetns: true, addresses: ["10.0.0.2/24"], up: true });
        expect(outs).to.include({ peerIfindex: peer!.ifindex, peerMac: peer!.mac });
        expect(await vethPairProvider.read!(created.id, outs)).to.deep.equal({ id: created.id, props: outs });

        const ping = await inNs(lab().host, ["ping", "-n", "-c", "1", "-W", "1", "10.0.0.2"], { allowFailure: true });
        expect(ping.exitCode, ping.stdout).to.equal(0);

        await vethPairProvider.delete!(created.id, outs);
        expect(await readIn(lab().host, "v_a")).to.equal(undefined);
        expect(await readIn(inner, "v_b")).to.equal(undefined);
        await run({ resource: "test" }, ["ip", "netns", "del", inner]);
    });

    it("is gone when the peer's namespace is deleted, and delete then succeeds", async function () {
        const inner = await addNetns("in");
        const created = await vethPairProvider.create!(inputsFor({ peerNetns: inner }));
        await run({ resource: "test" }, ["ip", "netns", "del", inner]);
        expect(await vethPairProvider.read!(created.id, created.outs)).to.deep.equal({});
        await vethPairProvider.delete!(created.id, created.outs);
        expect(await eventually(async () => (await readIn(lab().host, "v_a")) === undefined)).to.equal(true);
    });

    it("fails clearly when the peer's namespace does not exist, and creates nothing", async function () {
        expect(await createFailure({ peerNetns: lab().netnsName("missing") }))
            .to.match(/VethPair v_a: network namespace "exmissing-\w+" \(peerNetns\) does not exist under \/var\/run\/netns/);
        expect(await readIn(lab().host, "v_a")).to.equal(undefined);
    });

    it("refuses a foreign pair with the same names and leaves it intact, adopts it when asked", async function () {
        await inNs(lab().host, ["ip", "link", "add", "v_a", "type", "veth", "peer", "name", "v_b"]);
        const foreign = [await readIn(lab().host, "v_a"), await readIn(lab().host, "v_b")];
        expect(await createFailure({})).to.match(/v_a already exists.*not created by this resource.*adopt: true/s);
        expect([await readIn(lab().host, "v_a"), await readIn(lab().host, "v_b")]).to.deep.equal(foreign);

        const adopted = await vethPairProvider.create!(inputsFor({ adopt: true }));
        expect(adopted.outs).to.include({ ifindex: foreign[0]!.ifindex, peerIfindex: foreign[1]!.ifindex });
        await vethPairProvider.delete!(adopted.id, adopted.outs);
        expect(await readIn(lab().host, "v_b")).to.equal(undefined);
    });

    it("refuses to adopt two veths that are not each other's peer, or a link of another kind", async function () {
        await inNs(lab().host, ["ip", "link", "add", "v_a", "type", "veth", "peer", "name", "x_a"]);
        await inNs(lab().host, ["ip", "link", "add", "v_b", "type", "veth", "peer", "name", "x_b"]);
        const strays = [await readIn(lab().host, "v_a"), await readIn(lab().host, "v_b")];
        expect(await createFailure({ adopt: true }))
            .to.match(/v_a.*and v_b.*are not the two ends of one veth pair.*left as they are/s);
        expect([await readIn(lab().host, "v_a"), await readIn(lab().host, "v_b")]).to.deep.equal(strays);
        await inNs(lab().host, ["ip", "link", "del", "v_b"]);

        await inNs(lab().host, ["ip", "link", "add", "v_b", "type", "bridge"]);
        expect(await createFailure({ adopt: true })).to.match(/v_b already exists.* is a bridge, not a veth.*left untouched/s);
        await inNs(lab().host, ["ip", "link", "del", "v_b"]);
        await inNs(lab().host, ["ip", "link", "del", "v_a"]);
    });
});
