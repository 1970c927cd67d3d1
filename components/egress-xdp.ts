// EgressXdp: the recipe's whole topology as one component. Traffic sent from inside `namespace` leaves
// through the veth pair, so the outer end *receives* it and the XDP program attached there sees it
// before the bridge, NAT and the uplink (`sendDev`) send it on.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { mkdirSync, readFileSync } from "fs";
import * as path from "path";
import { clangArgv } from "../provider/bpf";
import { BpfPinDir } from "../provider/bpf-pin-dir";
import { Bridge } from "../provider/bridge";
import { ForwardAccept } from "../provider/forward-rule";
import { IpForwarding } from "../provider/ip-forwarding";
import { Namespace } from "../provider/namespace";
import { NatRule } from "../provider/nat-rule";
import { Route } from "../provider/route";
import { Tap } from "../provider/tap";
import { VethPair } from "../provider/veth-pair";
import { MapFill } from "../provider/map-fill";
import { XdpAttachment } from "../provider/xdp-attachment";
import { XdpMode, formatIpv4, networkOf, parseCidr } from "../provider/validate";

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
    /** An XDP program: a C file (built with clang during `pulumi up`) or a prebuilt object. */
    xdpProgram?: string;
    /** The ELF section of the program. Default "xdp". */
    xdpSection?: string;
    xdpMode?: XdpMode;
    /**
     * An XDP program for the inner veth end, which receives the traffic entering the namespace (e.g.
     * bpf/xdp_isn_ingress.c); a C file or an object like xdpProgram. Default: none.
     */
    xdpIngressProgram?: string;
    /** The ELF section of the ingress program. Default "xdp". */
    xdpIngressSection?: string;
    /** The ingress program's mode. Default: xdpMode. */
    xdpIngressMode?: XdpMode;
    /**
     * Where the bpffs is (mounted there by `up` if it is not, unmounted by `destroy` then). Both
     * programs' pinned maps live in bpffsRoot/egress-xdp/<project>/<stack>/<name>/tc/globals.
     */
    bpffsRoot?: string;
    /**
     * Maps of the egress program filled from config, e.g. { map: "allowed_ports", key: "be16",
     * value: "u64", entries: [{ key: 443, value: 1 }] } (layouts: provider/map-fill.ts).
     */
    xdpMaps?: MapFill[];
    /** Destination IPv4 prefixes the drop-list program drops (its LPM map `drop_prefixes`). */
    dropPrefixes?: string[];
    /**
     * Insert accept rules for the bridge at the top of filter/FORWARD (default true), for hosts whose
     * FORWARD chain would drop its traffic (policy DROP, as on Docker hosts). The root program's
     * config `forwardAccept: auto` leaves them out where the chain is empty with policy ACCEPT.
     */
    forwardAccept?: boolean;
}

/** The recipe's defaults, for anything the args leave out. */
export const egressXdpDefaults = {
    namespace: "eXDP", bridge: "br_1", tap: "tap_1", vethOuter: "veth_1a", vethInner: "veth_1b",
    outerAddress: "10.0.0.1/24", innerAddress: "10.0.0.2/24", xdpProgram: "bpf/xdp_stats.c", xdpSection: "xdp",
    // Generic, not native: a native program on the outer veth turns TSO off on the inner end, which
    // cuts a TCP sender's throughput to about a sixth; generic keeps it (docs/BENCHMARKS.md).
    xdpMode: "generic" as XdpMode, dropPrefixes: [] as string[], forwardAccept: true,
    xdpIngressSection: "xdp", bpffsRoot: "/sys/fs/bpf", xdpMaps: [] as MapFill[],
};

/** The LPM trie map that holds `dropPrefixes` (bpf/xdp_droplist.c). */
export const dropListMap = "drop_prefixes";

export type ResolvedEgressXdpArgs = typeof egressXdpDefaults &
    { sendDev: string; hostNetns?: string; xdpIngressProgram?: string; xdpIngressMode?: XdpMode };

export function resolveArgs(args: EgressXdpArgs): ResolvedEgressXdpArgs {
    const defined = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined));
    return { ...egressXdpDefaults, ...defined } as ResolvedEgressXdpArgs;
}

/** The subnet of an interface address, e.g. 10.0.0.0/24 for 10.0.0.1/24. */
function subnetOf(cidr: string): string {
    const parsed = parseCidr(cidr)!;
    return `${formatIpv4(networkOf(parsed))}/${parsed.prefixLength}`;
}

export class EgressXdp extends pulumi.ComponentResource {
    readonly namespace: pulumi.Output<string>;
    readonly bridge: pulumi.Output<string>;
    readonly tap: pulumi.Output<string>;
    readonly vethOuter: pulumi.Output<string>;
    readonly vethInner: pulumi.Output<string>;
    readonly outerAddress: pulumi.Output<string>;
    readonly innerAddress: pulumi.Output<string>;
    readonly xdpProgramId: pulumi.Output<number>;
    readonly xdpProgramTag: pulumi.Output<string>;
    readonly xdpMode: pulumi.Output<string>;
    /** The program's maps by name, for reading its counters (components/counters.ts). */
    readonly xdpMapIds: pulumi.Output<Record<string, number>>;
    /** The ingress program on the inner veth end (0 and "" when there is none). */
    readonly xdpIngressProgramId: pulumi.Output<number>;
    readonly xdpIngressMode: pulumi.Output<string>;
    readonly xdpIngressMapIds: pulumi.Output<Record<string, number>>;
    /** The stack's directory in bpffs, and the maps pinned there by name (`bpftool map dump pinned PATH`). */
    readonly pinDir: pulumi.Output<string>;
    readonly pinnedMaps: pulumi.Output<Record<string, string>>;
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
        const namespace = new Namespace(`${name}-namespace`, { name: a.namespace }, child());
        const bridge = new Bridge(`${name}-bridge`, { name: a.bridge, netns: host, addresses: [a.outerAddress] }, child());
        const tap = new Tap(`${name}-tap`, { name: a.tap, netns: host, master: a.bridge }, child([bridge]));
        const veth = new VethPair(`${name}-veth`, {
            name: a.vethOuter, netns: host, master: a.bridge,
            peerName: a.vethInner, peerNetns: a.namespace, peerAddresses: [a.innerAddress],
        }, child([bridge, namespace]));
        new IpForwarding(`${name}-ip-forward`, { netns: host }, child());
        if (a.forwardAccept) new ForwardAccept(`${name}-forward-accept`, { netns: host, interface: a.bridge }, child([bridge]));
        new NatRule(`${name}-nat-bridge`, { netns: host, outInterface: a.bridge }, child([bridge]));
        // Only the inner subnet is masqueraded out of the uplink, not all of the host's traffic.
        new NatRule(`${name}-nat-uplink`,
            { netns: host, outInterface: a.sendDev, sourceCidr: subnetOf(a.innerAddress) }, child());
        new Route(`${name}-default-route`, {
            netns: a.namespace, destination: "default", via: a.outerAddress.split("/")[0],
        }, child([veth]));

        const pins = new BpfPinDir(`${name}-bpf-pins`, {
            root: a.bpffsRoot, subdir: `egress-xdp/${pulumi.getProject()}/${pulumi.getStack()}/${name}`,
        }, child());
        // The ingress program first: a flow the egress program starts must find its replies handled.
        const ingress = a.xdpIngressProgram === undefined ? undefined : new XdpAttachment(`${name}-xdp-ingress`, {
            interface: a.vethInner, netns: a.namespace, section: a.xdpIngressSection, mode: a.xdpIngressMode ?? a.xdpMode,
            objectPath: this.buildProgram(`${name}-xdp-ingress`, `${name}-ingress`, a.xdpIngressProgram, child()),
            pinDir: pins.path,
        }, child([veth, pins]));
        // The drop-list is one map filled from config: its prefixes are LPM keys, its values the program's
        // counters. Always set, so an emptied list empties the map (a program without the map needs none).
        const dropList: MapFill = { map: dropListMap, key: "lpm4", entries: a.dropPrefixes.map((prefix) => ({ key: prefix })) };
        const fills: MapFill[] = [dropList, ...a.xdpMaps];
        const objectPath = this.buildProgram(`${name}-xdp`, name, a.xdpProgram, child());
        const xdp = new XdpAttachment(`${name}-xdp`, {
            interface: a.vethOuter, netns: host, objectPath, section: a.xdpSection, mode: a.xdpMode, pinDir: pins.path,
            maps: fills,
        }, child([veth, pins, ...(ingress ? [ingress] : [])]));

        this.namespace = namespace.name;
        this.bridge = bridge.name;
        this.tap = tap.name;
        this.vethOuter = veth.name;
        this.vethInner = veth.peerName;
        this.outerAddress = pulumi.output(a.outerAddress);
        this.innerAddress = pulumi.output(a.innerAddress);
        this.xdpProgramId = xdp.progId;
        this.xdpProgramTag = xdp.tag;
        this.xdpMode = xdp.effectiveMode;
        this.xdpMapIds = xdp.mapIds;
        this.xdpIngressProgramId = ingress?.progId ?? pulumi.output(0);
        this.xdpIngressMode = ingress?.effectiveMode ?? pulumi.output("");
        this.xdpIngressMapIds = ingress?.mapIds ?? pulumi.output<Record<string, number>>({});
        this.pinDir = pins.path;
        this.pinnedMaps = pulumi.all([xdp.pinnedMaps, ingress?.pinnedMaps ?? {}]).apply(([egress, inbound]) => ({ ...inbound, ...egress }));
        this.hostNetns = pulumi.output(host ?? "");
        this.execPrefix = namespace.name.apply((ns) => ["ip", "netns", "exec", ns]);
        this.registerOutputs({
            namespace: this.namespace, bridge: this.bridge, tap: this.tap, vethOuter: this.vethOuter,
            vethInner: this.vethInner, outerAddress: this.outerAddress, innerAddress: this.innerAddress,
            xdpProgramId: this.xdpProgramId, xdpProgramTag: this.xdpProgramTag, xdpMode: this.xdpMode,
            xdpMapIds: this.xdpMapIds, xdpIngressProgramId: this.xdpIngressProgramId, xdpIngressMode: this.xdpIngressMode,
            xdpIngressMapIds: this.xdpIngressMapIds, pinDir: this.pinDir, pinnedMaps: this.pinnedMaps,
            hostNetns: this.hostNetns, execPrefix: this.execPrefix,
        });
    }

    /**
     * A C source is compiled with clang by a local.Command (`resource`-build) whose trigger is the hash
     * of the source and the headers it includes by "name", so an edit of either shows in preview as a
     * rebuild and re-attaches the program; an object file is used as is.
     */
    private buildProgram(resource: string, objectName: string, program: string, opts: pulumi.CustomResourceOptions):
        pulumi.Output<string> {
        const source = path.resolve(program);
        if (!source.endsWith(".c")) return pulumi.output(source);
        const objectPath = path.resolve("bpf", "build", pulumi.getStack(), `${objectName}-${path.basename(source, ".c")}.o`);
        mkdirSync(path.dirname(objectPath), { recursive: true });
        const text = readFileSync(source, "utf8");
        const headers = [...text.matchAll(/^#include "([^"]+)"/gm)].map((m) => readFileSync(path.resolve(path.dirname(source), m[1])));
        const sourceHash = [text, ...headers].reduce((hash, part) => hash.update(part), createHash("sha256")).digest("hex");
        const build = new command.local.Command(`${resource}-build`, {
            // No shell: clang's argv is the interpreter and the output path its last argument.
            interpreter: clangArgv(source, objectPath).slice(0, -1),
            create: objectPath,
            triggers: [sourceHash],
        }, opts);
        return build.stdout.apply(() => objectPath);
    }
}
