// Pure input checks shared by every resource's `check`. Each returns a reason string when the value
// is bad and undefined when it is good, so `check` can name the property and never run a command
// with bad input.

export interface CheckFailure {
    property: string;
    reason: string;
}

/** A kernel interface name: 1-15 bytes of [A-Za-z0-9_.-], not "." or "..". */
export function interfaceNameProblem(name: unknown): string | undefined {
    if (typeof name !== "string") return "must be a string";
    if (name.length < 1 || name.length > 15) return `must be 1-15 characters, got ${name.length}`;
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) return `"${name}" may only hold letters, digits, '_', '.' and '-'`;
    if (name === "." || name === "..") return `"${name}" is not a valid interface name`;
    return undefined;
}

/** A namespace name is a file name under /var/run/netns: no '/', no leading '.', short. */
/** A unicast MAC address as `ip -json` prints it, e.g. 02:5a:00:12:34:56. */
export function unicastMacProblem(mac: unknown): string | undefined {
    if (typeof mac !== "string" || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac)) {
        return `"${String(mac)}" is not a MAC address in lower case like 02:5a:00:12:34:56`;
    }
    return parseInt(mac.slice(0, 2), 16) & 1 ? "is a multicast address; a link needs a unicast one" : undefined;
}

/** An interface index as the kernel hands them out (ifindex > 0). */
export function ifindexProblem(ifindex: unknown): string | undefined {
    return typeof ifindex === "number" && Number.isInteger(ifindex) && ifindex > 0
        ? undefined : "must be an interface index (a whole number > 0)";
}

export function netnsNameProblem(name: unknown): string | undefined {
    if (typeof name !== "string") return "must be a string";
    if (name.length < 1 || name.length > 64) return `must be 1-64 characters, got ${name.length}`;
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) {
        return `"${name}" may only hold letters, digits, '_', '.' and '-', and may not start with '.' or '-'`;
    }
    return undefined;
}

/** Parses dotted-quad IPv4 without leading zeros (which some tools read as octal). */
export function parseIpv4(text: string): number | undefined {
    const parts = text.split(".");
    if (parts.length !== 4) return undefined;
    let value = 0;
    for (const part of parts) {
        if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return undefined;
        value = value * 256 + Number(part);
    }
    return value;
}

export function formatIpv4(value: number): string {
    return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** The 16-bit groups of one side of an IPv6 address's "::"; a dotted IPv4 tail only at the very end. */
function ipv6Groups(part: string, endsAddress: boolean): number[] | undefined {
    if (part === "") return [];
    const words = part.split(":");
    const groups: number[] = [];
    for (const [i, word] of words.entries()) {
        const ipv4 = endsAddress && i === words.length - 1 && word.includes(".") ? parseIpv4(word) : undefined;
        if (ipv4 !== undefined) groups.push(Math.floor(ipv4 / 65536), ipv4 % 65536);
        else if (/^[0-9a-fA-F]{1,4}$/.test(word)) groups.push(parseInt(word, 16));
        else return undefined;
    }
    return groups;
}

/** Parses IPv6 text (RFC 4291 forms: hex groups, one "::", an IPv4 tail); no zone index, no brackets. */
export function parseIpv6(text: string): bigint | undefined {
    const halves = text.split("::");
    if (halves.length > 2) return undefined;
    const head = ipv6Groups(halves[0], halves.length === 1);
    const tail = halves.length === 2 ? ipv6Groups(halves[1], true) : [];
    if (!head || !tail || head.length + tail.length > 8) return undefined;
    const missing = 8 - head.length - tail.length;
    if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
    return [...head, ...Array<number>(missing).fill(0), ...tail].reduce((value, group) => (value << 16n) | BigInt(group), 0n);
}

/** IPv6 as RFC 5952 writes it, as the kernel prints it: lower case, the longest run of 2+ zero groups as "::". */
export function formatIpv6(value: bigint): string {
    const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
    let best = { at: -1, length: 1 };
    for (let at = 0; at < 8; at++) {
        let length = 0;
        while (at + length < 8 && groups[at + length] === 0) length++;
        if (length > best.length) best = { at, length };
    }
    const hex = (list: number[]) => list.map((group) => group.toString(16)).join(":");
    return best.at < 0 ? hex(groups) : `${hex(groups.slice(0, best.at))}::${hex(groups.slice(best.at + best.length))}`;
}

export type IpFamily = 4 | 6;

/** An address of either family as a number. */
export interface IpAddress {
    family: IpFamily;
    value: bigint;
}

export interface IpCidr extends IpAddress {
    prefixLength: number;
}

const familyBits: Record<IpFamily, number> = { 4: 32, 6: 128 };

/** IPv6 is told apart by its ':'. */
export function familyOf(text: string): IpFamily {
    return text.includes(":") ? 6 : 4;
}

export function parseIp(text: string): IpAddress | undefined {
    if (familyOf(text) === 6) {
        const value = parseIpv6(text);
        return value === undefined ? undefined : { family: 6, value };
    }
    const value = parseIpv4(text);
    return value === undefined ? undefined : { family: 4, value: BigInt(value) };
}

export function formatIp(address: IpAddress): string {
    return address.family === 6 ? formatIpv6(address.value) : formatIpv4(Number(address.value));
}

/** Parses "ADDRESS/LENGTH" of either family; the length has no leading zeros and fits the family. */
export function parseIpCidr(text: string): IpCidr | undefined {
    const match = /^([^/]+)\/(0|[1-9][0-9]{0,2})$/.exec(text);
    const address = match ? parseIp(match[1]) : undefined;
    if (!match || !address || Number(match[2]) > familyBits[address.family]) return undefined;
    return { ...address, prefixLength: Number(match[2]) };
}

function hostBits(cidr: IpCidr): bigint {
    return BigInt(familyBits[cidr.family] - cidr.prefixLength);
}

/** The network part of an address (host bits cleared). */
export function networkOf(cidr: IpCidr): bigint {
    return (cidr.value >> hostBits(cidr)) << hostBits(cidr);
}

/** The subnet of an interface address, e.g. 10.0.0.0/24 for 10.0.0.1/24, fd00::/64 for fd00::1/64. */
export function subnetOf(text: string): string {
    const cidr = parseIpCidr(text)!;
    return `${formatIp({ family: cidr.family, value: networkOf(cidr) })}/${cidr.prefixLength}`;
}

/** How each family's messages show a good value. */
const familyText: Record<IpFamily, { name: string; host: string; prefix: string; maxHostPrefix: number }> = {
    4: { name: "IPv4", host: "10.0.0.1/24", prefix: "192.0.2.0/24", maxHostPrefix: 30 },
    6: { name: "IPv6", host: "fd00::1/64", prefix: "2001:db8::/32", maxHostPrefix: 127 },
};

/**
 * The kernel prints IPv6 in RFC 5952 form; an input written otherwise would never compare equal with
 * what is read back (a diff at every preview), so it must be written that way.
 */
function canonicalProblem(text: string, canonical: string): string | undefined {
    return canonical === text ? undefined : `write ${text} as ${canonical} (RFC 5952, the form the kernel prints)`;
}

const canonicalCidr = (cidr: IpCidr) => `${formatIp(cidr)}/${cidr.prefixLength}`;

function within(cidr: IpCidr, prefix: string): boolean {
    const range = parseIpCidr(prefix)!;
    return cidr.family === range.family && networkOf({ ...cidr, prefixLength: range.prefixLength }) === range.value;
}

/**
 * An interface address of one of `families`: prefix /8 up to /30 (IPv4: 31/32 leave no room for a
 * peer) or /127 (IPv6); host part not all zeros (nor, IPv4, all ones); IPv6 neither link-local (the
 * kernel makes those itself) nor multicast.
 */
function interfaceAddressProblemOf(text: unknown, families: IpFamily[]): string | undefined {
    const like = families.map((f) => familyText[f].host).join(" or ");
    if (typeof text !== "string") return `must be a string like ${like}`;
    const cidr = parseIpCidr(text);
    if (!cidr || !families.includes(cidr.family)) {
        return `"${text}" is not an ${families.map((f) => familyText[f].name).join(" or ")} address with a prefix length, like ${like}`;
    }
    const { maxHostPrefix } = familyText[cidr.family];
    if (cidr.prefixLength < 8 || cidr.prefixLength > maxHostPrefix) {
        return `prefix /${cidr.prefixLength} must be between /8 and /${maxHostPrefix}`;
    }
    const host = cidr.value - networkOf(cidr);
    if (host === 0n) return `${text} is the network address; use a host address`;
    if (cidr.family === 4) {
        return host === (1n << hostBits(cidr)) - 1n ? `${text} is the broadcast address; use a host address` : undefined;
    }
    if (within(cidr, "fe80::/10")) {
        return `${text} is link-local (fe80::/10), which the kernel assigns itself; use a ULA (fd00::/8) or global address`;
    }
    if (within(cidr, "ff00::/8")) return `${text} is a multicast address; use a ULA (fd00::/8) or global address`;
    return canonicalProblem(text, canonicalCidr(cidr));
}

/** An IPv4 interface address like 10.0.0.1/24. */
export function interfaceCidrProblem(text: unknown): string | undefined {
    return interfaceAddressProblemOf(text, [4]);
}

/** An IPv6 interface address like fd00::1/64. */
export function interfaceCidr6Problem(text: unknown): string | undefined {
    return interfaceAddressProblemOf(text, [6]);
}

/** An interface address of either family, e.g. an item of a link's address list. */
export function interfaceAddressProblem(text: unknown): string | undefined {
    return interfaceAddressProblemOf(text, [4, 6]);
}

/** A network prefix of one of `families` (host bits zero), for routes, NAT sources and drop lists. */
function networkPrefixProblemOf(text: unknown, families: IpFamily[]): string | undefined {
    const like = families.map((f) => familyText[f].prefix).join(" or ");
    if (typeof text !== "string") return `must be a string like ${like}`;
    const cidr = parseIpCidr(text);
    if (!cidr || !families.includes(cidr.family)) {
        return `"${text}" is not an ${families.map((f) => familyText[f].name).join(" or ")} prefix like ${like}`;
    }
    if (networkOf(cidr) !== cidr.value) return `${text} has host bits set; did you mean ${subnetOf(text)}?`;
    return cidr.family === 6 ? canonicalProblem(text, canonicalCidr(cidr)) : undefined;
}

/** An IPv4 network prefix like 192.0.2.0/24. */
export function networkCidrProblem(text: unknown): string | undefined {
    return networkPrefixProblemOf(text, [4]);
}

/** An IPv6 network prefix like 2001:db8::/32. */
export function networkCidr6Problem(text: unknown): string | undefined {
    return networkPrefixProblemOf(text, [6]);
}

/** A network prefix of either family, like 192.0.2.0/24 or 2001:db8::/32. */
export function networkPrefixProblem(text: unknown): string | undefined {
    return networkPrefixProblemOf(text, [4, 6]);
}

/** A bare address of either family (IPv6 in the form the kernel prints). */
export function ipAddressProblem(text: unknown): string | undefined {
    const address = typeof text === "string" ? parseIp(text) : undefined;
    if (!address) return `"${String(text)}" is not an IPv4 or IPv6 address`;
    return address.family === 6 ? canonicalProblem(text as string, formatIp(address)) : undefined;
}

/** Whether two interface addresses are of one family and in the same subnet (same prefix length). */
export function sameSubnet(a: string, b: string): boolean {
    const left = parseIpCidr(a);
    const right = parseIpCidr(b);
    return !!left && !!right && left.family === right.family && left.prefixLength === right.prefixLength &&
        networkOf(left) === networkOf(right);
}

/** Ethernet MTU range the kernel accepts for bridge, tap and veth. */
export function mtuProblem(mtu: unknown): string | undefined {
    if (typeof mtu !== "number" || !Number.isInteger(mtu)) return "must be a whole number";
    return mtu >= 68 && mtu <= 65535 ? undefined : `${mtu} is outside 68-65535`;
}

/** The XDP modes a user may ask for: native (driver), generic (skb), or auto (native, else generic). */
export const xdpModes = ["native", "generic", "auto"] as const;
export type XdpMode = (typeof xdpModes)[number];
/** The modes egress-xdp attaches programs in. */
export type AttachMode = Exclude<XdpMode, "auto">;

export function xdpModeProblem(mode: unknown): string | undefined {
    return xdpModes.includes(mode as XdpMode) ? undefined : `"${String(mode)}" must be one of ${xdpModes.join(", ")}`;
}

export function booleanProblem(value: unknown): string | undefined {
    return typeof value === "boolean" ? undefined : "must be true or false";
}

/** A pulumi unknown value during preview: checks skip it, the real value is checked at `up`. */
export function isUnknown(value: unknown): boolean {
    return value === "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
}

/**
 * Runs `problem` on inputs[property] when the value is present and known, collecting failures.
 * Required properties report a missing value.
 */
export function checkProperty(
    failures: CheckFailure[], inputs: Record<string, unknown>, property: string,
    problem: (value: never) => string | undefined, required = false,
): void {
    const value = inputs[property];
    if (value === undefined || value === null) {
        if (required) failures.push({ property, reason: "is required" });
        return;
    }
    if (isUnknown(value)) return;
    const reason = problem(value as never);
    if (reason) failures.push({ property, reason });
}

/**
 * Checks each item of the list inputs[property] with `problem`, naming failures `property[i]`.
 * A missing list is fine (it means empty); an unknown one is checked at `up`.
 */
export function checkListProperty(
    failures: CheckFailure[], inputs: Record<string, unknown>, property: string,
    problem: (value: never) => string | undefined,
): void {
    const list = inputs[property];
    if (list === undefined || list === null || isUnknown(list)) return;
    if (!Array.isArray(list)) {
        failures.push({ property, reason: "must be a list" });
        return;
    }
    list.forEach((item, i) => checkProperty(failures, { [`${property}[${i}]`]: item }, `${property}[${i}]`, problem, true));
}

/**
 * A list input as resources record it: sorted (order means nothing to the kernel), absent as empty.
 * An unknown list stays unknown, so diff still counts it as a change during preview.
 */
export function sortedListInput(value: unknown): string[] {
    return Array.isArray(value) ? [...value].sort() : (value ?? []) as string[];
}

/**
 * Two interfaces in one namespace need different names, e.g. the two ends of a veth pair. Unknown
 * values are checked at `up`; an absent namespace is the one `pulumi` runs in.
 */
export function interfaceNameClashProblem(
    name: unknown, netns: unknown, otherName: unknown, otherNetns: unknown,
): string | undefined {
    if ([name, netns, otherName, otherNetns].some(isUnknown)) return undefined;
    if (name !== otherName || netns !== otherNetns) return undefined;
    return `"${String(otherName)}" is also the other interface's name in the same namespace; pick a different name`;
}
