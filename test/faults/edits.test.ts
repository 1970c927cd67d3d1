// Issue 15, the edit matrix: every stack config key changed on a live stack. For each edit, preview
// must plan what the README's edit table says (update in place or replace), `up` must converge, the
// traffic must behave as the new value says at once after `up`, preview must then be empty, and the
// kernel must hold nothing of the old value (names, addresses, NAT sources, map entries, attachments).
// One stack per group, several edits in a row.
import { expect } from "chai";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import * as path from "path";
import { run } from "../../provider/runner";
import { PlannedOp, expectKernelState, expectPlan, expectTraffic, plannedOps, wantedOf } from "../helpers/converge";
import { projectRoot } from "../../lab/engine";
import { useFigures } from "../helpers/figures";
import { Lab, createLab, destroyLab, inNs, labNamespaces, useLabStacks } from "../helpers/lab";
import { expectSameSnapshot, snapshotAll, snapshotNetns } from "../helpers/snapshot";
import { LabStack, StackConfig } from "../../lab/stack";

const without = (config: StackConfig, ...keys: string[]): StackConfig =>
    Object.fromEntries(Object.entries(config).filter(([key]) => !keys.includes(key)));

interface Edit {
    /** The key and its change, e.g. "bridge br_1 -> br_n"; the figure's case name. */
    name: string;
    /** Runs before the edit, e.g. to give the lab host what the new value needs (a second uplink). */
    before?(): Promise<void>;
    /** The config after the edit, from the config before it. */
    config(before: StackConfig): StackConfig;
    /** What preview must plan (README, "What an edit does"). */
    plan: Record<string, PlannedOp>;
    /** Whether the program after the edit has a drop-list; default: as before. */
    dropList?: boolean;
    /** Whether the FORWARD accept rules exist after the edit; default: as before. */
    forwardAccept?: boolean;
    /** Where TCP to the server goes and the address it must arrive from (the uplink's); default: as before. */
    path?: { upstream: string; uplinkAddress: string };
    /** Runs after the stack converged and its traffic and kernel state were checked. */
    verify?(s: LabStack): Promise<void>;
}

/** What the stack's traffic and state depend on besides its config. */
interface EditState {
    dropList: boolean;
    forwardAccept: boolean;
    path: { upstream: string; uplinkAddress: string };
}

describe("Edit matrix: every config key edited on a live stack converges in one up (faults)", function () {
    this.timeout(900000);
    const { lab, stack } = useLabStacks();
    const measured = useFigures("editMatrix", "converged");

    /** Brings the stack up, then applies each edit as one measured case. */
    async function runEdits(s: LabStack, start: Omit<EditState, "path">, edits: Edit[]): Promise<void> {
        await s.engine.pulumi(["up", "--yes", "--skip-preview"]);
        let state: EditState = { ...start, path: { upstream: lab().upstream, uplinkAddress: lab().uplinkAddress } };
        for (const edit of edits) {
            await measured(edit.name, async (notes) => {
                await edit.before?.();
                s.edit(edit.config(s.config));
                state = {
                    dropList: edit.dropList ?? state.dropList, forwardAccept: edit.forwardAccept ?? state.forwardAccept,
                    path: edit.path ?? state.path,
                };
                const ops = await plannedOps(s);
                notes.plan = ops;
                expectPlan(ops, edit.plan, edit.name);
                await s.engine.pulumi(["up", "--yes", "--skip-preview"]);
                const want = wantedOf(s.config, state);
                // At once after up: no wait for neighbour entries or routes to come back.
                await expectTraffic(lab(), s, want, state.path.uplinkAddress, state.path.upstream);
                await s.engine.pulumi(["preview", "--expect-no-changes"]);
                await expectKernelState(lab(), s, want);
                await edit.verify?.(s);
            });
        }
    }

    it("names: bridge, tap, vethOuter, vethInner and namespace renamed one after another", async function () {
        const s = await stack("names");
        await runEdits(s, { dropList: false, forwardAccept: false }, [
            {
                name: "bridge br_1 -> br_n", config: (c) => ({ ...c, bridge: "br_n" }),
                plan: { bridge: "replace", "nat-bridge": "replace", tap: "update", veth: "update" },
            },
            { name: "tap tap_1 -> tap_n", config: (c) => ({ ...c, tap: "tap_n" }), plan: { tap: "replace" } },
            { name: "vethOuter veth_1a -> vo_n", config: (c) => ({ ...c, vethOuter: "vo_n" }), plan: { veth: "replace", xdp: "replace" } },
            {
                name: "vethInner veth_1b -> vi_n", config: (c) => ({ ...c, vethInner: "vi_n" }),
                plan: { veth: "replace", "default-route": "update", xdp: "update" },
            },
            {
                name: "namespace -> another", config: (c) => ({ ...c, namespace: lab().netnsName("inew") }),
                plan: { namespace: "replace", veth: "replace", "default-route": "replace", xdp: "update" },
            },
        ]);
    });

    it("addresses, forwardAccept, sendDev and hostNetns, edited one after another", async function () {
        const s = await stack("addr", { forwardAccept: "always" });
        const freshHost = await snapshotNetns(lab().host);
        let second: Lab | undefined;
        let secondFresh: Record<string, string> = {};
        try {
            await runEdits(s, { dropList: false, forwardAccept: true }, [
                {
                    name: "innerAddress 10.0.0.2/24 -> 10.0.0.3/24", config: (c) => ({ ...c, innerAddress: "10.0.0.3/24" }),
                    plan: { veth: "update", "default-route": "update" },
                },
                {
                    name: "outerAddress and innerAddress -> subnet 10.7.0.0/24",
                    config: (c) => ({ ...c, outerAddress: "10.7.0.1/24", innerAddress: "10.7.0.2/24" }),
                    plan: { bridge: "update", veth: "update", "default-route": "update", "nat-uplink": "replace" },
                },
                {
                    name: "forwardAccept always -> never", config: (c) => ({ ...c, forwardAccept: "never" }),
                    plan: { "forward-accept": "delete" }, forwardAccept: false,
                },
                {
                    name: "forwardAccept never -> always", config: (c) => ({ ...c, forwardAccept: "always" }),
                    plan: { "forward-accept": "create" }, forwardAccept: true,
                },
                {
                    // The lab host's default route moves to a second uplink first.
                    name: "sendDev uplink0 -> uplink1", before: () => addSecondUplink(lab()),
                    config: (c) => ({ ...c, sendDev: "uplink1" }), plan: { "nat-uplink": "replace" },
                    path: { upstream: lab().upstream, uplinkAddress: "198.18.1.1" },
                },
                {
                    name: "hostNetns -> another lab host",
                    before: async () => {
                        second = await createLab();
                        secondFresh = await snapshotAll(await labNamespaces(second), second.id);
                    },
                    config: (c) => ({ ...c, hostNetns: second!.host, sendDev: second!.uplink }),
                    plan: {
                        bridge: "replace", tap: "replace", veth: "replace", "ip-forward": "replace", "forward-accept": "replace",
                        "nat-bridge": "replace", "nat-uplink": "replace", xdp: "replace",
                    },
                    get path() {
                        return { upstream: second!.upstream, uplinkAddress: second!.uplinkAddress };
                    },
                    verify: async () => {
                        await removeSecondUplink(lab());
                        expect(await snapshotNetns(lab().host), "the old host as it was made").to.equal(freshHost);
                    },
                },
            ]);
            await s.engine.pulumi(["destroy", "--yes"]);
            expectSameSnapshot(await snapshotAll(await labNamespaces(second!), second!.id), secondFresh!, "the second host after destroy");
        } finally {
            if (second) await destroyLab(second);
            await removeSecondUplink(lab());
        }
    });

    it("programs and modes: native and generic back and forth, with and without a drop-list, prefixes added and removed", async function () {
        const dir = path.join(projectRoot, "bpf", "build", `edits-${lab().id}`);
        mkdirSync(dir, { recursive: true });
        const altSection = path.join(dir, "xdp_alt.c");
        try {
            copyFileSync(path.join(projectRoot, "bpf", "xdp_stats.c"), altSection);
            writeFileSync(altSection, readFileSync(altSection, "utf8").replace('SEC("xdp")', 'SEC("xdp_alt")'));
            const s = await stack("prog");
            let kept = 0;
            let progId = 0;
            await runEdits(s, { dropList: false, forwardAccept: false }, [
                { name: "xdpMode generic -> native", config: (c) => ({ ...c, xdpMode: "native" }), plan: { xdp: "update" } },
                {
                    name: "xdpProgram xdp_stats -> xdp_droplist with dropPrefixes [198.19.1.0/24]",
                    config: (c) => ({ ...c, xdpProgram: "bpf/xdp_droplist.c", dropPrefixes: ["198.19.1.0/24"] }),
                    plan: { "xdp-build": "replace", xdp: "update" }, dropList: true,
                    verify: async () => {
                        kept = (await s.counters()).dropsByPrefix!["198.19.1.0/24"];
                        progId = (await s.outputs()).xdpProgramId;
                        expect(kept, "drops counted for the prefix").to.be.at.least(2);
                    },
                },
                {
                    name: "dropPrefixes + 198.19.2.0/24 (counters of the kept prefix stay)",
                    config: (c) => ({ ...c, dropPrefixes: ["198.19.1.0/24", "198.19.2.0/24"] }), plan: { xdp: "update" },
                    verify: async () => {
                        expect((await s.outputs()).xdpProgramId, "the same program, updated in place").to.equal(progId);
                        expect((await s.counters()).dropsByPrefix!["198.19.1.0/24"], "not reset").to.be.at.least(kept + 2);
                    },
                },
                {
                    name: "drop_prefixes entries changed by hand: refresh shows it, up restores them",
                    before: async () => {
                        const mapId = String((await s.outputs()).xdpMapIds.drop_prefixes);
                        const host = { resource: "t", netns: lab().host };
                        // 198.19.3.0/24 added, 198.19.2.0/24 removed behind the stack's back.
                        await run(host, ["bpftool", "map", "update", "id", mapId, "key", "hex", "18", "00", "00", "00", "c6", "13", "03", "00",
                            "value", "hex", ...Array(8).fill("00")]);
                        await run(host, ["bpftool", "map", "delete", "id", mapId, "key", "hex", "18", "00", "00", "00", "c6", "13", "02", "00"]);
                        const refresh = await s.engine.pulumi(["refresh", "--yes", "--expect-no-changes"], { allowFailure: true });
                        expect(refresh.exitCode, "refresh reports the hand-made change").to.not.equal(0);
                        await s.engine.pulumi(["refresh", "--yes"]);
                    },
                    config: (c) => c, plan: { xdp: "update" },
                },
                {
                    name: "dropPrefixes removed: the map is emptied, the former prefix passes",
                    config: (c) => without(c, "dropPrefixes"), plan: { xdp: "update" },
                    verify: async () => {
                        const mapId = String((await s.outputs()).xdpMapIds.drop_prefixes);
                        const dump = await run({ resource: "t", netns: lab().host }, ["bpftool", "-j", "map", "dump", "id", mapId]);
                        expect(JSON.parse(dump.stdout), "bpftool map dump of drop_prefixes").to.deep.equal([]);
                    },
                },
                { name: "xdpMode native -> generic (drop-list program)", config: (c) => ({ ...c, xdpMode: "generic" }), plan: { xdp: "update" } },
                {
                    name: "xdpProgram xdp_droplist -> default xdp_stats (no drop-list)", config: (c) => without(c, "xdpProgram"),
                    plan: { "xdp-build": "replace", xdp: "update" }, dropList: false,
                },
                {
                    name: "xdpSection xdp -> xdp_alt (a program with that section)",
                    config: (c) => ({ ...c, xdpProgram: altSection, xdpSection: "xdp_alt" }), plan: { "xdp-build": "replace", xdp: "update" },
                },
                { name: "xdpMode generic -> native (xdp_alt)", config: (c) => ({ ...c, xdpMode: "native" }), plan: { xdp: "update" } },
            ]);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});

/** A second uplink (uplink1 198.18.1.1/24 to the upstream's 198.18.1.2), carrying the lab host's default route. */
async function addSecondUplink(lab: Lab): Promise<void> {
    await inNs(lab.host, ["ip", "link", "add", "uplink1", "type", "veth", "peer", "name", "down1", "netns", lab.upstream]);
    await inNs(lab.host, ["ip", "addr", "add", "198.18.1.1/24", "dev", "uplink1"]);
    await inNs(lab.host, ["ip", "link", "set", "uplink1", "up"]);
    await inNs(lab.upstream, ["ip", "addr", "add", "198.18.1.2/24", "dev", "down1"]);
    await inNs(lab.upstream, ["ip", "link", "set", "down1", "up"]);
    await inNs(lab.host, ["ip", "route", "replace", "default", "via", "198.18.1.2", "dev", "uplink1"]);
}

/** Undoes addSecondUplink (nothing to do when it is gone already). */
async function removeSecondUplink(lab: Lab): Promise<void> {
    if ((await inNs(lab.host, ["ip", "link", "show", "uplink1"], { allowFailure: true })).exitCode !== 0) return;
    await inNs(lab.host, ["ip", "route", "replace", "default", "via", "198.18.0.2", "dev", "uplink0"]);
    await inNs(lab.host, ["ip", "link", "del", "uplink1"]);
}
