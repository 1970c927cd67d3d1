// Throwaway lab hosts for kernel tests (see lab/host.ts) and small helpers to work in them. Every
// test gets a lab with a random id, removed afterwards also when the test failed.
import { expect } from "chai";
import { parseProgInfo } from "../../provider/bpf";
import { readLink } from "../../provider/link";
import { run } from "../../provider/runner";
import { Lab } from "../../lab/host";
import { LabStack, StackConfig, StackOutputs, newLabStack, pingReplies } from "../../lab/stack";
import { useLab } from "./kernel-suite";

export { Lab, LabOptions as LabModeOptions, createLab, defaultRouteFromRa, destroyLab, labNamespaces } from "../../lab/host";

const ctx = { resource: "test lab" };

/** Runs a command inside one of the lab's namespaces. */
export function inNs(netns: string, argv: string[], options: { allowFailure?: boolean } = {}) {
    return run({ resource: `test in ${netns}`, netns }, argv, options);
}

/**
 * Removes an iptables (family ip6: ip6tables) table a test brought into being by writing to it (a table stays once a rule was
 * added and removed), so the lab ends as it was made. Only for tables the test itself made.
 */
export async function removeTestTable(netns: string, table: string, family: "ip" | "ip6" = "ip"): Promise<void> {
    await inNs(netns, ["nft", "delete", "table", family, table]);
}

/** A client namespace routed through the lab host, like the recipe's eXDP namespace. */
export interface LabClient {
    netns: string;
    /** The host's end of the client's veth, with 10.0.0.1/24. */
    hostInterface: string;
    /** The client's address, 10.0.0.2, in subnet 10.0.0.0/24. */
    address: string;
    subnet: string;
    /** Whether one ping from the client to `target` gets its answer within a second. */
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
        ping: async (target) => await pingReplies(netns, target, 1) === 1,
        remove: async () => {
            await inNs(lab.host, ["ip", "link", "del", hostInterface]);
            await run(ctx, ["ip", "netns", "del", netns]);
            await inNs(lab.host, ["sysctl", "-q", "-w", `net.ipv4.ip_forward=${forwarding}`]);
        },
    };
}

/**
 * The frame of a test on lab stacks: a fresh lab per test (useLab; an IPv6 lab with `ipv6`), and
 * `stack()`, which makes a lab stack that is destroyed after the test, before the lab is compared with
 * its state before the test.
 */
export function useLabStacks(options: { ipv6?: boolean } = {}):
    { lab: () => Lab; stack(name: string, overrides?: StackConfig): Promise<LabStack> } {
    const stacks: LabStack[] = [];
    // Registered before useLab's hooks, so it runs first.
    afterEach(async function () {
        for (const stack of stacks.splice(0)) await stack.dispose();
    });
    const lab = useLab({ ipv6: options.ipv6 });
    return {
        lab,
        async stack(name, overrides = {}) {
            const stack = await newLabStack(lab(), name, overrides);
            stacks.push(stack);
            return stack;
        },
    };
}

/**
 * Requires the stack's outputs to be what the kernel holds: the recorded XDP program (id, tag, mode,
 * maps) attached to the outer veth, which is a port of the bridge with the tap; the bridge and the
 * inner end with their addresses. A state that a refresh left behind the kernel fails here.
 */
export async function expectOutputsMatchKernel(stack: LabStack): Promise<StackOutputs> {
    const out = await stack.outputs();
    const host = { resource: "t", netns: out.hostNetns };
    const outer = await readLink(host, out.vethOuter);
    expect(outer?.xdp, `XDP on ${out.vethOuter}`).to.deep.include({
        progId: out.xdpProgramId, tag: out.xdpProgramTag, mode: out.effectiveXdpMode,
    });
    expect(outer?.master, `${out.vethOuter}'s bridge`).to.equal(out.bridge);
    expect((await readLink(host, out.tap))?.master, `${out.tap}'s bridge`).to.equal(out.bridge);
    expect((await readLink(host, out.bridge))?.addresses, `${out.bridge}'s addresses`).to.deep.equal([out.outerAddress]);
    expect((await readLink({ resource: "t", netns: out.namespace }, out.vethInner))?.addresses,
        `${out.vethInner}'s addresses in ${out.namespace}`).to.deep.equal([out.innerAddress]);
    const prog = parseProgInfo((await run(host, ["bpftool", "-j", "prog", "show", "id", String(out.xdpProgramId)])).stdout);
    expect(Object.values(out.xdpMapIds).sort(), "the recorded maps are the program's").to.deep.equal([...prog.mapIds].sort());
    return out;
}
