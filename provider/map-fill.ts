// Map entries from config, for any hash, array or LPM-trie map of a program: a small declared layout
// turns each entry's key and value (JSON from the stack config) into the map's bytes and back, so the
// provider can write them, read them back and show drift. The drop-list's prefixes are one user:
// { map: "drop_prefixes", key: "lpm4", entries: [{ key: "198.19.1.0/24" }] }, and its IPv6 twin
// { map: "drop_prefixes6", key: "lpm6", ... }.
import { cidrOfLpmKey, lpmKey, lpmKeySize } from "./bpf";
import { formatIpv4, isUnknown, networkCidr6Problem, networkCidrProblem, parseIpv4 } from "./validate";

/**
 * Field types: unsigned integers in host (little-endian) order, be16/be32 in network order, ipv4 (an
 * address, network order) and lpm4/lpm6 (an IPv4/IPv6 CIDR as an LPM trie key: prefix length in host
 * order, then the address in network order, like struct ipv4_lpm_key/ipv6_lpm_key in bpf/xdp_droplist.c).
 */
const fieldSizes = { u8: 1, u16: 2, u32: 4, u64: 8, be16: 2, be32: 4, ipv4: 4, lpm4: lpmKeySize(4), lpm6: lpmKeySize(6) } as const;

/** The check of each LPM key type's CIDRs (one family each). */
const lpmProblems: Partial<Record<FieldType, (value: unknown) => string | undefined>> = {
    lpm4: networkCidrProblem, lpm6: networkCidr6Problem,
};
export type FieldType = keyof typeof fieldSizes;

/** A layout: one type ("u32"), or named fields in order ("addr:ipv4,port:be16"); values are then objects. */
export interface Layout {
    fields: { name?: string; type: FieldType }[];
    size: number;
}

export type EntryValue = string | number | Record<string, string | number>;

export interface MapEntrySpec {
    key: EntryValue;
    value?: EntryValue;
}

/**
 * The entries a map should hold. Without a value layout the program owns the values (e.g. counters):
 * new entries start at zero, and existing values are kept and never compared.
 */
export interface MapFill {
    map: string;
    key: string;
    value?: string;
    entries: MapEntrySpec[];
}

export function parseLayout(text: string): Layout | string {
    const parts = text.split(",").map((part) => part.trim());
    const named = parts.length > 1 || parts[0].includes(":");
    const fields: Layout["fields"] = [];
    for (const part of parts) {
        const [name, type] = named ? part.split(":") : [undefined, part];
        if (named && (type === undefined || !/^[A-Za-z_]\w*$/.test(name ?? ""))) return `"${part}" is not NAME:TYPE`;
        if (!(type in fieldSizes)) return `"${type}" is not one of ${Object.keys(fieldSizes).join(", ")}`;
        fields.push({ name, type: type as FieldType });
    }
    return { fields, size: fields.reduce((sum, f) => sum + fieldSizes[f.type], 0) };
}

function encodeField(type: FieldType, value: unknown, out: Buffer, at: number): string | undefined {
    const lpmProblem = lpmProblems[type];
    if (lpmProblem) {
        const problem = lpmProblem(value);
        if (problem) return problem;
        lpmKey(value as string).copy(out, at);
        return undefined;
    }
    if (type === "ipv4") {
        const address = typeof value === "string" ? parseIpv4(value) : undefined;
        if (address === undefined) return `"${String(value)}" is not an IPv4 address`;
        out.writeUInt32BE(address, at);
        return undefined;
    }
    const number = typeof value === "string" && /^\d+$/.test(value) ? BigInt(value) : typeof value === "number" && Number.isInteger(value) ? BigInt(value) : undefined;
    const bits = BigInt(fieldSizes[type] * 8);
    if (number === undefined || number < 0n || number >= 1n << bits) return `"${String(value)}" is not a ${type}`;
    if (type === "u8") out.writeUInt8(Number(number), at);
    else if (type === "u16") out.writeUInt16LE(Number(number), at);
    else if (type === "be16") out.writeUInt16BE(Number(number), at);
    else if (type === "u32") out.writeUInt32LE(Number(number), at);
    else if (type === "be32") out.writeUInt32BE(Number(number), at);
    else out.writeBigUInt64LE(number, at);
    return undefined;
}

/** The bytes of a key or value, or the reason it does not fit the layout. */
export function encodeEntry(layout: Layout, value: unknown): Buffer | string {
    const out = Buffer.alloc(layout.size);
    let at = 0;
    for (const field of layout.fields) {
        const part = field.name === undefined ? value
            : typeof value === "object" && value !== null ? (value as Record<string, unknown>)[field.name] : undefined;
        const problem = encodeField(field.type, part, out, at);
        if (problem) return field.name === undefined ? problem : `${field.name}: ${problem}`;
        at += fieldSizes[field.type];
    }
    return out;
}

function decodeField(type: FieldType, bytes: Buffer, at: number): string | number {
    switch (type) {
        case "ipv4": return formatIpv4(bytes.readUInt32BE(at));
        case "lpm4": case "lpm6": return cidrOfLpmKey(bytes.subarray(at, at + fieldSizes[type]));
        case "u8": return bytes.readUInt8(at);
        case "u16": return bytes.readUInt16LE(at);
        case "be16": return bytes.readUInt16BE(at);
        case "u32": return bytes.readUInt32LE(at);
        case "be32": return bytes.readUInt32BE(at);
        case "u64": {
            const value = bytes.readBigUInt64LE(at);
            return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
        }
    }
}

/** A key or value as the config writes it, from the map's bytes. */
export function decodeEntry(layout: Layout, bytes: Buffer): EntryValue {
    const values: [string | undefined, string | number][] = [];
    let at = 0;
    for (const field of layout.fields) {
        values.push([field.name, decodeField(field.type, bytes, at)]);
        at += fieldSizes[field.type];
    }
    return values[0][0] === undefined ? values[0][1] : Object.fromEntries(values) as Record<string, string | number>;
}

/** Entries in canonical form (as read back from bytes), one per key, sorted by key bytes. */
function canonicalEntries(keyLayout: Layout, valueLayout: Layout | undefined, encoded: { key: Buffer; value?: Buffer }[]):
    MapEntrySpec[] {
    const byKey = new Map(encoded.map((e) => [e.key.toString("hex"), e]));
    return [...byKey.keys()].sort().map((hex) => {
        const entry = byKey.get(hex)!;
        const key = decodeEntry(keyLayout, entry.key);
        return valueLayout && entry.value ? { key, value: decodeEntry(valueLayout, entry.value) } : { key };
    });
}

/** Checks a `maps` input; returns it in canonical form (so diff compares like with like) and the problems. */
export function checkMapFills(value: unknown): { fills?: MapFill[]; problems: { property: string; reason: string }[] } {
    const problems: { property: string; reason: string }[] = [];
    if (value === undefined || value === null) return { problems };
    if (isUnknown(value)) return { fills: value as never, problems };
    if (!Array.isArray(value)) return { problems: [{ property: "maps", reason: 'must be a list like [{ map, key: "u32", value: "u64", entries }]' }] };
    const fills = value.map((raw: Record<string, unknown>, i): MapFill | undefined => {
        const where = `maps[${i}]`;
        const problem = (reason: string) => { problems.push({ property: where, reason }); return undefined; };
        if (typeof raw !== "object" || raw === null || typeof raw.map !== "string" || !/^[A-Za-z_]\w{0,63}$/.test(raw.map)) {
            return problem("needs `map`, the name of one of the program's maps");
        }
        const keyLayout = typeof raw.key === "string" ? parseLayout(raw.key) : "is required";
        if (typeof keyLayout === "string") return problem(`key layout ${keyLayout}`);
        const valueLayout = raw.value === undefined ? undefined : typeof raw.value === "string" ? parseLayout(raw.value) : "must be a layout";
        if (typeof valueLayout === "string") return problem(`value layout ${valueLayout}`);
        if (!Array.isArray(raw.entries)) return problem("needs `entries`, a list of { key, value }");
        const encoded: { key: Buffer; value?: Buffer }[] = [];
        for (const [j, entry] of (raw.entries as MapEntrySpec[]).entries()) {
            const key = encodeEntry(keyLayout, entry?.key);
            if (typeof key === "string") return problem(`entries[${j}].key ${key}`);
            const bytes = valueLayout ? encodeEntry(valueLayout, entry.value) : undefined;
            if (typeof bytes === "string") return problem(`entries[${j}].value ${bytes}`);
            encoded.push({ key, value: bytes });
        }
        const fill: MapFill = { map: raw.map, key: raw.key as string, entries: canonicalEntries(keyLayout, valueLayout, encoded) };
        return valueLayout ? { ...fill, value: raw.value as string } : fill;
    });
    const names = fills.filter((f): f is MapFill => f !== undefined).map((f) => f.map);
    names.forEach((name, i) => {
        if (names.indexOf(name) !== i) problems.push({ property: "maps", reason: `map ${name} is listed twice` });
    });
    return { fills: problems.length > 0 ? undefined : fills as MapFill[], problems };
}

/** The layouts of a checked fill. */
export function layoutsOf(fill: MapFill): { key: Layout; value?: Layout } {
    return { key: parseLayout(fill.key) as Layout, value: fill.value === undefined ? undefined : parseLayout(fill.value) as Layout };
}

/** What a fill's map holds, in the fill's form, from its entries' bytes. */
export function observedFill(fill: MapFill, entries: { key: Buffer; values: Buffer[] }[]): MapFill {
    const layouts = layoutsOf(fill);
    return { ...fill, entries: canonicalEntries(layouts.key, layouts.value, entries.map((e) => ({ key: e.key, value: e.values[0] }))) };
}
