import { expect } from "chai";
import { BridgeOutputs, bridgeProvider, checkBridge } from "../../provider/bridge";
import { readLink } from "../../provider/link";
import { linkKindOf } from "../../provider/parse";
import { TapOutputs, checkTap, tapProvider } from "../../provider/tap";
import { expectDiffClasses } from "../helpers/diff-classes";
import { failureOf, useLab } from "../helpers/kernel-suite";
import { inNs } from "../helpers/lab";

describe("Tap (kernel)", function () {
    const lab = useLab();
    const inputsFor = (extra: Record<string, unknown> = {}) => {
        const { inputs, failures } = checkTap({ name: "tap_t", netns: lab().host, owner: "test/tap", ...extra });
        expect(failures).to.deep.equal([]);
        return inputs;
    };
    const readTap = () => readLink({ resource: "t", netns: lab().host }, "tap_t");
    const createFailure = (extra: Record<string, unknown>) => failureOf(tapProvider.create!(inputsFor(extra)));

    it("creates, reads back identical outputs, updates in place, deletes idempotently", async function () {
        const created = await tapProvider.create!(inputsFor());
        const outs = created.outs as TapOutputs;
        const link = await readTap();
        expect(linkKindOf(link!)).to.equal("tap");
        expect(link).to.include({ up: true, alias: "egress-xdp:test/tap" });
        expect(outs).to.include({ ifindex: link!.ifindex, mac: link!.mac, up: true, mtu: 1500, master: undefined });
        expect(await tapProvider.read!(created.id, outs)).to.deep.equal({ id: created.id, props: outs });

        await expectDiffClasses(tapProvider, created.id, outs, inputsFor, {
            inPlace: { mtu: 1400, up: false, master: "br_t" }, replace: { name: "tap_u", netns: lab().netnsName("x") },
        });

        const updated = (await tapProvider.update!(created.id, outs, inputsFor({ mtu: 1400, up: false }))).outs as TapOutputs;
        expect(await readTap()).to.include({ ifindex: link!.ifindex, mtu: 1400, up: false });
        expect(updated).to.include({ mtu: 1400, up: false });

        await tapProvider.delete!(created.id, updated);
        expect(await readTap()).to.equal(undefined);
        expect(await tapProvider.read!(created.id, updated)).to.deep.equal({});
        await tapProvider.delete!(created.id, updated);
    });

    it("joins a bridge, switches to another and leaves it, in place", async function () {
        const bridges: { id: string; outs: BridgeOutputs }[] = [];
        for (const name of ["br_a", "br_b"]) {
            const { inputs } = checkBridge({ name, netns: lab().host, owner: "test/tap-bridge" });
            bridges.push((await bridgeProvider.create!(inputs)) as { id: string; outs: BridgeOutputs });
        }
        const created = await tapProvider.create!(inputsFor({ master: "br_a" }));
        expect((await readTap())?.master).to.equal("br_a");
        expect(created.outs).to.include({ master: "br_a" });

        let outs = created.outs as TapOutputs;
        for (const master of ["br_b", undefined]) {
            outs = (await tapProvider.update!(created.id, outs, inputsFor({ master }))).outs as TapOutputs;
            expect((await readTap())?.master).to.equal(master);
            expect((await readTap())?.ifindex).to.equal(outs.ifindex);
            expect(outs.master).to.equal(master);
        }

        await tapProvider.delete!(created.id, outs);
        for (const bridge of bridges) await bridgeProvider.delete!(bridge.id, bridge.outs);
    });

    it("refuses a foreign tap of the same name and leaves it intact, adopts it when asked", async function () {
        await inNs(lab().host, ["ip", "tuntap", "add", "dev", "tap_t", "mode", "tap"]);
        const foreign = await readTap();
        expect(await createFailure({})).to.match(/already exists.*not created by this resource.*adopt: true/s);
        expect(await readTap()).to.deep.equal(foreign);

        const adopted = await tapProvider.create!(inputsFor({ adopt: true }));
        expect((adopted.outs as TapOutputs).ifindex).to.equal(foreign!.ifindex);
        await tapProvider.delete!(adopted.id, adopted.outs);
        expect(await readTap()).to.equal(undefined);
    });

    it("refuses a bridge or a tun device named like the tap, even with adopt", async function () {
        const makers = [["ip", "link", "add", "tap_t", "type", "bridge"], ["ip", "tuntap", "add", "dev", "tap_t", "mode", "tun"]];
        for (const argv of makers) {
            await inNs(lab().host, argv);
            const foreign = await readTap();
            expect(await createFailure({ adopt: true }))
                .to.match(/already exists.* is a (bridge|tun), not a tap.*left untouched/s);
            expect(await readTap()).to.deep.equal(foreign);
            await inNs(lab().host, ["ip", "link", "del", "tap_t"]);
        }
    });

    it("fails clearly when its namespace does not exist", async function () {
        expect(await createFailure({ netns: lab().netnsName("missing") }))
            .to.match(/Tap tap_t: network namespace "exmissing-\w+" \(netns\) does not exist/);
    });
});
