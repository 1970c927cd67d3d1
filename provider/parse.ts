// Pure parsers of `ip -json` and `iptables -S` output, kept apart from I/O so they are unit-tested.
import { AttachMode, parseIpCidr } from "./validate";

/** What the resources need to know about one link, from `ip -json -details link/addr show`. */
export interface LinkState {
    ifname: string;
    ifindex: number;
    mac: string;
    mtu: number;
    /** The administrative UP flag (operstate can be DOWN on an up tap with no reader). */
    up: boolean;
    /** The bridge this link is a port of, if any. */
    master?: string;
    /** bridge, veth, tun, ... ("" for a plain device). */
    kind: string;
    /** The ifalias, where resources keep their ownership mark. */
    alias?: string;
    /** For a veth: the peer's ifindex (ip prints it only for a peer in another namespace), and whether it is there. */
    peerIfindex?: number;
    peerInOtherNetns: boolean;
    /** For a veth whose peer is in the same namespace: the peer's name (ip prints it instead of the ifindex). */
    peerName?: string;
    /**
     * IPv4 and IPv6 addresses as CIDRs, e.g. 10.0.0.1/24, fd00::1/64; without IPv6 link-local ones
     * (fe80::/10), which the kernel makes and removes itself, so they are never part of a managed set.
     */
    addresses: string[];
    xdp?: XdpState;
}

/** The XDP program attached to a link, as `ip -json link` reports it. */
export interface XdpState {
    /** Ours are native or generic; the kernel also reports offload (on the NIC) and multi (several at once). */
    mode: AttachMode | "offload" | "multi";
    progId: number;
    tag: string;
    name: string;
}

interface RawAddr {
    family?: string;
    local?: string;
    prefixlen?: number;
}

interface RawXdpProg {
    id?: number;
    tag?: string;
    name?: string;
}

interface RawLink {
    ifname: string;
    ifindex: number;
    address?: string;
    mtu?: number;
    flags?: string[];
    master?: string;
    ifalias?: string;
    link?: string;
    link_index?: number;
    link_netnsid?: number;
    linkinfo?: { info_kind?: string };
    addr_info?: RawAddr[];
    xdp?: { mode?: number; prog?: RawXdpProg; attached?: { mode?: number; prog?: RawXdpProg }[] };
}

// XDP_ATTACHED_* values from include/uapi/linux/if_link.h.
const xdpModeNames: Record<number, XdpState["mode"]> = { 1: "native", 2: "generic", 3: "offload", 4: "multi" };

function parseXdp(raw: RawLink["xdp"]): XdpState | undefined {
    if (!raw || !raw.mode) return undefined;
    const prog = raw.prog ?? raw.attached?.[0]?.prog;
    if (!prog?.id) return undefined;
    return { mode: xdpModeNames[raw.mode] ?? "multi", progId: prog.id, tag: prog.tag ?? "", name: prog.name ?? "" };
}

function toLinkState(raw: RawLink): LinkState {
    const peerIfindex = raw.link_index ?? undefined;
    return {
        ifname: raw.ifname,
        ifindex: raw.ifindex,
        mac: raw.address ?? "",
        mtu: raw.mtu ?? 0,
        up: (raw.flags ?? []).includes("UP"),
        master: raw.master,
        kind: raw.linkinfo?.info_kind ?? "",
        alias: raw.ifalias,
        peerIfindex,
        peerInOtherNetns: raw.link_netnsid !== undefined,
        peerName: raw.link,
        addresses: (raw.addr_info ?? [])
            .filter((a) => (a.family === "inet" || a.family === "inet6") && a.local !== undefined && a.prefixlen !== undefined)
            .map((a) => `${a.local}/${a.prefixlen}`)
            .filter((cidr) => !isLinkLocal6(cidr)),
        xdp: parseXdp(raw.xdp),
    };
}

/** Whether an address is IPv6 link-local (fe80::/10). */
export function isLinkLocal6(cidr: string): boolean {
    const parsed = parseIpCidr(cidr);
    return parsed?.family === 6 && parsed.value >> 118n === 0x3fan;
}

/**
 * The kind a resource compares against: the kernel's info_kind, except that a tun device is told
 * apart by mode: a tap carries an Ethernet MAC, a tun (layer 3, no MAC) does not.
 */
export function linkKindOf(link: LinkState): string {
    if (link.kind !== "tun") return link.kind;
    return link.mac === "" ? "tun" : "tap";
}

/**
 * Whether two links are the two ends of one veth pair: in one namespace each names the other as its
 * peer; across namespaces each names the other's ifindex.
 */
export function areVethPeers(end: LinkState, peer: LinkState): boolean {
    if (end.kind !== "veth" || peer.kind !== "veth" || end.peerInOtherNetns !== peer.peerInOtherNetns) return false;
    return end.peerInOtherNetns
        ? end.peerIfindex === peer.ifindex && peer.peerIfindex === end.ifindex
        : end.peerName === peer.ifname && peer.peerName === end.ifname;
}

/** Parses `ip -json [-details] addr show` or `ip -json link show` output into links. */
export function parseLinks(json: string): LinkState[] {
    const raw = JSON.parse(json.trim() || "[]") as RawLink[];
    return raw.map(toLinkState);
}

export interface RouteState {
    dst: string;
    gateway?: string;
    dev?: string;
}

/** Parses `ip -json route show ...` output. */
export function parseRoutes(json: string): RouteState[] {
    const raw = JSON.parse(json.trim() || "[]") as { dst: string; gateway?: string; dev?: string }[];
    return raw.map((r) => ({ dst: r.dst, gateway: r.gateway, dev: r.dev }));
}

/** Splits one `iptables -S` line into words, honouring the double quotes iptables puts around comments. */
export function splitRuleWords(line: string): string[] {
    const words: string[] = [];
    const pattern = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
    for (let m = pattern.exec(line); m; m = pattern.exec(line)) {
        words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2]);
    }
    return words;
}

/** One `-A CHAIN ...` line of `iptables -S`, with the options this project reads. */
export interface IptablesRule {
    chain: string;
    /** The rule's words after `-A CHAIN`, as iptables prints them (usable with -C/-D). */
    spec: string[];
    comment?: string;
    inInterface?: string;
    outInterface?: string;
    source?: string;
    target?: string;
}

/** Parses `iptables -S [CHAIN]` output: the rules, and each chain's policy. */
export function parseIptablesRules(text: string): { rules: IptablesRule[]; policies: Record<string, string> } {
    const rules: IptablesRule[] = [];
    const policies: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const words = splitRuleWords(line.trim());
        if (words[0] === "-P" && words.length >= 3) policies[words[1]] = words[2];
        if (words[0] !== "-A" || words.length < 2) continue;
        const spec = words.slice(2);
        const option = (name: string): string | undefined => {
            const at = spec.indexOf(name);
            return at >= 0 ? spec[at + 1] : undefined;
        };
        rules.push({
            chain: words[1], spec, comment: option("--comment"), inInterface: option("-i"),
            outInterface: option("-o"), source: option("-s"), target: option("-j"),
        });
    }
    return { rules, policies };
}
