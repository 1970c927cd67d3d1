// The throwaway lab host itself (lab/host.ts): destroyLab removes what a test that failed midway left.
import { expect } from "chai";
import { existsSync } from "fs";
import { IpForwardingOutputs, checkIpForwarding, forwardingLedgerPath, ipForwardingProvider } from "../../provider/ip-forwarding";
import { Lab, createLab, destroyLab, labNamespaces } from "../helpers/lab";

describe("Lab host (kernel)", function () {
    it("destroyLab removes the lab's namespaces and the ledgers its resources left, and no other lab's", async function () {
        const labs: Lab[] = [await createLab(), await createLab()];
        try {
            const [failed, other] = labs;
            // Forwarding on each lab's uplink, as a stack's IpForwarding makes it: each leaves a ledger in /run/egress-xdp.
            const forward = async (lab: Lab) => {
                const { inputs, failures } = checkIpForwarding({ netns: lab.host, interfaces: [lab.uplink], owner: `test/lab-${lab.id}` });
                expect(failures).to.deep.equal([]);
                return ipForwardingProvider.create!(inputs);
            };
            await forward(failed);
            const kept = await forward(other);
            // Named while the namespaces exist (a ledger's name holds its namespace's inode).
            const failedLedger = forwardingLedgerPath(failed.host);
            const otherLedger = forwardingLedgerPath(other.host);
            expect(existsSync(failedLedger), "a ledger of the lab whose test fails").to.equal(true);
            expect(existsSync(otherLedger)).to.equal(true);

            // The first lab's "test" fails before its delete: only destroyLab runs.
            await destroyLab(failed);
            expect(await labNamespaces(failed), "its namespaces").to.deep.equal([]);
            expect(existsSync(failedLedger), "its ledger").to.equal(false);
            expect(existsSync(otherLedger), "the other lab's ledger stays").to.equal(true);

            await ipForwardingProvider.delete!(kept.id, kept.outs as IpForwardingOutputs);
            expect(existsSync(otherLedger), "deleted by its resource").to.equal(false);
        } finally {
            for (const lab of labs) await destroyLab(lab);
        }
    });
});
