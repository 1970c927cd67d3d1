// Pure helpers for the XDP programs in bpf/: the clang build line, a reader of a BPF object's
// sections, programs and maps, the iproute2 attach line, and parsers of `bpftool -j` output
// (program and map info, map dumps with per-CPU values summed, drop-list keys).
import { AttachMode, IpFamily, XdpMode, formatIp, parseIpCidr } from "./validate";

// Debian multiarch include directories (for <asm/types.h>), by Node's process.arch.
const multiarchByNodeArch: Record<string, string> = {
    x64: "x86_64-linux-gnu", arm64: "aarch64-linux-gnu", arm: "arm-linux-gnueabihf", riscv64: "riscv64-linux-gnu",
};

/** The clang argv that compiles one bpf/*.c program into a BPF object with BTF. */
export function clangArgv(source: string, output: string, nodeArch: string = process.arch): string[] {
    const multiarch = multiarchByNodeArch[nodeArch];
    if (!multiarch) throw new Error(`no Debian multiarch directory known for architecture ${nodeArch}`);
    return ["clang", "-O2", "-g", "-target", "bpf", `-I/usr/include/${multiarch}`, "-c", source, "-o", output];
}

/** What a BPF object file offers: its section names, programs (by section) and BTF-defined maps. */
export interface BpfObjectInfo {
    sections: string[];
    programs: { name: string; section: string }[];
    maps: string[];
}

const EM_BPF = 247;
const SHT_SYMTAB = 2;
const SHF_EXECINSTR = 0x4;
const STT_OBJECT = 1;
const STT_FUNC = 2;

function cString(buf: Buffer, offset: number): string {
    const end = buf.indexOf(0, offset);
    return buf.toString("latin1", offset, end < 0 ? buf.length : end);
}

/** Reads a little-endian ELF64 BPF object (what clang -target bpf makes on x86 and arm64); throws when it is not one. */
export function readBpfObject(buf: Buffer): BpfObjectInfo {
    if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw new Error("is not an ELF file");
    if (buf[4] !== 2 || buf[5] !== 1) throw new Error("is not a little-endian 64-bit ELF file");
    if (buf.readUInt16LE(18) !== EM_BPF) {
        throw new Error("is an ELF file for another machine, not BPF (build it with clang -target bpf)");
    }
    const sectionTableOffset = Number(buf.readBigUInt64LE(0x28));
    const entrySize = buf.readUInt16LE(0x3a);
    const count = buf.readUInt16LE(0x3c);
    if (entrySize < 64 || sectionTableOffset + count * entrySize > buf.length) throw new Error("is a truncated ELF file");
    const headers = Array.from({ length: count }, (_, i) => {
        const at = sectionTableOffset + i * entrySize;
        return {
            nameOffset: buf.readUInt32LE(at), type: buf.readUInt32LE(at + 4), flags: Number(buf.readBigUInt64LE(at + 8)),
            offset: Number(buf.readBigUInt64LE(at + 24)), size: Number(buf.readBigUInt64LE(at + 32)),
            link: buf.readUInt32LE(at + 40),
        };
    });
    const names = headers[buf.readUInt16LE(0x3e)];
    if (!names || names.offset + names.size > buf.length) throw new Error("is a truncated ELF file");
    const sections = headers.map((h) => cString(buf, names.offset + h.nameOffset));

    const programs: BpfObjectInfo["programs"] = [];
    const maps: string[] = [];
    const symtab = headers.find((h) => h.type === SHT_SYMTAB);
    const strtab = symtab && headers[symtab.link];
    if (symtab && strtab && symtab.offset + symtab.size <= buf.length) {
        for (let at = symtab.offset; at + 24 <= symtab.offset + symtab.size; at += 24) {
            const type = buf[at + 4] & 0xf;
            const section = buf.readUInt16LE(at + 6);
            if (section === 0 || section >= count) continue;
            const name = cString(buf, strtab.offset + buf.readUInt32LE(at));
            // Functions in .text are subprograms called by programs, not programs of their own.
            if (type === STT_FUNC && headers[section].flags & SHF_EXECINSTR && sections[section] !== ".text") {
                programs.push({ name, section: sections[section] });
            }
            if (type === STT_OBJECT && sections[section] === ".maps") maps.push(name);
        }
    }
    return { sections, programs, maps };
}

/**
 * The section iproute2 should attach (it attaches by section, taking the section's first program),
 * from the inputs `section` and/or `program`; or the reason the object cannot serve them.
 */
export function resolveSection(info: BpfObjectInfo, section: string | undefined, program: string | undefined):
    { section: string } | { problem: string } {
    const available = info.programs.map((p) => `${p.name} (section ${p.section})`).join(", ") || "none";
    const byName = program === undefined ? undefined : info.programs.find((p) => p.name === program);
    if (program !== undefined && !byName) return { problem: `has no program ${program}; its programs: ${available}` };
    const wanted = section ?? byName!.section;
    if (byName && byName.section !== wanted) {
        return { problem: `program ${program} is in section ${byName.section}, not ${wanted}` };
    }
    const inSection = info.programs.filter((p) => p.section === wanted);
    if (inSection.length === 0) return { problem: `has no program in section ${wanted}; its programs: ${available}` };
    if (inSection.length > 1) {
        const names = inSection.map((p) => p.name).join(", ");
        return { problem: `section ${wanted} holds ${inSection.length} programs (${names}); ` +
            "iproute2 attaches by section, so give each program a section of its own" };
    }
    return { section: wanted };
}

/** The kernel keeps 15 characters of a program's or map's name. */
export function kernelObjectName(name: string): string {
    return name.slice(0, 15);
}

/**
 * The modes to try, in order. A replacement stays in the current mode, because only a same-mode
 * replacement is atomic (the kernel refuses native and generic programs side by side); "auto" on a
 * free interface tries native first and falls back to generic.
 */
export function attachModes(mode: XdpMode, current: AttachMode | undefined): AttachMode[] {
    if (mode !== "auto") return [mode];
    return current ? [current] : ["native", "generic"];
}

/**
 * The argv that loads `section` of an object and attaches it. `replace` (ip -force) swaps out the
 * program attached in the same mode in one step; without it the kernel refuses to overwrite one.
 * iproute2 pins the maps declared with LIBBPF_PIN_BY_NAME below TC_BPF_MNT (in tc/globals), reusing
 * pins it finds there, and mounts a bpffs there when it is none. `pinned`: bpffsDir is a directory in a
 * mounted bpffs that keeps the pins (see provider/bpf-pin-dir.ts); otherwise a private mount namespace
 * makes iproute2's mount a throwaway that vanishes with the command, so nothing is left anywhere.
 */
export function xdpAttachArgv(options: {
    dev: string; mode: AttachMode; objectPath: string; section: string; replace: boolean; bpffsDir: string; pinned?: boolean;
}): string[] {
    return [
        ...(options.pinned ? [] : ["unshare", "--mount", "--propagation", "private"]), "env", `TC_BPF_MNT=${options.bpffsDir}`,
        "ip", ...(options.replace ? ["-force"] : []), "link", "set", "dev", options.dev,
        options.mode === "native" ? "xdpdrv" : "xdpgeneric", "obj", options.objectPath, "sec", options.section,
    ];
}

export function xdpDetachArgv(dev: string, mode: AttachMode): string[] {
    return ["ip", "link", "set", "dev", dev, mode === "native" ? "xdpdrv" : "xdpgeneric", "off"];
}

export interface ProgInfo {
    id: number;
    name: string;
    tag: string;
    mapIds: number[];
}

/** Parses `bpftool -j prog show id N`. */
export function parseProgInfo(json: string): ProgInfo {
    const raw = JSON.parse(json) as { id: number; name?: string; tag?: string; map_ids?: number[] };
    return { id: raw.id, name: raw.name ?? "", tag: raw.tag ?? "", mapIds: raw.map_ids ?? [] };
}

export interface MapInfo {
    id: number;
    name: string;
    type: string;
    keySize: number;
    valueSize: number;
}

/** Parses `bpftool -j map show id N`. */
export function parseMapInfo(json: string): MapInfo {
    const raw = JSON.parse(json) as { id: number; name?: string; type?: string; bytes_key?: number; bytes_value?: number };
    return {
        id: raw.id, name: raw.name ?? "", type: raw.type ?? "", keySize: raw.bytes_key ?? 0, valueSize: raw.bytes_value ?? 0,
    };
}

/** One map entry: its key bytes and its value bytes (one value per CPU for per-CPU maps). */
export interface MapEntry {
    key: Buffer;
    values: Buffer[];
}

const hexBytes = (bytes: string[]): Buffer => Buffer.from(bytes.map((b) => parseInt(b, 16)));

/** Parses `bpftool -j map dump id N` (raw hex bytes; the BTF-formatted copy is not needed). */
export function parseMapDump(json: string): MapEntry[] {
    const raw = JSON.parse(json.trim() || "[]") as { key: string[]; value?: string[]; values?: { value: string[] }[] }[];
    return raw.map((entry) => ({
        key: hexBytes(entry.key),
        values: entry.values ? entry.values.map((v) => hexBytes(v.value)) : [hexBytes(entry.value ?? [])],
    }));
}

/** An entry's value read as host-order (little-endian) u64 counters, summed over CPUs. */
export function summedCounters(entry: MapEntry): number[] {
    const sums: number[] = [];
    for (const value of entry.values) {
        for (let at = 0; at + 8 <= value.length; at += 8) {
            sums[at / 8] = (sums[at / 8] ?? 0) + Number(value.readBigUInt64LE(at));
        }
    }
    return sums;
}

function countersBySlot<T extends string>(entries: MapEntry[], slots: readonly T[]): Record<T, number[]> {
    const result = Object.fromEntries(slots.map((slot) => [slot, [] as number[]])) as Record<T, number[]>;
    for (const entry of entries) {
        const slot = slots[entry.key.readUInt32LE(0)];
        if (slot !== undefined) result[slot] = summedCounters(entry);
    }
    return result;
}

/**
 * The keys of xdp_stats.c's `stats` map (enum stats_slot), in order: IPv4 per protocol, IPv6 other than
 * TCP/UDP/ICMPv6 (or behind extension headers), non-IP, then IPv6 per protocol (appended, so the first
 * six keep their numbers).
 */
export const statsProtocols = ["tcp", "udp", "icmp", "ipv4Other", "ipv6Other", "other", "tcp6", "udp6", "icmp6"] as const;
export type StatsProtocol = (typeof statsProtocols)[number];

/** xdp_stats.c's per-protocol counters, from a dump of its `stats` map. */
export function statsCounters(entries: MapEntry[]): Record<StatsProtocol, { packets: number; bytes: number }> {
    const bySlot = countersBySlot(entries, statsProtocols);
    return Object.fromEntries(statsProtocols.map((p) => [p, { packets: bySlot[p][0] ?? 0, bytes: bySlot[p][1] ?? 0 }])) as
        Record<StatsProtocol, { packets: number; bytes: number }>;
}

/** The keys of xdp_droplist.c's `verdicts` map (enum verdict_slot), in order. */
export const verdictSlots = ["passed", "dropped"] as const;

/** xdp_droplist.c's packet totals, from a dump of its `verdicts` map. */
export function verdictCounters(entries: MapEntry[]): { passed: number; dropped: number } {
    const bySlot = countersBySlot(entries, verdictSlots);
    return { passed: bySlot.passed[0] ?? 0, dropped: bySlot.dropped[0] ?? 0 };
}

/** The keys of bpf/isn.h's counter maps (enum isn_slot), in order. */
export const isnCounterSlots = ["tcpSegments", "newFlows", "rewritten", "fullChecksum", "partialChecksum"] as const;
export type IsnSlot = (typeof isnCounterSlots)[number];

/** xdp_isn_egress.c's or xdp_isn_ingress.c's counters, from a dump of its isn_*_counters map. */
export function isnCounters(entries: MapEntry[]): Record<IsnSlot, number> {
    const bySlot = countersBySlot(entries, isnCounterSlots);
    return Object.fromEntries(isnCounterSlots.map((slot) => [slot, bySlot[slot][0] ?? 0])) as Record<IsnSlot, number>;
}

/** Address bytes of each family's LPM trie key (struct ipv4_lpm_key, struct ipv6_lpm_key in xdp_droplist.c). */
const lpmAddressBytes: Record<IpFamily, number> = { 4: 4, 6: 16 };

/** The key size of the LPM trie map that holds a family's prefixes. */
export function lpmKeySize(family: IpFamily): number {
    return 4 + lpmAddressBytes[family];
}

/** The bytes of an LPM trie key: prefix length in host order, then the address in network order. */
export function lpmKey(cidr: string): Buffer {
    const parsed = parseIpCidr(cidr);
    if (!parsed) throw new Error(`"${cidr}" is not an IPv4 or IPv6 prefix`);
    const bytes = lpmAddressBytes[parsed.family];
    const key = Buffer.alloc(4 + bytes);
    key.writeUInt32LE(parsed.prefixLength, 0);
    for (let i = 0; i < bytes; i++) key[4 + i] = Number((parsed.value >> BigInt(8 * (bytes - 1 - i))) & 0xffn);
    return key;
}

export function cidrOfLpmKey(key: Buffer): string {
    const family: IpFamily = key.length === lpmKeySize(6) ? 6 : 4;
    const value = [...key.subarray(4)].reduce((sum, byte) => (sum << 8n) | BigInt(byte), 0n);
    return `${formatIp({ family, value })}/${key.readUInt32LE(0)}`;
}

/** Bytes as bpftool's `hex` arguments. */
export function hexArgs(bytes: Buffer): string[] {
    return [...bytes].map((b) => b.toString(16).padStart(2, "0"));
}

/** Per-prefix drop counters, from a dump of xdp_droplist.c's `drop_prefixes` map. */
export function prefixDrops(entries: MapEntry[]): Record<string, number> {
    return Object.fromEntries(entries.map((entry) => [cidrOfLpmKey(entry.key), summedCounters(entry)[0] ?? 0]));
}
