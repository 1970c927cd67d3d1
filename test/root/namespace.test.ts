import { expect } from "chai";
import * as fs from "fs";
import { readLink } from "../../provider/link";
import { NamespaceOutputs, checkNamespace, namespaceProvider } from "../../provider/namespace";
import { run } from "../../provider/runner";
import { expectDiffClasses } from "../helpers/diff-classes";
import { eventually, failureOf, useLab } from "../helpers/kernel-suite";
import { snapshotNetns } from "../helpers/snapshot";

describe("Namespace (kernel)", function () {
    const lab = useLab();
    const name = () => lab().netnsName("ns");
    const inputsFor = (extra: Record<string, unknown> = {}) => {
        const { inputs, failures } = checkNamespace({ name: name(), owner: "test/namespace", ...extra });
        expect(failures).to.deep.equal([]);
        return inputs;
    };
    const readLo = () => readLink({ resource: "t", netns: name() }, "lo");
    const addForeign = () => run({ resource: "t" }, ["ip", "netns", "add", name()]);

    it("creates, reads back identical outputs, updates in place, deletes idempotently", async function () {
        const created = await namespaceProvider.create!(inputsFor());
        const outs = created.outs as NamespaceOutputs;
        expect(created.id).to.equal(name());
        expect(outs).to.deep.equal({ ...inputsFor(), path: `/var/run/netns/${name()}`, loUp: true });
        expect(fs.existsSync(outs.path)).to.equal(true);
        expect(await readLo()).to.include({ up: true, alias: "egress-xdp:test/namespace" });

        expect(await namespaceProvider.read!(created.id, outs)).to.deep.equal({ id: created.id, props: outs });

        await expectDiffClasses(namespaceProvider, created.id, outs, inputsFor,
            { inPlace: { loUp: false }, replace: { name: lab().netnsName("other") } });

        const off = inputsFor({ loUp: false });
        const updated = (await namespaceProvider.update!(created.id, outs, off)).outs as NamespaceOutputs;
        expect(updated.loUp).to.equal(false);
        expect((await readLo())?.up).to.equal(false);

        await namespaceProvider.delete!(created.id, updated);
        expect(fs.existsSync(outs.path)).to.equal(false);
        expect(await namespaceProvider.read!(created.id, updated)).to.deep.equal({});
        await namespaceProvider.delete!(created.id, updated);
    });

    it("deletes what lives inside its namespace", async function () {
        const created = await namespaceProvider.create!(inputsFor());
        await run({ resource: "t" }, ["ip", "-n", lab().host, "link", "add", "veth_o", "type", "veth",
            "peer", "name", "veth_i", "netns", name()]);
        await namespaceProvider.delete!(created.id, created.outs);
        expect(await eventually(async () => !await readLink({ resource: "t", netns: lab().host }, "veth_o")),
            "the outer veth end went with the namespace").to.equal(true);
    });

    it("refuses a foreign namespace of the same name and leaves it intact, adopts it when asked", async function () {
        await addForeign();
        const foreign = await snapshotNetns(name());
        expect(await failureOf(namespaceProvider.create!(inputsFor())))
            .to.match(/already exists.*not created by this resource.*adopt: true/s);
        expect(await snapshotNetns(name()), "the foreign namespace exactly as it was").to.equal(foreign);

        const adopted = await namespaceProvider.create!(inputsFor({ adopt: true }));
        expect(await readLo()).to.include({ up: true, alias: "egress-xdp:test/namespace" });
        await namespaceProvider.delete!(adopted.id, adopted.outs);
        expect(fs.existsSync(`/var/run/netns/${name()}`)).to.equal(false);
    });

    it("recognises its own namespace left by an interrupted run", async function () {
        const first = await namespaceProvider.create!(inputsFor());
        const again = await namespaceProvider.create!(inputsFor());
        expect(again.outs).to.deep.equal(first.outs);
        await namespaceProvider.delete!(again.id, again.outs);
    });

    it("leaves a namespace alone on delete when it is no longer ours", async function () {
        const created = await namespaceProvider.create!(inputsFor());
        await run({ resource: "t" }, ["ip", "netns", "del", name()]);
        await addForeign();
        const foreign = await snapshotNetns(name());
        await namespaceProvider.delete!(created.id, created.outs);
        expect(await snapshotNetns(name()), "the foreign namespace exactly as it was").to.equal(foreign);
        await run({ resource: "t" }, ["ip", "netns", "del", name()]);
    });
});
