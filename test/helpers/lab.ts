// Throwaway lab hosts for kernel tests: a "lab" namespace that plays the host, behind a veth uplink to
// an "upstream" namespace that plays the internet (a server address on its loopback). Nothing here
// touches the machine's own interfaces, iptables or sysctls; every name carries a random lab id so
// `destroy` finds and removes all of it, also after a failed test.
import { randomBytes } from "crypto";
import { run } from "../../provider/runner";

export interface Lab {
    id: string;
    /** The namespace that plays the lab host. */
    host: string;
    /** The namespace that plays the upstream network. */
    upstream: string;
    /** The lab host's uplink interface (the recipe's $send_dev). */
    uplink: string;
    uplinkAddress: string;
    /** An address on the upstream side that plays a server on the internet. */
    serverAddress: string;
    /** A second server address, for drop-list tests. */
    otherServerAddress: string;
    /** A namespace name for this lab that the test may create (removed by destroy). */
    netnsName(suffix: string): string;
}

const ctx = { resource: "test lab" };

export async function createLab(): Promise<Lab> {
    const id = randomBytes(3).toString("hex");
    const lab: Lab = {
        id, host: `exl-${id}`, upstream: `exu-${id}`, uplink: "uplink0", uplinkAddress: "198.18.0.1",
        serverAddress: "198.19.0.1", otherServerAddress: "198.19.1.1",
        netnsName: (suffix: string) => `ex${suffix}-${id}`,
    };
    try {
        await run(ctx, ["ip", "netns", "add", lab.host]);
        await run(ctx, ["ip", "netns", "add", lab.upstream]);
        // IPv6 off: link-local addresses appear a moment after links come up and would make
        // before/after snapshots differ for reasons no test controls. The tests are IPv4.
        for (const netns of [lab.host, lab.upstream]) {
            for (const key of ["net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"]) {
                await run({ ...ctx, netns }, ["sysctl", "-q", "-w", `${key}=1`]);
            }
        }
        const inHost = (...argv: string[]) => run(ctx, ["ip", "-n", lab.host, ...argv]);
        const inUpstream = (...argv: string[]) => run(ctx, ["ip", "-n", lab.upstream, ...argv]);
        await inHost("link", "add", lab.uplink, "type", "veth", "peer", "name", "down0", "netns", lab.upstream);
        await inHost("link", "set", "lo", "up");
        await inHost("addr", "add", `${lab.uplinkAddress}/24`, "dev", lab.uplink);
        await inHost("link", "set", lab.uplink, "up");
        await inHost("route", "add", "default", "via", "198.18.0.2");
        await inUpstream("link", "set", "lo", "up");
        await inUpstream("addr", "add", `${lab.serverAddress}/32`, "dev", "lo");
        await inUpstream("addr", "add", `${lab.otherServerAddress}/32`, "dev", "lo");
        await inUpstream("addr", "add", "198.18.0.2/24", "dev", "down0");
        await inUpstream("link", "set", "down0", "up");
        // The upstream answers the lab's NATed address only; it has no route back to inner subnets.
        return lab;
    } catch (error) {
        await destroyLab(lab);
        throw error;
    }
}

/** The namespaces that belong to a lab: its host, upstream, and any the test made with netnsName. */
export async function labNamespaces(lab: Lab): Promise<string[]> {
    const { stdout } = await run(ctx, ["ip", "-json", "netns", "list"]);
    const names = (JSON.parse(stdout.trim() || "[]") as { name: string }[]).map((n) => n.name);
    return names.filter((name) => name.endsWith(`-${lab.id}`)).sort();
}

/** Removes every namespace of the lab (and with them their links, rules and programs). */
export async function destroyLab(lab: Lab): Promise<void> {
    for (const name of await labNamespaces(lab)) {
        await run(ctx, ["ip", "netns", "del", name], { allowFailure: true });
    }
}

/** Runs a command inside one of the lab's namespaces. */
export function inNs(netns: string, argv: string[], options: { allowFailure?: boolean } = {}) {
    return run({ resource: `test in ${netns}`, netns }, argv, options);
}

/**
 * Makes an iptables table exist (empty, default policies) in a namespace. A table stays in
 * iptables-save once a rule was added to it and removed again, so tests that add rules make their
 * tables exist before the "before" snapshot.
 */
export async function instantiateIptablesTable(netns: string, table: string): Promise<void> {
    await inNs(netns, ["iptables", "-w", "-t", table, "-N", "exlab-instantiate"]);
    await inNs(netns, ["iptables", "-w", "-t", table, "-X", "exlab-instantiate"]);
}

/** A client namespace routed through the lab host, like the recipe's eXDP namespace. */
export interface LabClient {
    netns: string;
    /** The host's end of the client's veth, with 10.0.0.1/24. */
    hostInterface: string;
    /** The client's address, 10.0.0.2, in subnet 10.0.0.0/24. */
    address: string;
    subnet: string;
    /** Whether one ping from the client to `target` gets an answer within a second. */
    ping(target: string): Promise<boolean>;
    /** Removes the namespace and the host's veth end and restores the host's ip_forward. */
    remove(): Promise<void>;
}

/** Adds a client behind the lab host (veth 10.0.0.2/24 -> 10.0.0.1/24) and turns forwarding on there. */
export async function addLabClient(lab: Lab, suffix = "client"): Promise<LabClient> {
    const netns = lab.netnsName(suffix);
    const hostInterface = "vclient0";
    const forwarding = (await inNs(lab.host, ["sysctl", "-n", "net.ipv4.ip_forward"])).stdout.trim();
    await run(ctx, ["ip", "netns", "add", netns]);
    await inNs(netns, ["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1"]);
    await inNs(lab.host, ["ip", "link", "add", hostInterface, "type", "veth", "peer", "name", "vpeer0", "netns", netns]);
    await inNs(lab.host, ["ip", "addr", "add", "10.0.0.1/24", "dev", hostInterface]);
    await inNs(lab.host, ["ip", "link", "set", hostInterface, "up"]);
    await inNs(lab.host, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
    for (const argv of [["link", "set", "lo", "up"], ["addr", "add", "10.0.0.2/24", "dev", "vpeer0"],
        ["link", "set", "vpeer0", "up"], ["route", "add", "default", "via", "10.0.0.1"]]) {
        await inNs(netns, ["ip", ...argv]);
    }
    return {
        netns, hostInterface, address: "10.0.0.2", subnet: "10.0.0.0/24",
        ping: async (target) =>
            (await inNs(netns, ["ping", "-n", "-c", "1", "-W", "1", target], { allowFailure: true })).exitCode === 0,
        remove: async () => {
            await inNs(lab.host, ["ip", "link", "del", hostInterface]);
            await run(ctx, ["ip", "netns", "del", netns]);
            await inNs(lab.host, ["sysctl", "-q", "-w", `net.ipv4.ip_forward=${forwarding}`]);
        },
    };
}
