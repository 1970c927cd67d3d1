import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import {
    attachModes, cidrOfLpmKey, clangArgv, hexArgs, lpmKey, parseMapDump, parseMapInfo, parseProgInfo, prefixDrops,
    readBpfObject, resolveSection, statsCounters, verdictCounters, xdpAttachArgv,
} from "../../provider/bpf";
import { run } from "../../provider/runner";
import { checkXdpAttachment } from "../../provider/xdp-attachment";
import { BuiltObjects, buildBpfObjects } from "../helpers/bpf-build";

// Trimmed from real `bpftool -j map dump id N` output on this kernel (2 CPUs).
const u64 = (n: number) => [n, 0, 0, 0, 0, 0, 0, 0].map((b) => `0x${b.toString(16).padStart(2, "0")}`);
const key32 = (n: number) => u64(n).slice(0, 4);
const percpuStatsDump = JSON.stringify([
    {
        key: key32(2), values: [{ cpu: 0, value: [...u64(1), ...u64(98)] }, { cpu: 1, value: [...u64(5), ...u64(234)] }],
        formatted: { key: 2, values: [{ cpu: 0, value: { packets: 1, bytes: 98 } }, { cpu: 1, value: { packets: 5 } }] },
    },
    { key: key32(4), values: [{ cpu: 0, value: [...u64(0), ...u64(0)] }, { cpu: 1, value: [...u64(3), ...u64(210)] }] },
]);
const lpmDump = JSON.stringify([
    { key: ["0x20", "0x00", "0x00", "0x00", "0x0a", "0x00", "0x00", "0x01"], value: u64(5),
        formatted: { key: { prefixlen: 32, addr: 16777226 }, value: 5 } },
    { key: ["0x18", "0x00", "0x00", "0x00", "0xc6", "0x33", "0x64", "0x00"], value: u64(0) },
]);

describe("bpf helpers (pure)", function () {
    it("builds the clang argv with the multiarch include directory", function () {
        expect(clangArgv("bpf/xdp_stats.c", "/tmp/x.o", "x64")).to.deep.equal([
            "clang", "-O2", "-g", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu", "-c", "bpf/xdp_stats.c", "-o", "/tmp/x.o",
        ]);
        expect(() => clangArgv("a.c", "a.o", "mips")).to.throw(/mips/);
    });

    it("sums per-CPU counters of xdp_stats's map by protocol", function () {
        const counters = statsCounters(parseMapDump(percpuStatsDump));
        expect(counters.icmp).to.deep.equal({ packets: 6, bytes: 332 });
        expect(counters.ipv6Other).to.deep.equal({ packets: 3, bytes: 210 });
        expect(counters.tcp).to.deep.equal({ packets: 0, bytes: 0 });
    });

    it("reads drop-list keys and counters, and round-trips LPM keys", function () {
        expect(prefixDrops(parseMapDump(lpmDump))).to.deep.equal({ "10.0.0.1/32": 5, "198.51.100.0/24": 0 });
        expect(hexArgs(lpmKey("198.51.100.0/24"))).to.deep.equal(["18", "00", "00", "00", "c6", "33", "64", "00"]);
        expect(cidrOfLpmKey(lpmKey("0.0.0.0/0"))).to.equal("0.0.0.0/0");
        // struct ipv6_lpm_key: prefix length in host order, then the 16 address bytes in network order.
        expect(hexArgs(lpmKey("2001:db8:0:3::/64"))).to.deep.equal(
            ["40", "00", "00", "00", "20", "01", "0d", "b8", "00", "00", "00", "03", ...Array(8).fill("00")]);
        for (const cidr of ["2001:db8:0:3::/64", "::/0", "fd00::1/128"]) expect(cidrOfLpmKey(lpmKey(cidr))).to.equal(cidr);
        const verdicts = parseMapDump(JSON.stringify([
            { key: key32(0), values: [{ cpu: 0, value: u64(7) }, { cpu: 1, value: u64(1) }] },
            { key: key32(1), values: [{ cpu: 0, value: u64(0) }, { cpu: 1, value: u64(2) }] },
        ]));
        expect(verdictCounters(verdicts)).to.deep.equal({ passed: 8, dropped: 2 });
        expect(parseMapDump("")).to.deep.equal([]);
    });

    it("parses bpftool prog and map info", function () {
        expect(parseProgInfo('{"id":111,"type":"xdp","name":"xdp_droplist","tag":"1924b6803e53f1e8","map_ids":[29,28]}'))
            .to.deep.equal({ id: 111, name: "xdp_droplist", tag: "1924b6803e53f1e8", mapIds: [29, 28] });
        expect(parseMapInfo('{"id":29,"type":"lpm_trie","name":"drop_prefixes","flags":1,"bytes_key":8,"bytes_value":8}'))
            .to.deep.equal({ id: 29, name: "drop_prefixes", type: "lpm_trie", keySize: 8, valueSize: 8 });
    });

    it("keeps a replacement in the current mode and lets auto fall back only on a free interface", function () {
        expect(attachModes("auto", undefined)).to.deep.equal(["native", "generic"]);
        expect(attachModes("auto", "generic")).to.deep.equal(["generic"]);
        expect(attachModes("native", "generic")).to.deep.equal(["native"]);
        const argv = xdpAttachArgv({
            dev: "v0", mode: "generic", objectPath: "/o.o", section: "xdp", replace: true, bpffsDir: "/d",
        });
        expect(argv).to.deep.equal(["unshare", "--mount", "--propagation", "private", "env", "TC_BPF_MNT=/d",
            "ip", "-force", "link", "set", "dev", "v0", "xdpgeneric", "obj", "/o.o", "sec", "xdp"]);
    });
});

describe("BPF objects (built with clang)", function () {
    let built: BuiltObjects;
    before(async function () {
        built = await buildBpfObjects(["xdp_stats", "xdp_droplist"]);
        // A program pair sharing a section, plus a .text subprogram, to test what check refuses.
        const source = path.join(built.dir, "two.c");
        fs.writeFileSync(source, [
            "#include <linux/bpf.h>", "#include <bpf/bpf_helpers.h>",
            "static __attribute__((noinline)) int helper(int x) { return x ? XDP_PASS : XDP_DROP; }",
            'SEC("xdp") int first(struct xdp_md *ctx) { return helper(ctx->ingress_ifindex); }',
            'SEC("xdp") int second(struct xdp_md *ctx) { return XDP_PASS; }',
            'char LICENSE[] SEC("license") = "GPL";',
        ].join("\n"));
        await run({ resource: "build two" }, clangArgv(source, built.path("two")));
    });
    after(() => built?.remove());

    it("reads sections, programs and maps from the ELF file", function () {
        const stats = readBpfObject(fs.readFileSync(built.path("xdp_stats")));
        expect(stats.sections).to.include.members(["xdp", ".maps", "license", ".BTF"]);
        expect(stats.programs).to.deep.equal([{ name: "xdp_stats", section: "xdp" }]);
        expect(stats.maps).to.deep.equal(["stats"]);
        const droplist = readBpfObject(fs.readFileSync(built.path("xdp_droplist")));
        expect(droplist.programs).to.deep.equal([{ name: "xdp_droplist", section: "xdp" }]);
        expect(droplist.maps).to.have.members(["drop_prefixes", "drop_prefixes6", "verdicts"]);
        const two = readBpfObject(fs.readFileSync(built.path("two")));
        expect(two.programs.map((p) => p.name)).to.have.members(["first", "second"]);
        expect(() => readBpfObject(Buffer.from("not an elf file at all"))).to.throw(/not an ELF/);
        expect(() => readBpfObject(fs.readFileSync(process.execPath).subarray(0, 4096))).to.throw(/not BPF/);
    });

    it("resolves the section to attach from section and/or program", function () {
        const stats = readBpfObject(fs.readFileSync(built.path("xdp_stats")));
        expect(resolveSection(stats, "xdp", undefined)).to.deep.equal({ section: "xdp" });
        expect(resolveSection(stats, undefined, "xdp_stats")).to.deep.equal({ section: "xdp" });
        expect(resolveSection(stats, "tc", undefined)).to.have.property("problem").match(/no program in section tc.*xdp_stats/);
        expect(resolveSection(stats, undefined, "nope")).to.have.property("problem").match(/no program nope/);
        const two = readBpfObject(fs.readFileSync(built.path("two")));
        expect(resolveSection(two, undefined, "first")).to.have.property("problem")
            .match(/holds 2 programs.*section of its own/);
    });

    it("check hashes the object, defaults mode to auto, and names each bad property", function () {
        const good = checkXdpAttachment({
            interface: "veth_1a", objectPath: built.path("xdp_droplist"), program: "xdp_droplist",
            maps: [{ map: "drop_prefixes", key: "lpm4", entries: [{ key: "198.51.100.0/24" }, { key: "10.0.0.1/32" }, { key: "10.0.0.1/32" }] }],
            owner: "o",
        });
        expect(good.failures).to.deep.equal([]);
        expect(good.inputs).to.deep.include({ section: "xdp", mode: "auto" });
        expect(good.inputs.objectHash).to.match(/^[0-9a-f]{64}$/);
        // One entry per key, in the order of the key bytes (the prefix length comes first).
        expect(good.inputs.maps).to.deep.equal([{ map: "drop_prefixes", key: "lpm4", entries: [{ key: "198.51.100.0/24" }, { key: "10.0.0.1/32" }] }]);
        const dual = checkXdpAttachment({
            interface: "veth_1a", objectPath: built.path("xdp_droplist"), program: "xdp_droplist", owner: "o",
            maps: [{ map: "drop_prefixes", key: "lpm4", entries: [{ key: "198.51.100.0/24" }] },
                { map: "drop_prefixes6", key: "lpm6", entries: [{ key: "2001:db8:0:3::/64" }] }],
        });
        expect(dual.failures).to.deep.equal([]);
        expect(dual.inputs.maps?.[1]).to.deep.equal({ map: "drop_prefixes6", key: "lpm6", entries: [{ key: "2001:db8:0:3::/64" }] });

        const bad = checkXdpAttachment({
            interface: "way-too-long-name0", objectPath: built.path("xdp_stats"), section: "xdp", mode: "fast",
            maps: [{ map: "drop_prefixes", key: "lpm4", entries: [{ key: "10.0.0.1/24" }] }], owner: "o",
        });
        expect(bad.failures.map((f) => f.property)).to.have.members(["interface", "mode", "maps[0]"]);
        const noSuchMap = checkXdpAttachment({
            interface: "v0", objectPath: built.path("xdp_stats"), section: "xdp", owner: "o",
            maps: [{ map: "drop_prefixes", key: "lpm4", entries: [{ key: "192.0.2.0/24" }] }],
        });
        expect(noSuchMap.failures.map((f) => `${f.property}: ${f.reason}`)).to.deep.equal([
            `maps[0]: ${built.path("xdp_stats")} has no map drop_prefixes; its maps: stats`]);
        const emptyFill = { ...noSuchMap.inputs, maps: [{ map: "drop_prefixes", key: "lpm4", entries: [] }] };
        expect(checkXdpAttachment(emptyFill).failures, "an empty fill asks nothing of the program").to.deep.equal([]);
        const missing = checkXdpAttachment({ interface: "v0", objectPath: path.join(built.dir, "absent.o"), owner: "o" });
        expect(missing.failures.map((f) => `${f.property}: ${f.reason}`)).to.have.members([
            "section: section or program is required", `objectPath: cannot be read (ENOENT: no such file or directory, open '${
                path.join(built.dir, "absent.o")}'); build the object first`]);
    });

    it("check skips unknown values (preview) and leaves the hash unknown", function () {
        const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
        const { inputs, failures } = checkXdpAttachment({
            interface: unknown, objectPath: unknown, section: "xdp", owner: "o",
        });
        expect(failures).to.deep.equal([]);
        expect(inputs.objectHash).to.equal(unknown);
    });
});
