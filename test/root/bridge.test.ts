import { expect } from "chai";
import { BridgeOutputs, bridgeProvider, checkBridge } from "../../provider/bridge";
import { readLink } from "../../provider/link";
import { useLab } from "../helpers/kernel-suite";
import { inNs } from "../helpers/lab";

describe("Bridge (kernel)", function () {
    const lab = useLab();
    const inputsFor = (extra: Record<string, unknown> = {}) => {
        const { inputs, failures } = checkBridge({
            name: "br_t", netns: lab().host, addresses: ["10.0.0.1/24"], owner: "test/bridge", ...extra,
        });
        expect(failures).to.deep.equal([]);
        return inputs;
    };

    it("creates, reads back identical outputs, updates in place, deletes idempotently", async function () {
        const inputs = inputsFor();
        const created = await bridgeProvider.create!(inputs);
        const outs = created.outs as BridgeOutputs;
        const link = await readLink({ resource: "t", netns: lab().host }, "br_t");
        expect(link?.kind).to.equal("bridge");
        expect(link?.addresses).to.deep.equal(["10.0.0.1/24"]);
        expect(outs).to.include({ ifindex: link!.ifindex, mac: link!.mac, up: true, mtu: 1500 });

        expect(await bridgeProvider.read!(created.id, outs)).to.deep.equal({ id: created.id, props: outs });

        const changed = inputsFor({ addresses: ["10.0.1.1/24"], mtu: 1400, up: false });
        const diff = await bridgeProvider.diff!(created.id, outs, changed);
        expect(diff).to.deep.include({ changes: true, replaces: [] });
        expect(await bridgeProvider.diff!(created.id, outs, inputsFor({ name: "br_u" })))
            .to.deep.include({ changes: true, replaces: ["name"], deleteBeforeReplace: true });
        expect(await bridgeProvider.diff!(created.id, outs, inputsFor()))
            .to.deep.include({ changes: false });

        const updated = (await bridgeProvider.update!(created.id, outs, changed)).outs as BridgeOutputs;
        const after = await readLink({ resource: "t", netns: lab().host }, "br_t");
        expect(after).to.include({ ifindex: link!.ifindex, mtu: 1400, up: false });
        expect(after?.addresses).to.deep.equal(["10.0.1.1/24"]);
        expect(updated).to.include({ mtu: 1400, up: false });

        await bridgeProvider.delete!(created.id, updated);
        expect(await readLink({ resource: "t", netns: lab().host }, "br_t")).to.equal(undefined);
        expect(await bridgeProvider.read!(created.id, updated)).to.deep.equal({});
        await bridgeProvider.delete!(created.id, updated);
    });

    it("refuses a foreign bridge of the same name and leaves it intact, adopts it when asked", async function () {
        await inNs(lab().host, ["ip", "link", "add", "br_t", "type", "bridge"]);
        const foreign = await readLink({ resource: "t", netns: lab().host }, "br_t");
        let failure: unknown;
        try {
            await bridgeProvider.create!(inputsFor());
        } catch (error) {
            failure = error;
        }
        expect(String(failure)).to.match(/already exists.*not created by this resource.*adopt: true/s);
        expect(await readLink({ resource: "t", netns: lab().host }, "br_t")).to.deep.equal(foreign);

        const adopted = await bridgeProvider.create!(inputsFor({ adopt: true }));
        expect((adopted.outs as BridgeOutputs).ifindex).to.equal(foreign!.ifindex);
        expect((await readLink({ resource: "t", netns: lab().host }, "br_t"))?.addresses).to.deep.equal(["10.0.0.1/24"]);
        await bridgeProvider.delete!(adopted.id, adopted.outs);
        expect(await readLink({ resource: "t", netns: lab().host }, "br_t")).to.equal(undefined);
    });

    it("leaves a bridge alone on delete when it is no longer ours", async function () {
        const created = await bridgeProvider.create!(inputsFor());
        await inNs(lab().host, ["ip", "link", "del", "br_t"]);
        await inNs(lab().host, ["ip", "link", "add", "br_t", "type", "bridge"]);
        await bridgeProvider.delete!(created.id, created.outs);
        expect((await readLink({ resource: "t", netns: lab().host }, "br_t"))?.kind).to.equal("bridge");
        await inNs(lab().host, ["ip", "link", "del", "br_t"]);
    });
});
