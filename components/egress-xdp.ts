// EgressXdp: the recipe's whole topology as one component. Traffic sent from inside `namespace` leaves
// through the veth pair, so the outer end *receives* it and the XDP program attached there sees it
// before the bridge, NAT and the uplink (`sendDev`) send it on.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { mkdirSync } from "fs";
import * as path from "path";
import { clangArgv } from "../provider/bpf";
import { BpfPinDir } from "../provider/bpf-pin-dir";
import { Bridge } from "../provider/bridge";
import { ForwardAccept } from "../provider/forward-accept";
import { IpForwarding } from "../provider/ip-forwarding";
import { Namespace } from "../provider/namespace";
import { NatRule } from "../provider/nat-rule";
import { MapFill } from "../provider/map-fill";
import { buildInputs, cachedObjectPath, objectCacheDir, objectKey } from "../provider/object-cache";
import { ownerFor } from "../provider/owner";
import { Route } from "../provider/route";
import { Tap } from "../provider/tap";
import { VethPair } from "../provider/veth-pair";
import { XdpAttachment } from "../provider/xdp-attachment";
import { OffloadChange, ProgramView } from "../provider/offload";
import { requestDynamicProvider } from "../provider/plugin-start";
import { CheckFailure, XdpMode, familyOf, subnetOf } from "../provider/validate";
import {
    ForwardAcceptChoice, Ipv6ForwardingChoice, ResolvedArgs, argProblems, dropListMap, dropListMap6, egressXdpDefaults, forwardAcceptWanted,
    hostProblems, ipv6ForwardingMethod,
} from "./egress-xdp-args";
import { Ipv6ForwardingMethod, kernelHasForceForwarding } from "../provider/ipv6-global-forwarding";

export interface EgressXdpArgs {
    /** The uplink traffic leaves by (the recipe's $send_dev), in `hostNetns`. */
    sendDev: pulumi.Input<string>;
    /**
     * The namespace that plays the host; default: the one `pulumi` runs in. A plain value: the checks
     * and forwardAccept "auto" look at this host before anything is created.
     */
    hostNetns?: string;
    /** The inner namespace that traffic is sent from. Default eXDP. */
    namespace?: pulumi.Input<string>;
    bridge?: pulumi.Input<string>;
    tap?: pulumi.Input<string>;
    /** The veth end in the host namespace, where the XDP program runs. */
    vethOuter?: pulumi.Input<string>;
    /** The veth end inside `namespace`. */
    vethInner?: pulumi.Input<string>;
    /** The bridge's address, the inner namespace's gateway. Default 10.0.0.1/24. */
    outerAddress?: pulumi.Input<string>;
    /** The inner veth end's address, in the same subnet. Default 10.0.0.2/24. */
    innerAddress?: pulumi.Input<string>;
    /**
     * The bridge's IPv6 address, the inner namespace's IPv6 gateway, e.g. a ULA like fd00:e0::1/64.
     * With innerAddress6 it turns IPv6 on: addresses, default route, NAT66 out of sendDev, forwarding
     * (see ipv6Forwarding) and FORWARD accept rules; unset (default): IPv4 only.
     */
    outerAddress6?: pulumi.Input<string>;
    /** The inner veth end's IPv6 address, in the subnet of outerAddress6. */
    innerAddress6?: pulumi.Input<string>;
    /**
     * How IPv6 is forwarded: "per-device" (force_forwarding on bridge and sendDev, Linux 6.17+),
     * "global" (net.ipv6.conf.all.forwarding, with accept_ra=2 wherever router advertisements were
     * accepted, so the host keeps its SLAAC routes; all restored exactly on destroy), or "auto"
     * (default: per-device where the kernel has it, else global; decided at each preview). A plain value.
     */
    ipv6Forwarding?: Ipv6ForwardingChoice;
    /**
     * An XDP program: a C file (built with clang during `pulumi up`) or a prebuilt object; a relative
     * path is relative to the program's directory (where Pulumi.yaml is). Default: the package's
     * bpf/xdp_stats.c. A plain value: it is read (and hashed) when the program runs.
     */
    xdpProgram?: string;
    /** The ELF section of the program. Default "xdp". */
    xdpSection?: pulumi.Input<string>;
    /** The mode requested: generic (default), native, or auto (native, else generic). */
    xdpMode?: pulumi.Input<XdpMode>;
    /**
     * An XDP program for the inner veth end, which receives the traffic entering the namespace (e.g.
     * bpf/xdp_isn_ingress.c); a C file or an object, like xdpProgram (plain value). Default: none.
     */
    xdpIngressProgram?: string;
    /** The ELF section of the ingress program. Default "xdp". */
    xdpIngressSection?: pulumi.Input<string>;
    /** The ingress program's mode. Default: xdpMode. */
    xdpIngressMode?: pulumi.Input<XdpMode>;
    /**
     * Where the bpffs is (mounted there by `up` if it is not, unmounted by `destroy` then). Both
     * programs' pinned maps live in bpffsRoot/egress-xdp/<project>/<stack>/<name>/tc/globals.
     */
    bpffsRoot?: pulumi.Input<string>;
    /**
     * Maps of the egress program filled from config, e.g. { map: "allowed_ports", key: "be16",
     * value: "u64", entries: [{ key: 443, value: 1 }] } (layouts: provider/map-fill.ts).
     */
    xdpMaps?: pulumi.Input<MapFill[]>;
    /** Destination IPv4 and IPv6 prefixes the drop-list program drops (its LPM maps `drop_prefixes`, `drop_prefixes6`). */
    dropPrefixes?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Accept rules for the bridge at the top of filter/FORWARD, for hosts whose FORWARD chain would
     * drop its traffic (policy DROP, as on Docker hosts): "always" (or true), "never" (or false), or
     * "auto" (default): added unless the chain is empty with policy ACCEPT, decided at each run.
     */
    forwardAccept?: ForwardAcceptChoice | boolean;
}

/** What the checks skip as not yet known (provider/validate.ts isUnknown): an arg that is an Output. */
const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/**
 * A locally administered unicast MAC derived from `seed` (e.g. a resource's owner): the same for
 * every re-creation of the device, whatever it is named.
 */
export function stableMac(seed: string): string {
    const bytes = createHash("sha256").update(seed).digest().subarray(0, 6);
    bytes[0] = (bytes[0] & 0xfc) | 0x02;
    return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(":");
}

/**
 * A path as the state keeps it: relative to the directory the program runs in, which is also where
 * the engine starts the providers (the directory of Pulumi.yaml's `main`), so the directory may move.
 */
function pathForState(file: string): string {
    return path.relative(process.cwd(), file) || ".";
}

/** The error that names every bad arg; Pulumi prints only a RunError's message. */
function invalidArgs(name: string, failures: CheckFailure[]): pulumi.RunError {
    const lines = failures.map((f) => `  ${f.property.startsWith("(") ? f.property : `egress-xdp:${f.property}`}: ${f.reason}`);
    const error = new pulumi.RunError(`invalid args of EgressXdp ${name} (nothing was changed):\n${lines.join("\n")}`);
    // Pulumi formats a RunError's stack for tracing; through the source maps that takes ~12 s of CPU
    // on every refused preview. The message stands in for the stack.
    error.stack = error.message;
    return error;
}

type Outputs = {
    namespace: pulumi.Output<string>; bridge: pulumi.Output<string>; tap: pulumi.Output<string>;
    vethOuter: pulumi.Output<string>; vethInner: pulumi.Output<string>; outerAddress: pulumi.Output<string>;
    innerAddress: pulumi.Output<string>; outerAddress6: pulumi.Output<string>; innerAddress6: pulumi.Output<string>;
    xdpProgramId: pulumi.Output<number>; xdpProgramTag: pulumi.Output<string>;
    effectiveXdpMode: pulumi.Output<string>; xdpMapIds: pulumi.Output<Record<string, number>>;
    xdpProgramView: pulumi.Output<ProgramView>; xdpOffloads: pulumi.Output<Record<string, string>>;
    xdpOffloadChanges: pulumi.Output<OffloadChange[]>;
    xdpIngressProgramId: pulumi.Output<number>; xdpIngressMode: pulumi.Output<string>;
    xdpIngressMapIds: pulumi.Output<Record<string, number>>; pinDir: pulumi.Output<string>;
    pinnedMaps: pulumi.Output<Record<string, string>>;
    hostNetns: pulumi.Output<string>; execPrefix: pulumi.Output<string[]>;
};

export class EgressXdp extends pulumi.ComponentResource<Outputs> {
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
    /** The mode the program runs in (native or generic); `xdpMode` in the args is the mode requested. */
    readonly effectiveXdpMode: pulumi.Output<string>;
    /** The program's maps by name, for reading its counters (components/counters.ts). */
    readonly xdpMapIds: pulumi.Output<Record<string, number>>;
    /** What the program is called with: "wire frames" (native) or "super-packets" (generic). */
    readonly xdpProgramView: pulumi.Output<ProgramView>;
    /** The outer veth's managed offload features as the kernel has them, e.g. { "generic-receive-offload": "on" }. */
    readonly xdpOffloads: pulumi.Output<Record<string, string>>;
    /** What the attachment changed on the outer veth (and puts back): [{ feature, found, set }]. */
    readonly xdpOffloadChanges: pulumi.Output<OffloadChange[]>;
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
        // initialize (below) checks the args and creates the children; its result holds the outputs.
        super("egressxdp:index:EgressXdp", name, args as unknown as pulumi.Inputs, opts);
        const data = this.getData();
        const output = <K extends keyof Outputs>(key: K) => pulumi.output(data.then((d) => d[key])) as Outputs[K];
        this.namespace = output("namespace");
        this.bridge = output("bridge");
        this.tap = output("tap");
        this.vethOuter = output("vethOuter");
        this.vethInner = output("vethInner");
        this.outerAddress = output("outerAddress");
        this.innerAddress = output("innerAddress");
        this.outerAddress6 = output("outerAddress6");
        this.innerAddress6 = output("innerAddress6");
        this.xdpProgramId = output("xdpProgramId");
        this.xdpProgramTag = output("xdpProgramTag");
        this.effectiveXdpMode = output("effectiveXdpMode");
        this.xdpMapIds = output("xdpMapIds");
        this.xdpProgramView = output("xdpProgramView");
        this.xdpOffloads = output("xdpOffloads");
        this.xdpOffloadChanges = output("xdpOffloadChanges");
        this.xdpIngressProgramId = output("xdpIngressProgramId");
        this.xdpIngressMode = output("xdpIngressMode");
        this.xdpIngressMapIds = output("xdpIngressMapIds");
        this.pinDir = output("pinDir");
        this.pinnedMaps = output("pinnedMaps");
        this.hostNetns = output("hostNetns");
        this.execPrefix = output("execPrefix");
    }

    /**
     * Checks every arg (known values now, before any child exists; Outputs when they resolve), then
     * creates the children. A relative xdpProgram is resolved against the program's root (Pulumi.yaml).
     */
    protected async initialize(inputs: pulumi.Inputs, _opts?: unknown, name?: string): Promise<Outputs> {
        requestDynamicProvider();
        const args = inputs as unknown as EgressXdpArgs;
        const root = pulumi.runtime.getRootDirectory();
        const defined = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined));
        const given = { ...egressXdpDefaults, ...defined } as Record<string, unknown>;
        given.xdpProgram = path.resolve(root, String(given.xdpProgram));
        if (given.xdpIngressProgram !== undefined) given.xdpIngressProgram = path.resolve(root, String(given.xdpIngressProgram));
        // Outputs are checked when they resolve; until then the checks skip them as unknown.
        const isOutput = (value: unknown): boolean => pulumi.Output.isInstance(value);
        const lazy = Object.keys(given).filter((key) =>
            isOutput(given[key]) || (Array.isArray(given[key]) && (given[key] as unknown[]).some(isOutput)));
        const known = { ...given } as Record<string, unknown>;
        for (const key of Object.keys(known)) known[key] = lazy.includes(key) ? unknown : await known[key];
        const a = known as unknown as ResolvedArgs;
        let failures = argProblems(a);
        if (failures.length === 0) failures = await hostProblems(a);
        if (failures.length > 0) throw invalidArgs(name!, failures);
        // Per family: auto looks at that family's FORWARD chain (ip6tables only with IPv6 on).
        const forwardAccept = { 4: false, 6: false };
        for (const family of a.outerAddress6 === undefined ? [4 as const] : [4 as const, 6 as const]) {
            forwardAccept[family] = await forwardAcceptWanted(a.forwardAccept, a.hostNetns, family);
            if (!forwardAccept[family] && a.forwardAccept === "auto") {
                pulumi.log.info(`forwardAccept auto: ${family === 6 ? "ip6tables" : "iptables"} filter/FORWARD in ` +
                    `${a.hostNetns ?? "this namespace"} has policy ACCEPT and no rules, so no accept rules are added ` +
                    "(set forwardAccept: always to add them anyway)", this);
            }
        }
        // The args as the children take them: known values as they are, Outputs once all resolved are valid.
        const checked = lazy.length === 0 ? undefined : pulumi.output(given).apply((all) => {
            const late = argProblems({ ...known, ...Object.fromEntries(lazy.map((key) => [key, all[key]])) } as ResolvedArgs);
            if (late.length > 0) throw invalidArgs(name!, late);
            return all;
        });
        const arg = <T>(key: string): pulumi.Input<T> =>
            (lazy.includes(key) ? checked!.apply((all) => all[key]) : known[key]) as pulumi.Input<T>;
        const hasForceForwarding = kernelHasForceForwarding();
        const ipv6Method = ipv6ForwardingMethod(a.ipv6Forwarding, hasForceForwarding);
        if (a.outerAddress6 !== undefined && a.ipv6Forwarding === "auto" && !hasForceForwarding) {
            pulumi.log.info("ipv6Forwarding auto: this kernel has no net.ipv6.conf.<dev>.force_forwarding (Linux 6.17+), so " +
                "IPv6 is forwarded by net.ipv6.conf.all.forwarding, with accept_ra=2 wherever router advertisements were " +
                "accepted; destroy restores both", this);
        }
        return this.createChildren(name!, a, arg, forwardAccept, ipv6Method);
    }

    private createChildren(name: string, a: ResolvedArgs, arg: <T>(key: string) => pulumi.Input<T>,
        forwardAccept: Record<4 | 6, boolean>, ipv6Method: Ipv6ForwardingMethod): Outputs {
        const child = (deps: pulumi.Resource[] = []): pulumi.CustomResourceOptions => ({ parent: this, dependsOn: deps });
        const host = a.hostNetns;
        const bridgeName = arg<string>("bridge");
        const outerAddress = arg<string>("outerAddress");
        const innerAddress = arg<string>("innerAddress");

        // Dependencies follow the kernel: a link's master must exist, the peer's namespace too, a route
        // needs its device's address; the rest may go in parallel.
        // IPv6 is on when both IPv6 addresses are given (the checks require both or neither).
        const ipv6 = a.outerAddress6 === undefined ? undefined
            : { outer: arg<string>("outerAddress6"), inner: arg<string>("innerAddress6") };
        const namespace = new Namespace(`${name}-namespace`, { name: arg<string>("namespace") }, child());
        // The gateway's MAC and the inner end's outlive a rename or re-creation of their device, so the
        // neighbour entries that point at them stay valid and traffic flows right after `up`.
        const bridge = new Bridge(`${name}-bridge`, {
            name: bridgeName, netns: host, addresses: [outerAddress, ...(ipv6 ? [ipv6.outer] : [])],
            mac: stableMac(ownerFor(`${name}-bridge`)),
        }, child());
        const tap = new Tap(`${name}-tap`, { name: arg<string>("tap"), netns: host, master: bridgeName }, child([bridge]));
        const veth = new VethPair(`${name}-veth`, {
            name: arg<string>("vethOuter"), netns: host, master: bridgeName, peerName: arg<string>("vethInner"),
            peerNetns: arg<string>("namespace"), peerAddresses: [innerAddress, ...(ipv6 ? [ipv6.inner] : [])],
            peerMac: stableMac(ownerFor(`${name}-veth-peer`)),
        }, child([bridge, namespace]));
        // Forwarding on the bridge (the namespace's traffic enters routing there) and the uplink (the
        // replies do); the bridge's ifindex re-applies it to a re-created bridge in the same up.
        new IpForwarding(`${name}-ip-forward`, {
            netns: host, interfaces: [bridgeName, arg<string>("sendDev")], ipv6: ipv6 !== undefined,
            ...(ipv6 ? { ipv6Method } : {}), triggers: [bridge.ifindex],
        }, child([bridge]));
        new NatRule(`${name}-nat-bridge`, { netns: host, outInterface: bridgeName }, child([bridge]));
        // Each family's rules, from one description; IPv6 has no -o bridge rule (the recipe's is for IPv4).
        const families = [
            { family: 4 as const, suffix: "", outer: outerAddress, inner: innerAddress },
            ...(ipv6 ? [{ family: 6 as const, suffix: "6", ...ipv6 }] : []),
        ];
        for (const f of families) {
            const family = f.family === 6 ? { family: f.family } : {};
            if (forwardAccept[f.family]) {
                new ForwardAccept(`${name}-forward-accept${f.suffix}`, { netns: host, interface: bridgeName, ...family }, child([bridge]));
            }
            // Only the inner subnet is masqueraded out of the uplink, not all of the host's traffic.
            new NatRule(`${name}-nat-uplink${f.suffix}`, {
                netns: host, outInterface: arg<string>("sendDev"), sourceCidr: pulumi.output(f.inner).apply(subnetOf), ...family,
            }, child());
            // The kernel drops the route with the inner end or its address: both are inputs, so a new pair
            // (new ifindex) or address re-adds it in the same `up`.
            new Route(`${name}-default-route${f.suffix}`, {
                netns: arg<string>("namespace"), destination: "default", via: pulumi.output(f.outer).apply((cidr) => cidr.split("/")[0]),
                dev: arg<string>("vethInner"), devIfindex: veth.peerIfindex, onLinkAddress: f.inner,
            }, child([veth]));
        }

        const pins = new BpfPinDir(`${name}-bpf-pins`, {
            root: arg<string>("bpffsRoot"), subdir: `egress-xdp/${pulumi.getProject()}/${pulumi.getStack()}/${name}`,
        }, child());
        // The ingress program first: a flow the egress program starts must find its replies handled.
        const ingress = a.xdpIngressProgram === undefined ? undefined : new XdpAttachment(`${name}-xdp-ingress`, {
            interface: arg<string>("vethInner"), interfaceIndex: veth.peerIfindex, netns: arg<string>("namespace"),
            ...this.programInput(`${name}-xdp-ingress`, a.xdpIngressProgram, child()), section: arg<string>("xdpIngressSection"),
            mode: arg<XdpMode>(a.xdpIngressMode === undefined ? "xdpMode" : "xdpIngressMode"), pinDir: pins.path,
        }, child([veth, pins]));
        // The drop-list is a map per family filled from config: its prefixes are LPM keys, its values the
        // program's counters. Both always set, so an emptied list empties the maps (a program without
        // them needs none).
        const maps = pulumi.all([arg<string[]>("dropPrefixes"), arg<MapFill[]>("xdpMaps")]).apply(([prefixes, fills]): MapFill[] => [
            ...([[dropListMap, "lpm4", 4], [dropListMap6, "lpm6", 6]] as const).map(([map, key, family]) => ({
                map, key, entries: prefixes.filter((prefix) => familyOf(prefix) === family).map((prefix) => ({ key: prefix })),
            })),
            ...fills,
        ]);
        const xdp = new XdpAttachment(`${name}-xdp`, {
            interface: arg<string>("vethOuter"), interfaceIndex: veth.ifindex, netns: host, ...this.programInput(`${name}-xdp`, a.xdpProgram, child()),
            section: arg<string>("xdpSection"), mode: arg<XdpMode>("xdpMode"), pinDir: pins.path, maps,
        }, child([veth, pins, ...(ingress ? [ingress] : [])]));

        const outputs: Outputs = {
            namespace: namespace.name, bridge: bridge.name, tap: tap.name, vethOuter: veth.name, vethInner: veth.peerName,
            outerAddress: pulumi.output(outerAddress), innerAddress: pulumi.output(innerAddress),
            outerAddress6: pulumi.output(ipv6?.outer ?? ""), innerAddress6: pulumi.output(ipv6?.inner ?? ""),
            xdpProgramId: xdp.progId, xdpProgramTag: xdp.tag, effectiveXdpMode: xdp.effectiveMode, xdpMapIds: xdp.mapIds,
            xdpProgramView: xdp.programView, xdpOffloads: xdp.offloads, xdpOffloadChanges: xdp.offloadChanges,
            xdpIngressProgramId: ingress?.progId ?? pulumi.output(0), xdpIngressMode: ingress?.effectiveMode ?? pulumi.output(""),
            xdpIngressMapIds: ingress?.mapIds ?? pulumi.output<Record<string, number>>({}), pinDir: pins.path,
            pinnedMaps: pulumi.all([xdp.pinnedMaps, ingress?.pinnedMaps ?? {}]).apply(([egress, inbound]) => ({ ...inbound, ...egress })),
            hostNetns: pulumi.output(host ?? ""), execPrefix: namespace.name.apply((ns) => ["ip", "netns", "exec", ns]),
        };
        this.registerOutputs(outputs);
        return outputs;
    }

    /**
     * The attachment's program input. A C source is compiled with clang by a local.Command into the
     * object cache (provider/object-cache.ts); its trigger is the object's key (the source's hash), so
     * an edit (of it or of a header it includes by "name") shows in preview as a rebuild and an in-place
     * update of the attachment, and the attachment rebuilds an object the cache lost. A prebuilt object
     * is used as it is. `resource`: the attachment's name (the build is `resource`-build).
     */
    private programInput(resource: string, program: string, opts: pulumi.CustomResourceOptions):
        { source: pulumi.Output<string> } | { objectPath: string } {
        const relative = pathForState(program);
        if (!program.endsWith(".c")) return { objectPath: relative };
        const key = objectKey(buildInputs(program));
        const objectPath = cachedObjectPath(key);
        mkdirSync(objectCacheDir(), { recursive: true });
        const build = new command.local.Command(`${resource}-build`, {
            // No shell: clang's argv is the interpreter and the output path its last argument. The
            // command runs where the program runs, like the attachment's provider.
            interpreter: clangArgv(relative, objectPath).slice(0, -1),
            create: objectPath,
            triggers: [key],
        }, opts);
        return { source: build.stdout.apply(() => relative) };
    }
}

