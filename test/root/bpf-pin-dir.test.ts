import { expect } from "chai";
import * as fs from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { BpfPinDirInputs, BpfPinDirOutputs, bpfPinDirProperties, bpfPinDirProvider } from "../../provider/bpf-pin-dir";
import { run } from "../../provider/runner";
import { useLab } from "../helpers/kernel-suite";
import { bpffsMounts } from "../helpers/snapshot";

describe("BpfPinDir (kernel)", function () {
    const lab = useLab();
    // A root of the lab's own (the snapshots compare the machine's mounts and the temp directory).
    const rootOf = () => path.join(tmpdir(), `egress-xdp-bpffs-pins-${lab().id}`, "bpf");
    const inputsFor = (instance: string): BpfPinDirInputs => {
        const { inputs, failures } = bpfPinDirProperties.check({
            root: rootOf(), subdir: `egress-xdp/project/stack/${instance}`, owner: `test/pins-${instance}`,
        });
        expect(failures).to.deep.equal([]);
        return inputs as BpfPinDirInputs;
    };
    const mountsOnRoot = () => bpffsMounts().filter((mount) => mount.split(" ")[0] === rootOf()).length;
    const create = async (instance: string) => (await bpfPinDirProvider.create!(inputsFor(instance))).outs as BpfPinDirOutputs;
    const remove = (outs: BpfPinDirOutputs) => bpfPinDirProvider.delete!(outs.path, outs);

    for (const order of [["a", "b"], ["b", "a"], ["parallel"]]) {
        it(`mounts an unmounted root once for two instances made in parallel; the last one out (${order.join(", ")}) unmounts it and removes what was made`, async function () {
            const made = Object.fromEntries(await Promise.all(["a", "b"].map(async (i) => [i, await create(i)] as const)));
            expect(mountsOnRoot()).to.equal(1);
            expect(Object.values(made).filter((outs) => outs.mounted)).to.have.length(1);
            for (const outs of Object.values(made)) expect(fs.existsSync(outs.path)).to.equal(true);

            if (order[0] === "parallel") {
                await Promise.all(Object.values(made).map(remove));
            } else {
                await remove(made[order[0]]);
                // The other instance's pins stay reachable: the mount and its directory are still there.
                expect(mountsOnRoot()).to.equal(1);
                expect(fs.existsSync(made[order[1]].path)).to.equal(true);
                expect(fs.existsSync(made[order[0]].path)).to.equal(false);
                await remove(made[order[1]]);
            }
            expect(mountsOnRoot()).to.equal(0);
            expect(fs.existsSync(path.dirname(rootOf()))).to.equal(false);
        });
    }

    it("leaves a bpffs it found mounted, with nothing of its own in it, after two instances", async function () {
        fs.mkdirSync(rootOf(), { recursive: true });
        await run({ resource: "test bpffs" }, ["mount", "-t", "bpf", "bpf", rootOf()]);
        try {
            const a = await create("a");
            const b = await create("b");
            expect([a.mounted, b.mounted]).to.deep.equal([false, false]);
            await remove(a);
            expect(fs.existsSync(b.path)).to.equal(true);
            await remove(b);
            expect(mountsOnRoot()).to.equal(1);
            expect(fs.readdirSync(rootOf()).filter((entry) => !entry.endsWith(".debug"))).to.deep.equal([]);
        } finally {
            await run({ resource: "test bpffs" }, ["umount", rootOf()], { allowFailure: true });
            fs.rmSync(path.dirname(rootOf()), { recursive: true, force: true });
        }
    });
});
