// Issue 12: a program's hash map filled from the stack config (xdpMaps), through the real engine:
// change, remove and hand-edit entries; preview and refresh show each, up puts the config's back.
import { expect } from "chai";
import { mkdirSync, rmSync, writeFileSync } from "fs";
import * as path from "path";
import { parseMapDump } from "../../provider/bpf";
import { run } from "../../provider/runner";
import { projectRoot } from "../../lab/engine";
import { StackConfig, replaceStackConfig } from "../../lab/stack";
import { useLabStacks } from "../helpers/lab";

const program = `// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u16);
	__type(value, __u32);
} port_weights SEC(".maps");

SEC("xdp")
int xdp_weights(struct xdp_md *ctx)
{
	__u16 port = 0;

	return bpf_map_lookup_elem(&port_weights, &port) ? XDP_PASS : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
`;

describe("Map entries from config (engine, root tier)", function () {
    this.timeout(300000);
    const { lab, stack } = useLabStacks();
    let dir = "";
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("fills a hash map; a change, a removal and a hand edit show in preview/refresh, up restores the config's entries", async function () {
        dir = path.join(projectRoot, "bpf", "build", `fill-${lab().id}`);
        mkdirSync(dir, { recursive: true });
        const source = path.join(dir, "weights.c");
        writeFileSync(source, program);
        const s = await stack("fill", { xdpProgram: source });
        const withEntries = (entries: { key: number; value: number }[]) => replaceStackConfig(s.engine,
            { ...s.config, xdpMaps: [{ map: "port_weights", key: "be16", value: "u32", entries }] } as unknown as StackConfig);
        const mapId = async () => String((await s.outputs()).xdpMapIds.port_weights);
        const inKernel = async () => Object.fromEntries(parseMapDump((await run({ resource: "t" },
            ["bpftool", "-j", "map", "dump", "id", await mapId()])).stdout)
            .map((e): [number, number] => [e.key.readUInt16BE(0), e.values[0].readUInt32LE(0)]));
        const previewDiff = async () => (await s.engine.pulumi(["preview", "--diff"])).stdout;

        withEntries([{ key: 80, value: 1 }, { key: 443, value: 2 }]);
        await s.engine.pulumi(["up", "--yes"]);
        expect(await inKernel()).to.deep.equal({ 80: 1, 443: 2 });
        const progId = (await s.outputs()).xdpProgramId;

        withEntries([{ key: 80, value: 5 }, { key: 443, value: 2 }]);
        expect(await previewDiff(), "a changed value").to.match(/~\s*pulumi-nodejs:dynamic\/egressxdp:XdpAttachment/);
        await s.engine.pulumi(["up", "--yes"]);
        expect(await inKernel()).to.deep.equal({ 80: 5, 443: 2 });

        withEntries([{ key: 443, value: 2 }]);
        expect(await previewDiff(), "a removed entry").to.match(/~\s*pulumi-nodejs:dynamic\/egressxdp:XdpAttachment/);
        await s.engine.pulumi(["up", "--yes"]);
        expect(await inKernel()).to.deep.equal({ 443: 2 });
        expect((await s.outputs()).xdpProgramId, "entries change in place").to.equal(progId);
        await s.engine.pulumi(["preview", "--expect-no-changes"]);

        // By hand: 443's value changed and an entry added.
        await run({ resource: "t" }, ["bpftool", "map", "update", "id", await mapId(), "key", "hex", "01", "bb", "value", "hex", "09", "00", "00", "00"]);
        await run({ resource: "t" }, ["bpftool", "map", "update", "id", await mapId(), "key", "hex", "00", "16", "value", "hex", "01", "00", "00", "00"]);
        const refresh = (await s.engine.pulumi(["refresh", "--yes", "--diff"])).stdout;
        expect(refresh, "refresh records the hand edit").to.match(/~\s*pulumi-nodejs:dynamic\/egressxdp:XdpAttachment/);
        expect(await previewDiff(), "and the next up would undo it").to.match(/~\s*pulumi-nodejs:dynamic\/egressxdp:XdpAttachment/);
        await s.engine.pulumi(["up", "--yes"]);
        expect(await inKernel()).to.deep.equal({ 443: 2 });
        await s.engine.pulumi(["preview", "--expect-no-changes"]);
    });
});
