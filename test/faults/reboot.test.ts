// Issue 15: a reboot, and the iptables tables destroy must leave as it found them.
// Reboot: a stack is up, then everything of its lab goes as at a reboot (every namespace deleted, the
// lab's own made afresh, egress-xdp's files under /run for those namespaces gone); the README's
// one-command recovery (`pulumi up --refresh --yes`) must converge, traffic must flow, preview be
// empty, and destroy leave the lab as the reboot left it.
// Tables: on a host namespace without any iptables table, up and destroy leave `iptables-save` and
// `nft list ruleset` byte-identical; with a foreign rule in nat (Docker-like) that table and the rule
// stay byte-identical.
import { expect } from "chai";
import { rmSync } from "fs";
import { expectKernelState, expectTraffic, wantedOf } from "../helpers/converge";
import { useFigures } from "../helpers/figures";
import { eventually } from "../helpers/kernel-suite";
import { Lab, createLab, destroyLab, inNs, labNamespaces, removeTestTable, useLabStacks } from "../helpers/lab";
import { bpffsMounts, expectSameSnapshot, snapshotAll } from "../helpers/snapshot";
import { labRunStateFiles } from "../../lab/host";
import { LabStack, StackConfig, newLabStack } from "../../lab/stack";
import { run } from "../../provider/runner";

/**
 * What a reboot does to a lab: every namespace and kernel object gone, the lab's own made as fresh, its
 * /run files gone (destroyLab removes both), its stacks' bpffs (lab/stack.ts) unmounted and the mount
 * point, under the temp directory that boot empties, gone.
 */
async function reboot(lab: Lab): Promise<void> {
    await destroyLab(lab);
    expect(await eventually(async () => (await labNamespaces(lab)).length === 0), "the lab's namespaces gone").to.equal(true);
    expect(labRunStateFiles(lab), "the lab's /run files gone").to.deep.equal([]);
    for (const mountPoint of bpffsMounts().map((mount) => mount.split(" ")[0]).filter((point) => point.includes(`-${lab.id}`))) {
        await run({ resource: `reboot of lab ${lab.id}` }, ["umount", mountPoint]);
        rmSync(mountPoint, { recursive: true });
    }
    await createLab(lab.id);
}

describe("Reboot: one command brings a stack back (faults)", function () {
    this.timeout(300000);
    const measured = useFigures("reboot", "recovered");

    const variants: { name: string; config: StackConfig }[] = [
        { name: "drop-list stack with FORWARD rules", config: { xdpProgram: "bpf/xdp_droplist.c", dropPrefixes: ["198.19.1.0/24"], forwardAccept: "always" } },
        { name: "default stack", config: {} },
    ];
    for (const variant of variants) {
        it(`${variant.name}: up, reboot, \`pulumi up --refresh --yes\`, traffic, empty preview, destroy leaves the rebooted lab`, async function () {
            // Its own lab, not useLab's: a rebooted lab is made afresh, with new random MACs on its uplink.
            const lab = await createLab();
            let s: LabStack | undefined;
            try {
                s = await newLabStack(lab, "reboot", variant.config);
                await s.engine.pulumi(["up", "--yes", "--skip-preview"]);
                const want = wantedOf(s.config, { dropList: "dropPrefixes" in variant.config, forwardAccept: "forwardAccept" in variant.config });
                await measured(`reboot: ${variant.name}`, async (notes) => {
                    await reboot(lab);
                    const rebooted = await snapshotAll(await labNamespaces(lab), lab.id);
                    const recovery = await s!.engine.pulumi(["up", "--refresh", "--yes"]);
                    notes.recovery = recovery.stdout.split("\n").filter((line) => /^\s+[+~-]+ +\d+ /.test(line)).map((l) => l.trim());
                    await expectTraffic(lab, s!, want, lab.uplinkAddress);
                    await s!.engine.pulumi(["preview", "--expect-no-changes"]);
                    await expectKernelState(lab, s!, want);
                    await s!.engine.pulumi(["destroy", "--yes"]);
                    expectSameSnapshot(await snapshotAll(await labNamespaces(lab), lab.id), rebooted, "the lab after destroy, as the reboot left it");
                    expect(labRunStateFiles(lab), "egress-xdp's files for the lab").to.deep.equal([]);
                });
            } finally {
                await s?.dispose();
                await destroyLab(lab);
            }
        });
    }
});

describe("Tables: destroy removes the iptables tables egress-xdp made, and only those (faults)", function () {
    this.timeout(300000);
    const { lab, stack } = useLabStacks();
    const measured = useFigures("tables", "restored");
    const raw = async () => ({
        iptablesSave: (await inNs(lab().host, ["iptables-save"])).stdout,
        nftRuleset: (await inNs(lab().host, ["nft", "list", "ruleset"])).stdout,
    });

    it("a host namespace without any table: up makes nat and filter, destroy leaves iptables-save and nft byte-identical", async function () {
        await measured("no table before: nat and filter removed again", async (notes) => {
            const before = await raw();
            notes.before = before;
            const s = await stack("tables", { forwardAccept: "always" });
            await s.engine.pulumi(["up", "--yes", "--skip-preview"]);
            const during = await raw();
            expect(during.nftRuleset, "up made both tables").to.match(/table ip nat \{/).and.match(/table ip filter \{/);
            await s.engine.pulumi(["destroy", "--yes"]);
            expect(await raw(), "after destroy").to.deep.equal(before);
        });
    });

    it("a Docker-like MASQUERADE in nat: the table and the rule stay byte-identical, the filter table egress-xdp made goes", async function () {
        await measured("foreign rule in nat: nat kept as it was, filter removed", async () => {
            const nat = (verb: string) => inNs(lab().host,
                ["iptables", "-w", "-t", "nat", verb, "POSTROUTING", "-s", "172.17.0.0/16", "!", "-o", "docker0", "-j", "MASQUERADE"]);
            await nat("-A");
            const natTable = async () => ({
                save: (await inNs(lab().host, ["iptables-save", "-t", "nat"])).stdout.split("\n").filter((l) => !l.startsWith("#")).join("\n"),
                nft: (await inNs(lab().host, ["nft", "list", "table", "ip", "nat"])).stdout,
            });
            const before = await natTable();
            const s = await stack("docker", { forwardAccept: "always" });
            await s.engine.pulumi(["up", "--yes", "--skip-preview"]);
            await s.engine.pulumi(["destroy", "--yes"]);
            expect(await natTable(), "nat after destroy").to.deep.equal(before);
            expect((await raw()).nftRuleset, "no filter table left").to.not.match(/table ip filter/);
            await nat("-D");
            await removeTestTable(lab().host, "nat");
        });
    });
});
