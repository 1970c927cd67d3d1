// EgressXdp: the recipe's whole topology as one component. Traffic sent from inside `namespace` leaves
// through the veth pair, so the outer end *receives* it and the XDP program attached there sees it
// before the bridge, NAT and the uplink (`sendDev`) send it on.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { mkdirSync, readFileSync } from "fs";
import * as path from "path";
import { clangArgv } from "../provider/bpf";
import { Bridge } from "../provider/bridge";
import { ForwardAccept } from "../provider/forward-rule";
import { IpForwarding } from "../provider/ip-forwarding";
import { Namespace } from "../provider/namespace";
import { NatRule } from "../provider/nat-rule";
import { Route } from "../provider/route";
import { Tap } from "../provider/tap";
import { VethPair } from "../provider/veth-pair";
import { XdpAttachment } from "../provider/xdp-attachment";
import { XdpMode, subnetOf } from "../provider/validate";

export interface EgressXdpArgs {
    /** The uplink traffic leaves by (the recipe's $send_dev), in `hostNetns`. */
    sendDev: string;
    /** The namespace that plays the host; default: the one `pulumi` runs in. */
    hostNetns?: string;
    /** The inner namespace that traffic is sent from. Default eXDP. */
    namespace?: string;
    bridge?: string;
    tap?: string;
    /** The veth end in the host namespace, where the XDP program runs. */
    vethOuter?: string;
    /** The veth end inside `namespace`. */
    vethInner?: string;
    /** The bridge's address, the inner namespace's gateway. Default 10.0.0.1/24. */
    outerAddress?: string;
    /** The inner veth end's address, in the same subnet. Default 10.0.0.2/24. */
    innerAddress?: string;
    /**
     * The bridge's IPv6 address, the inner namespace's IPv6 gateway, e.g. a ULA like fd00:e0::1/64.
     * With innerAddress6 it turns IPv6 on: addresses, default route, NAT66 out of sendDev, forwarding
     * (force_forwarding, Linux 6.17+) and FORWARD accept rules; unset (default): IPv4 only.
     */
    outerAddress6?: string;
    /** The inner veth end's IPv6 address, in the subnet of outerAddress6. */
    innerAddress6?: string;
    /** An XDP program: a C file (built with clang during `pulumi up`) or a prebuilt object. */
    xdpProgram?: string;
    /** The ELF section of the program. Default "xdp". */
    xdpSection?: string;
    xdpMode?: XdpMode;
    /** Destination IPv4 and IPv6 prefixes the drop-list program drops (its LPM maps `drop_prefixes`, `drop_prefixes6`). */
    dropPrefixes?: string[];
    /**
     * Insert accept rules for the bridge at the top of filter/FORWARD (default true), for hosts whose
     * FORWARD chain would drop its traffic (policy DROP, as on Docker hosts). The root program's
     * config `forwardAccept: auto` leaves them out where the chain is empty with policy ACCEPT.
     */
    forwardAccept?: boolean;
    /** The same for ip6tables' filter/FORWARD (with IPv6 on); default: forwardAccept. */
    forwardAccept6?: boolean;
}

/** The recipe's defaults, for anything the args leave out. */
export const egressXdpDefaults = {
    namespace: "eXDP", bridge: "br_1", tap: "tap_1", vethOuter: "veth_1a", vethInner: "veth_1b",
    outerAddress: "10.0.0.1/24", innerAddress: "10.0.0.2/24", xdpProgram: "bpf/xdp_stats.c", xdpSection: "xdp",
    // Generic, not native: a native program on the outer veth turns TSO off on the inner end, which
    // cuts a TCP sender's throughput to about a sixth; generic keeps it (docs/BENCHMARKS.md).
    xdpMode: "generic" as XdpMode, dropPrefixes: [] as string[], forwardAccept: true,
};

/** The LPM trie maps that hold `dropPrefixes` (bpf/xdp_droplist.c): IPv4 ones, IPv6 ones. */
export const dropListMap = "drop_prefixes";
export const dropListMap6 = "drop_prefixes6";

export type ResolvedEgressXdpArgs = typeof egressXdpDefaults & {
    sendDev: string; hostNetns?: string; outerAddress6?: string; innerAddress6?: string; forwardAccept6?: boolean;
};

export function resolveArgs(args: EgressXdpArgs): ResolvedEgressXdpArgs {
    const defined = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined));
    return { ...egressXdpDefaults, ...defined } as ResolvedEgressXdpArgs;
}

/** The address part of an interface address, e.g. 10.0.0.1 of 10.0.0.1/24. */
const addressOf = (cidr: string) => cidr.split("/")[0];

export class EgressXdp extends pulumi.ComponentResource {
    readonly namespace: pulumi.Output<string>;
    readonly bridge: pulumi.Output<string>;
    readonly tap: pulumi.Output<string>;
    readonly vethOuter: pulumi.Output<string>;
    readonly vethInner: pulumi.Output<string>;
    readonly outerAddress: pulumi.Output<string>;
    readonly innerAddress: pulumi.Output<string>;
    /** The IPv6 addresses ("" when IPv6 is off). */
    readonly outerAddress6: pulumi.Output<string>;
    readonly innerAddress6: pulumi.Output<string>;
    readonly xdpProgramId: pulumi.Output<number>;
    readonly xdpProgramTag: pulumi.Output<string>;
    readonly xdpMode: pulumi.Output<string>;
    /** The program's maps by name, for reading its counters (components/counters.ts). */
    readonly xdpMapIds: pulumi.Output<Record<string, number>>;
    /** The namespace that plays the host ("" for the one pulumi runs in). */
    readonly hostNetns: pulumi.Output<string>;
    /** argv that runs a command inside the namespace, e.g. [...execPrefix, "ping", "198.51.100.1"]. */
    readonly execPrefix: pulumi.Output<string[]>;

    constructor(name: string, args: EgressXdpArgs, opts?: pulumi.ComponentResourceOptions) {
        super("egressxdp:index:EgressXdp", name, {}, opts);
        const a = resolveArgs(args);
        const child = (deps: pulumi.Resource[] = []): pulumi.CustomResourceOptions => ({ parent: this, dependsOn: deps });
        const host = a.hostNetns;

        // The recipe's order: veth, tap, bridge, namespace, NAT, addresses, route; then XDP.
        // IPv6 is on when both IPv6 addresses are given (the config check requires both or neither).
        const ipv6 = a.outerAddress6 !== undefined && a.innerAddress6 !== undefined
            ? { outer: a.outerAddress6, inner: a.innerAddress6 } : undefined;
        const namespace = new Namespace(`${name}-namespace`, { name: a.namespace }, child());
        const bridge = new Bridge(`${name}-bridge`,
            { name: a.bridge, netns: host, addresses: [a.outerAddress, ...(ipv6 ? [ipv6.outer] : [])] }, child());
        const tap = new Tap(`${name}-tap`, { name: a.tap, netns: host, master: a.bridge }, child([bridge]));
        const veth = new VethPair(`${name}-veth`, {
            name: a.vethOuter, netns: host, master: a.bridge,
            peerName: a.vethInner, peerNetns: a.namespace, peerAddresses: [a.innerAddress, ...(ipv6 ? [ipv6.inner] : [])],
        }, child([bridge, namespace]));
        // Forwarding on the bridge (the namespace's traffic enters routing there) and the uplink (the
        // replies do); the bridge's ifindex re-applies it to a re-created bridge in the same up.
        new IpForwarding(`${name}-ip-forward`, {
            netns: host, interfaces: [a.bridge, a.sendDev], ipv6: ipv6 !== undefined, triggers: [bridge.ifindex],
        }, child([bridge]));
        new NatRule(`${name}-nat-bridge`, { netns: host, outInterface: a.bridge }, child([bridge]));
        // Each family's rules, from one description; IPv6 has no -o bridge rule (the recipe's is for IPv4).
        const families = [
            { family: 4 as const, suffix: "", outer: a.outerAddress, inner: a.innerAddress, forwardAccept: a.forwardAccept },
            ...(ipv6 ? [{ family: 6 as const, suffix: "6", ...ipv6, forwardAccept: a.forwardAccept6 ?? a.forwardAccept }] : []),
        ];
        for (const f of families) {
            const family = f.family === 6 ? { family: f.family } : {};
            if (f.forwardAccept) {
                new ForwardAccept(`${name}-forward-accept${f.suffix}`, { netns: host, interface: a.bridge, ...family }, child([bridge]));
            }
            // Only the inner subnet is masqueraded out of the uplink, not all of the host's traffic.
            new NatRule(`${name}-nat-uplink${f.suffix}`,
                { netns: host, outInterface: a.sendDev, sourceCidr: subnetOf(f.inner), ...family }, child());
            new Route(`${name}-default-route${f.suffix}`, {
                netns: a.namespace, destination: "default", via: addressOf(f.outer),
            }, child([veth]));
        }

        const objectPath = this.buildProgram(name, a.xdpProgram, child());
        const xdp = new XdpAttachment(`${name}-xdp`, {
            interface: a.vethOuter, netns: host, objectPath, section: a.xdpSection, mode: a.xdpMode,
            ...(a.dropPrefixes.length > 0 ? { prefixes: { map: dropListMap, map6: dropListMap6, prefixes: a.dropPrefixes } } : {}),
        }, child([veth]));

        this.namespace = namespace.name;
        this.bridge = bridge.name;
        this.tap = tap.name;
        this.vethOuter = veth.name;
        this.vethInner = veth.peerName;
        this.outerAddress = pulumi.output(a.outerAddress);
        this.innerAddress = pulumi.output(a.innerAddress);
        this.outerAddress6 = pulumi.output(ipv6?.outer ?? "");
        this.innerAddress6 = pulumi.output(ipv6?.inner ?? "");
        this.xdpProgramId = xdp.progId;
        this.xdpProgramTag = xdp.tag;
        this.xdpMode = xdp.effectiveMode;
        this.xdpMapIds = xdp.mapIds;
        this.hostNetns = pulumi.output(host ?? "");
        this.execPrefix = namespace.name.apply((ns) => ["ip", "netns", "exec", ns]);
        this.registerOutputs({
            namespace: this.namespace, bridge: this.bridge, tap: this.tap, vethOuter: this.vethOuter,
            vethInner: this.vethInner, outerAddress: this.outerAddress, innerAddress: this.innerAddress,
            outerAddress6: this.outerAddress6, innerAddress6: this.innerAddress6,
            xdpProgramId: this.xdpProgramId, xdpProgramTag: this.xdpProgramTag, xdpMode: this.xdpMode,
            xdpMapIds: this.xdpMapIds, hostNetns: this.hostNetns, execPrefix: this.execPrefix,
        });
    }

    /**
     * A C source is compiled with clang by a local.Command whose trigger is the source's hash, so an
     * edit shows in preview as a rebuild and re-attaches the program; an object file is used as is.
     */
    private buildProgram(name: string, program: string, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
        const source = path.resolve(program);
        if (!source.endsWith(".c")) return pulumi.output(source);
        const objectPath = path.resolve("bpf", "build", pulumi.getStack(), `${name}-${path.basename(source, ".c")}.o`);
        mkdirSync(path.dirname(objectPath), { recursive: true });
        const sourceHash = createHash("sha256").update(readFileSync(source)).digest("hex");
        const build = new command.local.Command(`${name}-xdp-build`, {
            // No shell: clang's argv is the interpreter and the output path its last argument.
            interpreter: clangArgv(source, objectPath).slice(0, -1),
            create: objectPath,
            triggers: [sourceHash],
        }, opts);
        return build.stdout.apply(() => objectPath);
    }
}
