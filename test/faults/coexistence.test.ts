// Issue 5, coexistence: a lab host set up like a Docker host (FORWARD policy DROP, ip_forward 0,
// Docker's chains, jumps and MASQUERADE). Our stack must pass traffic there, and after `destroy` the
// policy, the sysctl and every foreign rule must be exactly as before.
import { expect } from "chai";
import { useFigures } from "../helpers/figures";
import { inNs, removeTestTable, useLabStacks } from "../helpers/lab";
import { normalizeIptablesSave, normalizeNftRuleset } from "../helpers/snapshot";

/** What Docker writes into iptables (trimmed), as table and arguments; the chains come first. */
const dockerLike: [string, string[]][] = [
    ["filter", ["-N", "DOCKER"]],
    ["filter", ["-N", "DOCKER-ISOLATION-STAGE-1"]],
    ["filter", ["-N", "DOCKER-ISOLATION-STAGE-2"]],
    ["filter", ["-N", "DOCKER-USER"]],
    ["filter", ["-A", "FORWARD", "-j", "DOCKER-USER"]],
    ["filter", ["-A", "FORWARD", "-j", "DOCKER-ISOLATION-STAGE-1"]],
    ["filter", ["-A", "FORWARD", "-o", "docker0", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"]],
    ["filter", ["-A", "FORWARD", "-o", "docker0", "-j", "DOCKER"]],
    ["filter", ["-A", "FORWARD", "-i", "docker0", "!", "-o", "docker0", "-j", "ACCEPT"]],
    ["filter", ["-A", "FORWARD", "-i", "docker0", "-o", "docker0", "-j", "ACCEPT"]],
    ["filter", ["-A", "DOCKER-ISOLATION-STAGE-1", "-i", "docker0", "!", "-o", "docker0", "-j", "DOCKER-ISOLATION-STAGE-2"]],
    ["filter", ["-A", "DOCKER-ISOLATION-STAGE-1", "-j", "RETURN"]],
    ["filter", ["-A", "DOCKER-ISOLATION-STAGE-2", "-o", "docker0", "-j", "DROP"]],
    ["filter", ["-A", "DOCKER-ISOLATION-STAGE-2", "-j", "RETURN"]],
    ["filter", ["-A", "DOCKER-USER", "-j", "RETURN"]],
    ["nat", ["-N", "DOCKER"]],
    ["nat", ["-A", "PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "DOCKER"]],
    ["nat", ["-A", "OUTPUT", "!", "-d", "127.0.0.0/8", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "DOCKER"]],
    ["nat", ["-A", "POSTROUTING", "-s", "172.17.0.0/16", "!", "-o", "docker0", "-j", "MASQUERADE"]],
    ["nat", ["-A", "DOCKER", "-i", "docker0", "-j", "RETURN"]],
];

/** The command that undoes one Docker-like command: rules are deleted before their chains. */
function undo([table, [verb, ...rest]]: [string, string[]]): [string, string[]] {
    return [table, [verb === "-N" ? "-X" : "-D", ...rest]];
}

describe("Coexistence: a Docker-like host keeps its policy, sysctl and rules (faults)", function () {
    this.timeout(180000);
    const { lab, stack } = useLabStacks();
    const measured = useFigures("coexistence", "left as found");
    const iptables = (table: string, args: string[]) => inNs(lab().host, ["iptables", "-w", "-t", table, ...args]);
    const hostState = async () => ({
        iptables: normalizeIptablesSave((await inNs(lab().host, ["iptables-save"])).stdout),
        nft: normalizeNftRuleset((await inNs(lab().host, ["nft", "list", "ruleset"])).stdout),
        ipForward: (await inNs(lab().host, ["sysctl", "-n", "net.ipv4.ip_forward"])).stdout,
    });

    it("FORWARD policy DROP, ip_forward 0 and Docker's rules: traffic flows, destroy restores all of it exactly", async function () {
        await measured("Docker-like host", async (notes) => {
            for (const [table, args] of dockerLike) await iptables(table, args);
            await iptables("filter", ["-P", "FORWARD", "DROP"]);
            await inNs(lab().host, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=0"]);
            const before = await hostState();

            const s = await stack("docker");
            await s.engine.pulumi(["up", "--yes", "--skip-preview"]);
            expect(await s.ping(lab().serverAddress), "traffic through FORWARD DROP").to.equal(true);
            const during = await hostState();
            notes.ipForwardDuringUp = during.ipForward;
            expect(during.iptables, "the policy stays DROP").to.match(/^:FORWARD DROP/m);
            await s.engine.pulumi(["destroy", "--yes"]);
            expect(await hostState(), "after destroy").to.deep.equal(before);

            await iptables("filter", ["-P", "FORWARD", "ACCEPT"]);
            for (const [table, args] of [...dockerLike].reverse().map(undo)) await iptables(table, args);
            for (const table of ["nat", "filter"]) await removeTestTable(lab().host, table); // made by the setup
        });
    });
});
