// A comparable picture of a namespace's network state: links, addresses, routes, iptables-save,
// `nft list ruleset`, sysctls and XDP attachments. Tests take one before and after and require them to be identical.
import { inNs } from "./lab";

interface RawLink {
    ifname: string;
    flags?: string[];
    mtu?: number;
    master?: string;
    address?: string;
    ifalias?: string;
    linkinfo?: { info_kind?: string };
    xdp?: unknown;
    addr_info?: { family: string; local: string; prefixlen: number }[];
}

export const snapshotSysctls = ["net.ipv4.ip_forward", "net.ipv4.conf.all.forwarding"];

/** iptables-save without its timestamps and packet counters, which change on their own. */
export function normalizeIptablesSave(text: string): string {
    return text.split("\n")
        .filter((line) => !line.startsWith("#"))
        .map((line) => line.replace(/\[\d+:\d+\]/g, "[counters]"))
        .join("\n");
}

/** `nft list ruleset` without its packet counters, which change on their own. */
export function normalizeNftRuleset(text: string): string {
    return text.replace(/counter packets \d+ bytes \d+/g, "counter");
}

export async function snapshotNetns(netns: string): Promise<string> {
    const links = JSON.parse((await inNs(netns, ["ip", "-json", "-details", "addr", "show"])).stdout) as RawLink[];
    const linkLines = links.map((l) => JSON.stringify({
        ifname: l.ifname, kind: l.linkinfo?.info_kind ?? "", mtu: l.mtu, master: l.master, mac: l.address,
        alias: l.ifalias, up: l.flags?.includes("UP") ?? false, xdp: l.xdp ?? null,
        addresses: (l.addr_info ?? []).map((a) => `${a.family} ${a.local}/${a.prefixlen}`).sort(),
    })).sort();
    const routes = (await inNs(netns, ["ip", "-json", "route", "show", "table", "all"])).stdout;
    const rules = normalizeIptablesSave((await inNs(netns, ["iptables-save"])).stdout);
    const ruleset = normalizeNftRuleset((await inNs(netns, ["nft", "list", "ruleset"])).stdout);
    const sysctls = [];
    for (const key of snapshotSysctls) sysctls.push(`${key}=${(await inNs(netns, ["sysctl", "-n", key])).stdout}`);
    return [...linkLines, routes, rules, ruleset, ...sysctls].join("\n");
}

export async function snapshotAll(namespaces: string[]): Promise<Record<string, string>> {
    const all: Record<string, string> = {};
    for (const netns of namespaces) all[netns] = await snapshotNetns(netns);
    return all;
}

/** One table's normalized iptables-save in a namespace, for before/after comparisons of that table. */
export async function iptablesTableSave(netns: string, table: string): Promise<string> {
    return normalizeIptablesSave((await inNs(netns, ["iptables-save", "-t", table])).stdout);
}

/** A chain's rules as `iptables -S` prints them (the `-A` lines, in chain order). */
export async function chainRules(netns: string, table: string, chain: string): Promise<string[]> {
    const { stdout } = await inNs(netns, ["iptables", "-w", "-t", table, "-S", chain]);
    return stdout.split("\n").filter((line) => line.startsWith("-A "));
}
