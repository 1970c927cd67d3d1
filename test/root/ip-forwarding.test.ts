import { expect } from "chai";
import * as fs from "fs";
import {
    ForwardingLedger, IpForwardingOutputs, checkIpForwarding, forwardingLedgerPath, ipForwardingProvider,
} from "../../provider/ip-forwarding";
import { run } from "../../provider/runner";
import { expectDiffClasses } from "../helpers/diff-classes";
import { failureOf, useLab } from "../helpers/kernel-suite";
import { inNs } from "../helpers/lab";

describe("IpForwarding (kernel)", function () {
    const lab = useLab();
    const inputsFor = (extra: Record<string, unknown> = {}) => {
        const { inputs, failures } = checkIpForwarding({ netns: lab().host, owner: "test/fwd-a", ...extra });
        expect(failures).to.deep.equal([]);
        return inputs;
    };
    const forwarding = async (netns = lab().host) => (await inNs(netns, ["sysctl", "-n", "net.ipv4.ip_forward"])).stdout;
    const setForwarding = (value: string) => inNs(lab().host, ["sysctl", "-q", "-w", `net.ipv4.ip_forward=${value}`]);
    const ledger = (): ForwardingLedger | undefined => {
        const file = forwardingLedgerPath(lab().host);
        return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : undefined;
    };

    it("turns forwarding on, reads back identical outputs, updates in place, restores 0 on delete", async function () {
        expect(await forwarding()).to.equal("0");
        const created = await ipForwardingProvider.create!(inputsFor());
        const outs = created.outs as IpForwardingOutputs;
        expect(outs).to.deep.equal({ ...inputsFor(), enabled: true, previous: "0", current: "1" });
        expect(await forwarding()).to.equal("1");
        expect(ledger()).to.deep.equal({ original: "0", holders: { "test/fwd-a": "1" } });
        expect(await ipForwardingProvider.read!(created.id, outs)).to.deep.equal({ id: created.id, props: outs });

        await expectDiffClasses(ipForwardingProvider, created.id, outs, inputsFor,
            { inPlace: { enabled: false }, replace: { netns: lab().upstream } }, { deleteBeforeReplace: false });

        const off = inputsFor({ enabled: false });
        const updated = (await ipForwardingProvider.update!(created.id, outs, off)).outs as IpForwardingOutputs;
        expect(updated).to.include({ enabled: false, previous: "0", current: "0" });
        expect(await forwarding()).to.equal("0");

        await setForwarding("1");
        expect((await ipForwardingProvider.read!(created.id, updated)).props).to.include({ enabled: true, current: "1" });

        await ipForwardingProvider.delete!(created.id, updated);
        expect(await forwarding()).to.equal("0");
        expect(ledger()).to.equal(undefined);
        await ipForwardingProvider.delete!(created.id, updated);
        expect(await forwarding()).to.equal("0");
    });

    it("leaves forwarding on when it found it on", async function () {
        await setForwarding("1");
        const created = await ipForwardingProvider.create!(inputsFor());
        expect(created.outs).to.include({ previous: "1", current: "1" });
        await ipForwardingProvider.delete!(created.id, created.outs);
        expect(await forwarding()).to.equal("1");
        await setForwarding("0");
    });

    it("restores the original value only when the last of two holders in a namespace is deleted", async function () {
        const first = await ipForwardingProvider.create!(inputsFor());
        const second = await ipForwardingProvider.create!(inputsFor({ owner: "test/fwd-b" }));
        expect(second.outs).to.include({ previous: "1", current: "1" });

        await ipForwardingProvider.delete!(first.id, first.outs);
        expect(await forwarding()).to.equal("1");
        expect(ledger()).to.deep.equal({ original: "0", holders: { "test/fwd-b": "1" } });

        await ipForwardingProvider.delete!(second.id, second.outs);
        expect(await forwarding()).to.equal("0");
        expect(ledger()).to.equal(undefined);
    });

    it("refuses a second holder that wants another value and changes nothing", async function () {
        const first = await ipForwardingProvider.create!(inputsFor());
        expect(await failureOf(ipForwardingProvider.create!(inputsFor({ owner: "test/fwd-b", enabled: false }))))
            .to.match(/test\/fwd-a also manages net\.ipv4\.ip_forward.*wants it 1; nothing was changed/);
        expect(await forwarding()).to.equal("1");
        expect(ledger()).to.deep.equal({ original: "0", holders: { "test/fwd-a": "1" } });
        await ipForwardingProvider.delete!(first.id, first.outs);
        expect(await forwarding()).to.equal("0");
    });

    it("reads nothing once its namespace is gone, and its delete drops the namespace's ledger", async function () {
        const netns = lab().netnsName("fw");
        await run({ resource: "t" }, ["ip", "netns", "add", netns]);
        const created = await ipForwardingProvider.create!(inputsFor({ netns }));
        expect(await forwarding(netns)).to.equal("1");
        const file = forwardingLedgerPath(netns);
        await run({ resource: "t" }, ["ip", "netns", "del", netns]);
        expect(await ipForwardingProvider.read!(created.id, created.outs)).to.deep.equal({});
        expect(fs.existsSync(file)).to.equal(true);
        await ipForwardingProvider.delete!(created.id, created.outs);
        expect(fs.existsSync(file)).to.equal(false);
    });
});
