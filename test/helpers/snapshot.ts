// A comparable picture of a namespace's network state: links, addresses, routes, iptables-save,
// sysctls and XDP attachments, plus what lies beyond IPv4 (per-device sysctls, IPv6 routes,
// ip6tables, the nft ruleset, offload features) and outside the namespaces (bpffs, /run/egress-xdp,
// throwaway bpffs directories). Tests take one before and after and require them to be identical.
import { expect } from "chai";
import { existsSync, readFileSync, readdirSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { runStateDir } from "../../provider/notes";
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

/** `ip -json route` of one family, without the seconds an RA-learnt route has left (they count down). */
export async function routesOf(netns: string, family: 4 | 6): Promise<string> {
    const routes = JSON.parse((await inNs(netns, ["ip", `-${family}`, "-json", "route", "show", "table", "all"])).stdout.trim() || "[]");
    return JSON.stringify((routes as Record<string, unknown>[]).map(({ expires: _expires, ...route }) => route));
}

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
    const routes = [await routesOf(netns, 4), await routesOf(netns, 6)];
    const rules = normalizeIptablesSave((await inNs(netns, ["iptables-save"])).stdout);
    const sysctls = [];
    for (const key of snapshotSysctls) sysctls.push(`${key}=${(await inNs(netns, ["sysctl", "-n", key])).stdout}`);
    return [...linkLines, ...routes, rules, ...sysctls, await snapshotBeyondIpv4(netns)].join("\n");
}

/**
 * The lab's namespaces (by name) and, under "outside the namespaces", what the lab's stacks can leave
 * on the machine itself.
 */
export async function snapshotAll(namespaces: string[], labId: string): Promise<Record<string, string>> {
    const all: Record<string, string> = {};
    for (const netns of namespaces) all[netns] = await snapshotNetns(netns);
    all["outside the namespaces"] = await snapshotOutsideNamespaces(labId);
    return all;
}

/**
 * What differs between two snapshotAll results, line by line: "- key: line" only before, "+ key:
 * line" only after; "~ key" when the same lines came in another order. Empty when they are equal.
 */
export function snapshotDifferences(before: Record<string, string>, after: Record<string, string>): string[] {
    const differences: string[] = [];
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
        if (before[key] === after[key]) continue;
        if (!(key in after)) differences.push(`- ${key} (gone)`);
        else if (!(key in before)) differences.push(`+ ${key} (appeared)`);
        else {
            const [was, is] = [before[key].split("\n"), after[key].split("\n")];
            const changed = [...was.filter((line) => !is.includes(line)).map((line) => `- ${key}: ${line}`),
                ...is.filter((line) => !was.includes(line)).map((line) => `+ ${key}: ${line}`)];
            differences.push(...(changed.length > 0 ? changed : [`~ ${key}: the same lines in another order or number`]));
        }
    }
    return differences;
}

/** Requires `after` to be the snapshot `before`, listing what differs when it is not. */
export function expectSameSnapshot(after: Record<string, string>, before: Record<string, string>, what: string): void {
    expect(snapshotDifferences(before, after), what).to.deep.equal([]);
}

/**
 * The sysctls egress-xdp can change, per device: writing net.ipv4.ip_forward rewrites every
 * conf.<dev>.forwarding, and forwarding changes what accept_ra and the redirect keys do.
 */
export const forwardingSysctlPattern = "^net\\.ipv4\\.ip_forward$|" +
    "^net\\.ipv[46]\\.conf\\.[^.]+\\.(forwarding|force_forwarding|accept_ra|accept_ra_defrtr|[a-z_]*redirects)$";

/** Every key of forwardingSysctlPattern in a namespace, one `key = value` a line, sorted. */
export async function forwardingSysctls(netns: string): Promise<string[]> {
    const { stdout } = await inNs(netns, ["sysctl", "-a", "--pattern", forwardingSysctlPattern]);
    return stdout.split("\n").filter((line) => line !== "").sort();
}

/** `ethtool -k` of every link in a namespace: forwarding turns LRO off, a native XDP program TSO on its peer. */
export async function offloadFeatures(netns: string): Promise<string[]> {
    const links = JSON.parse((await inNs(netns, ["ip", "-json", "link", "show"])).stdout) as { ifname: string }[];
    const features: string[] = [];
    for (const { ifname } of links.sort((a, b) => a.ifname.localeCompare(b.ifname))) {
        features.push((await inNs(netns, ["ethtool", "-k", ifname])).stdout);
    }
    return features;
}

/** Per-device sysctls, IPv6 routes, ip6tables, the nft ruleset (stateless: no counters) and offload features. */
export async function snapshotBeyondIpv4(netns: string): Promise<string> {
    return [
        "== sysctls per device", ...await forwardingSysctls(netns),
        "== ip6tables", normalizeIptablesSave((await inNs(netns, ["ip6tables-save"])).stdout),
        "== nft", (await inNs(netns, ["nft", "-s", "list", "ruleset"])).stdout,
        "== offloads", ...await offloadFeatures(netns),
    ].join("\n");
}

/** The files and directories under `dir`, relative and sorted; none when it does not exist. */
export function treeOf(dir: string): string[] {
    return existsSync(dir) ? (readdirSync(dir, { recursive: true }) as string[]).sort() : [];
}

/** The bpffs mounts of pulumi's mount namespace: mount point, type, source and options of each. */
export function bpffsMounts(): string[] {
    return readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((line) => / - bpf /.test(line))
        .map((line) => `${line.split(" ")[4]} ${line.slice(line.indexOf(" - ") + 3)}`).sort();
}

/** The throwaway bpffs directories of XDP attaches (provider/xdp-attachment.ts) present in the temp directory. */
export function throwawayBpffsDirs(): string[] {
    return readdirSync(tmpdir()).filter((name) => name.startsWith("egress-xdp-bpffs-")).sort();
}

/**
 * What a lab's stacks can leave outside its namespaces: pins and /run/egress-xdp entries (notes,
 * ledgers) named for the lab; bpffs mounts and throwaway bpffs directories, except those named for
 * another lab (stack and namespace names end in their lab's id). Nameless throwaway directories are
 * shared by everything on the machine: one another test makes lives for one `ip link set ... obj`,
 * so such a directory counts only when it is still there a moment later.
 */
export async function snapshotOutsideNamespaces(labId: string): Promise<string> {
    const ofLab = (entries: string[]) => entries.filter((entry) => entry.includes(`-${labId}`));
    const notOfOtherLabs = (entries: string[]) => entries.filter((entry) => entry.includes(`-${labId}`) ||
        !/-[0-9a-f]{6}(?![0-9A-Za-z])/.test(entry));
    let throwaway = notOfOtherLabs(throwawayBpffsDirs());
    if (throwaway.length > 0) {
        await new Promise((resolve) => setTimeout(resolve, 2000));
        throwaway = throwaway.filter((name) => existsSync(path.join(tmpdir(), name)));
    }
    return [
        "== bpffs mounts", ...notOfOtherLabs(bpffsMounts()),
        "== bpffs pins", ...ofLab(treeOf("/sys/fs/bpf")),
        `== ${runStateDir}`, ...ofLab(treeOf(runStateDir)),
        "== throwaway bpffs dirs", ...throwaway,
    ].join("\n");
}

/** One table's normalized iptables-save (ip6tables-save for family 6) in a namespace, for before/after comparisons of that table. */
export async function iptablesTableSave(netns: string, table: string, family: 4 | 6 = 4): Promise<string> {
    return normalizeIptablesSave((await inNs(netns, [family === 6 ? "ip6tables-save" : "iptables-save", "-t", table])).stdout);
}

/** A chain's rules as `iptables -S` prints them (the `-A` lines, in chain order). */
export async function chainRules(netns: string, table: string, chain: string): Promise<string[]> {
    const { stdout } = await inNs(netns, ["iptables", "-w", "-t", table, "-S", chain]);
    return stdout.split("\n").filter((line) => line.startsWith("-A "));
}

/**
 * A link's whole state as `ip -json -details addr show` reports it, less the bridge timers that tick on
 * their own; undefined when there is no such link. For comparing someone else's link before and after.
 */
export async function linkDetails(netns: string, name: string): Promise<unknown> {
    const shown = await inNs(netns, ["ip", "-json", "-details", "addr", "show", "dev", name], { allowFailure: true });
    if (shown.exitCode !== 0) return undefined;
    return JSON.parse(shown.stdout, (key, value: unknown) => (key.endsWith("_timer") ? undefined : value));
}

/** The routes to `destination` with every attribute `ip -json -details route show` reports (protocol included). */
export async function routeDetails(netns: string, destination: string): Promise<unknown> {
    return JSON.parse((await inNs(netns, ["ip", "-json", "-details", "route", "show", destination])).stdout);
}
