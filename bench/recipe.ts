// The seed article's recipe, built by hand: its commands one by one through the runner (argv arrays,
// no shell) inside a lab host, plus the one line a fresh namespace needs that the seed's host already
// had (ip_forward=1). Used as the baseline of the latency, throughput and control-plane benchmarks.
import { mkdtempSync, rmdirSync } from "fs";
import { cpus, tmpdir } from "os";
import * as path from "path";
import { Lab } from "../lab/host";
import { xdpAttachArgv, xdpDetachArgv } from "../provider/bpf";
import { AttachMode } from "../provider/validate";
import { run } from "../provider/runner";

export interface Recipe {
    /** The recipe's eXDP namespace (named for the lab, so destroyLab removes it). */
    namespace: string;
    /** The outer veth end, where the seed attaches its XDP program. */
    vethOuter: string;
}

const ctx = { resource: "recipe (bench)" };

export function recipeOf(lab: Lab): Recipe {
    return { namespace: lab.netnsName("recipe"), vethOuter: "veth_1a" };
}

/** The seed's commands, in its order, as [netns, argv]; `undefined` netns means this process's namespace. */
export function recipeCommands(lab: Lab, recipe: Recipe): [string | undefined, string[]][] {
    const host = lab.host;
    const ns = recipe.namespace;
    return [
        [host, ["ip", "link", "add", "dev", "veth_1a", "type", "veth", "peer", "name", "veth_1b"]],
        [host, ["ip", "link", "set", "dev", "veth_1a", "up"]],
        [host, ["ip", "tuntap", "add", "tap_1", "mode", "tap"]],
        [host, ["ip", "link", "set", "dev", "tap_1", "up"]],
        [host, ["ip", "link", "add", "br_1", "type", "bridge"]],
        [host, ["ip", "link", "set", "tap_1", "master", "br_1"]],
        [host, ["ip", "link", "set", "veth_1a", "master", "br_1"]],
        [host, ["ip", "addr", "add", "10.0.0.1/24", "dev", "br_1"]],
        [host, ["ip", "link", "set", "br_1", "up"]],
        [undefined, ["ip", "netns", "add", ns]],
        [host, ["ip", "link", "set", "veth_1b", "netns", ns]],
        [ns, ["ip", "link", "set", "dev", "lo", "up"]],
        [host, ["iptables", "-w", "-t", "nat", "-A", "POSTROUTING", "-o", "br_1", "-j", "MASQUERADE"]],
        [host, ["iptables", "-w", "-t", "nat", "-A", "POSTROUTING", "-o", lab.uplink, "-j", "MASQUERADE"]],
        [ns, ["ip", "addr", "add", "10.0.0.2/24", "dev", "veth_1b"]],
        [ns, ["ip", "link", "set", "dev", "veth_1b", "up"]],
        [ns, ["ip", "route", "add", "default", "via", "10.0.0.1"]],
        // Not in the seed: its host forwarded already; a fresh lab namespace does not.
        [host, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]],
    ];
}

/** The recipe's IPv6 addresses (a ULA subnet), which the dual-stack egress-xdp stacks use too. */
export const recipeAddresses6 = { outer: "fd00:e0::1/64", inner: "fd00:e0::2/64" };

/**
 * IPv6 for the recipe, as one would add it by hand (the seed has none): the ULA addresses (nodad, as
 * egress-xdp adds them), the inner default route, NAT66 out of the uplink (the seed's line with
 * ip6tables; no `-o br_1` rule, as in egress-xdp) and forwarding on the two devices the path needs
 * (force_forwarding: conf.all.forwarding=1 would make the lab host drop its uplink's RA default route).
 */
export function recipe6Commands(lab: Lab, recipe: Recipe): [string | undefined, string[]][] {
    const host = lab.host;
    const ns = recipe.namespace;
    const via = recipeAddresses6.outer.split("/")[0];
    return [
        [host, ["ip", "-6", "addr", "add", recipeAddresses6.outer, "dev", "br_1", "nodad"]],
        [host, ["ip6tables", "-w", "-t", "nat", "-A", "POSTROUTING", "-o", lab.uplink, "-j", "MASQUERADE"]],
        [ns, ["ip", "-6", "addr", "add", recipeAddresses6.inner, "dev", "veth_1b", "nodad"]],
        [ns, ["ip", "-6", "route", "add", "default", "via", via]],
        [host, ["sysctl", "-q", "-w", "net.ipv6.conf.br_1.force_forwarding=1"]],
        [host, ["sysctl", "-q", "-w", `net.ipv6.conf.${lab.uplink}.force_forwarding=1`]],
    ];
}

/** Undoing the recipe by hand: what a plain script would run to take it down again. */
export function recipeTeardownCommands(lab: Lab, recipe: Recipe): [string | undefined, string[]][] {
    const host = lab.host;
    return [
        [host, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=0"]],
        [host, ["iptables", "-w", "-t", "nat", "-D", "POSTROUTING", "-o", lab.uplink, "-j", "MASQUERADE"]],
        [host, ["iptables", "-w", "-t", "nat", "-D", "POSTROUTING", "-o", "br_1", "-j", "MASQUERADE"]],
        [undefined, ["ip", "netns", "del", recipe.namespace]],
        [host, ["ip", "link", "del", "br_1"]],
        [host, ["ip", "link", "del", "tap_1"]],
    ];
}

/**
 * The two rules egress-xdp's ForwardAccept adds (the recipe has none): with them the recipe pays the
 * same filter/FORWARD hook per forwarded packet, for a like-for-like latency comparison.
 */
export function forwardAcceptCommands(lab: Lab): [string | undefined, string[]][] {
    return [
        [lab.host, ["iptables", "-w", "-I", "FORWARD", "1", "-i", "br_1", "-j", "ACCEPT"]],
        [lab.host, ["iptables", "-w", "-I", "FORWARD", "2", "-o", "br_1", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED",
            "-j", "ACCEPT"]],
    ];
}

export async function runCommands(commands: [string | undefined, string[]][]): Promise<void> {
    for (const [netns, argv] of commands) await run({ ...ctx, netns }, argv);
}

/** Attaches an XDP object to the recipe's veth_1a, as `ip link set dev veth_1a xdpdrv|xdpgeneric obj ...`. */
export async function attachRecipeXdp(lab: Lab, recipe: Recipe, mode: AttachMode, objectPath: string): Promise<void> {
    // iproute2 mounts a bpffs for its pins; a private mount namespace and TC_BPF_MNT keep it off /sys/fs/bpf.
    const bpffsDir = mkdtempSync(path.join(tmpdir(), "egress-xdp-bench-bpffs-"));
    try {
        await run({ ...ctx, netns: lab.host },
            xdpAttachArgv({ dev: recipe.vethOuter, mode, objectPath, section: "xdp", replace: false, bpffsDir }));
    } finally {
        rmdirSync(bpffsDir);
    }
}

export async function detachRecipeXdp(lab: Lab, recipe: Recipe, mode: AttachMode): Promise<void> {
    await run({ ...ctx, netns: lab.host }, xdpDetachArgv(recipe.vethOuter, mode));
}

/** GRO on the veth end that receives the namespace's traffic (off by default on a veth). */
export async function setRecipeGro(lab: Lab, recipe: Recipe, on: boolean): Promise<void> {
    await run({ ...ctx, netns: lab.host }, ["ethtool", "-K", recipe.vethOuter, "gro", on ? "on" : "off"]);
}

/** A hex CPU mask of every CPU of the machine, as sysfs takes it (e.g. "3" for two). */
export function allCpusMask(count = cpus().length): string {
    return ((1n << BigInt(count)) - 1n).toString(16);
}

/**
 * RPS on the veth end that receives the namespace's traffic: after the program and GRO, the rest of the path
 * (bridge, NAT, uplink) runs on the CPU the flow hashes to among `mask` ("0": off, the default).
 */
export async function setRecipeRps(lab: Lab, recipe: Recipe, mask: string): Promise<void> {
    // sysfs shows the devices of the namespace that mounted it: `ip netns exec` mounts the lab host's.
    await run(ctx, ["ip", "netns", "exec", lab.host, "tee", `/sys/class/net/${recipe.vethOuter}/queues/rx-0/rps_cpus`],
        { input: mask });
}
