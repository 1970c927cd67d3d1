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

export interface Ipv4Cidr {
    address: string;
    prefixLength: number;
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

export function parseCidr(text: string): Ipv4Cidr | undefined {
    const match = /^([0-9.]+)\/([0-9]{1,2})$/.exec(text);
    if (!match || parseIpv4(match[1]) === undefined) return undefined;
    const prefixLength = Number(match[2]);
    return prefixLength <= 32 ? { address: match[1], prefixLength } : undefined;
}

/** The network part of an address, as a number. */
export function networkOf(cidr: Ipv4Cidr): number {
    const size = 2 ** (32 - cidr.prefixLength);
    return Math.floor(parseIpv4(cidr.address)! / size) * size;
}

/**
 * An interface address like 10.0.0.1/24: prefix 8-30 (31/32 leave no room for a peer), and the host
 * part neither the network nor the broadcast address.
 */
export function interfaceCidrProblem(text: unknown): string | undefined {
    if (typeof text !== "string") return "must be a string like 10.0.0.1/24";
    const cidr = parseCidr(text);
    if (!cidr) return `"${text}" is not an IPv4 address with a prefix length, like 10.0.0.1/24`;
    if (cidr.prefixLength < 8 || cidr.prefixLength > 30) return `prefix /${cidr.prefixLength} must be between /8 and /30`;
    const host = parseIpv4(cidr.address)! - networkOf(cidr);
    if (host === 0) return `${text} is the network address; use a host address`;
    if (host === 2 ** (32 - cidr.prefixLength) - 1) return `${text} is the broadcast address; use a host address`;
    return undefined;
}

/** A network prefix like 192.0.2.0/24 (host bits must be zero), for routes, NAT sources and drop lists. */
export function networkCidrProblem(text: unknown): string | undefined {
    if (typeof text !== "string") return "must be a string like 192.0.2.0/24";
    const cidr = parseCidr(text);
    if (!cidr) return `"${text}" is not an IPv4 prefix like 192.0.2.0/24`;
    if (networkOf(cidr) !== parseIpv4(cidr.address)) {
        return `${text} has host bits set; did you mean ${formatIpv4(networkOf(cidr))}/${cidr.prefixLength}?`;
    }
    return undefined;
}

export function ipv4Problem(text: unknown): string | undefined {
    return typeof text === "string" && parseIpv4(text) !== undefined ? undefined : `"${String(text)}" is not an IPv4 address`;
}

/** Whether two interface addresses are in the same subnet (by the first one's prefix). */
export function sameSubnet(a: string, b: string): boolean {
    const left = parseCidr(a);
    const right = parseCidr(b);
    return !!left && !!right && left.prefixLength === right.prefixLength && networkOf(left) === networkOf(right);
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
