// EgressXdp's args: defaults, and every check the component makes before it creates anything (so a
// bad arg fails at preview, naming it): the values themselves, then what only the host can tell.
import { existsSync, readFileSync } from "fs";
import * as path from "path";
import { readBpfObject, resolveSection } from "../provider/bpf";
import { readLink } from "../provider/link";
import { MapFill, checkMapFills } from "../provider/map-fill";
import { netnsExists } from "../provider/netns";
import { parseIptablesRules } from "../provider/parse";
import { run } from "../provider/runner";
import { iptablesCommand } from "../provider/iptables";
import { Ipv6ForwardingMethod, ipv6ForwardingMethods, kernelHasForceForwarding } from "../provider/ipv6-global-forwarding";
import {
    CheckFailure, IpFamily, XdpMode, checkListProperty, checkProperty, familyOf, interfaceCidr6Problem, interfaceCidrProblem,
    interfaceNameProblem, isUnknown, netnsNameProblem, networkPrefixProblem, sameSubnet, xdpModeProblem,
} from "../provider/validate";

/** The values of forwardAccept: "auto" decides by the host's filter/FORWARD chain; booleans mean always/never. */
export const forwardAcceptChoices = ["auto", "always", "never"] as const;
export type ForwardAcceptChoice = (typeof forwardAcceptChoices)[number];

/**
 * The values of ipv6Forwarding: how IPv6 is forwarded (provider/ip-forwarding.ts); "auto" is
 * per-device where the kernel has force_forwarding (Linux 6.17+), else global.
 */
export const ipv6ForwardingChoices = ["auto", ...ipv6ForwardingMethods] as const;
export type Ipv6ForwardingChoice = (typeof ipv6ForwardingChoices)[number];

/** The method ipv6Forwarding asks for on a kernel with or without force_forwarding. */
export function ipv6ForwardingMethod(choice: Ipv6ForwardingChoice, hasForceForwarding: boolean): Ipv6ForwardingMethod {
    if (choice !== "auto") return choice;
    return hasForceForwarding ? "per-device" : "global";
}

/** Why ipv6Forwarding cannot work on this kernel: per-device needs force_forwarding. */
export function ipv6ForwardingProblem(choice: Ipv6ForwardingChoice, hasForceForwarding: boolean): string | undefined {
    return choice === "per-device" && !hasForceForwarding
        ? "per-device needs net.ipv6.conf.<dev>.force_forwarding (Linux 6.17+), which this kernel has not; use global " +
            "(net.ipv6.conf.all.forwarding with accept_ra=2 where router advertisements are accepted, restored on destroy) or auto"
        : undefined;
}

/** The package's own directory (it holds bpf/), wherever it is installed. */
export const packageRoot = path.resolve(__dirname, "..", "..");

/** The recipe's defaults, for anything the args leave out. */
export const egressXdpDefaults = {
    namespace: "eXDP", bridge: "br_1", tap: "tap_1", vethOuter: "veth_1a", vethInner: "veth_1b",
    outerAddress: "10.0.0.1/24", innerAddress: "10.0.0.2/24",
    /** The package's statistics program. */
    xdpProgram: path.join(packageRoot, "bpf", "xdp_stats.c"), xdpSection: "xdp",
    // Generic, not native: a native program on the outer veth turns TSO off on the inner end, which
    // cuts a TCP sender's throughput to about a sixth; generic keeps it (docs/BENCHMARKS.md).
    xdpMode: "generic" as XdpMode, dropPrefixes: [] as string[], forwardAccept: "auto" as ForwardAcceptChoice | boolean,
    ipv6Forwarding: "auto" as Ipv6ForwardingChoice,
    xdpIngressSection: "xdp", bpffsRoot: "/sys/fs/bpf", xdpMaps: [] as MapFill[],
};

/** The LPM trie maps that hold `dropPrefixes` (bpf/xdp_droplist.c): IPv4 ones, IPv6 ones. */
export const dropListMap = "drop_prefixes";
export const dropListMap6 = "drop_prefixes6";

/** Args with every default filled in, as plain values (unknown ones: the preview's unknown marker). */
export type ResolvedArgs = typeof egressXdpDefaults & {
    sendDev: string; hostNetns?: string; outerAddress6?: string; innerAddress6?: string;
    xdpIngressProgram?: string; xdpIngressMode?: XdpMode;
};

/**
 * Whether filter/FORWARD (`iptables -S FORWARD`) forwards everything without rules of ours: policy
 * ACCEPT and no rule at all. Any rule, ours included, could be a host firewall's, so then we add ours.
 */
export function forwardChainAcceptsAll(iptablesS: string): boolean {
    const { rules, policies } = parseIptablesRules(iptablesS);
    return policies.FORWARD === "ACCEPT" && rules.length === 0;
}

/**
 * Whether the program holds the section: a prebuilt object is read as ELF; a C source must declare
 * it with SEC("...") (clang would otherwise build an object iproute2 cannot attach).
 */
export function sectionProblem(program: string, section: string): string | undefined {
    if (program.endsWith(".o")) {
        let info;
        try {
            info = readBpfObject(readFileSync(program));
        } catch (error) {
            return `${program} ${(error as Error).message}`;
        }
        const resolved = resolveSection(info, section, undefined);
        return "problem" in resolved ? `${program} ${resolved.problem}` : undefined;
    }
    const declared = [...readFileSync(program, "utf8").matchAll(/\bSEC\("([^"]+)"\)/g)].map((m) => m[1])
        .filter((name) => name !== "license" && name !== ".maps");
    return declared.includes(section) ? undefined
        : `${program} declares no SEC("${section}"); its program sections: ${declared.join(", ") || "none"}`;
}

/** The maps a program declares: the ELF symbols in .maps of an object, `} NAME SEC(".maps")` in a C source. */
export function programMaps(program: string): string[] {
    if (program.endsWith(".o")) return readBpfObject(readFileSync(program)).maps;
    return [...readFileSync(program, "utf8").matchAll(/\}\s*([A-Za-z_]\w*)\s+SEC\("\.maps"\)/g)].map((m) => m[1]);
}

const known = (...values: unknown[]): boolean => values.every((value) => !isUnknown(value));

/** Adds the problems of a program key and its section key; true when there are none. */
function programProblems(failures: CheckFailure[], key: string, sectionKey: string, program: string, section: string): boolean {
    const problem = !existsSync(program) ? { property: key, reason: `${program} does not exist` }
        : !/\.(c|o)$/.test(program) ? { property: key, reason: "must be a .c source or a .o object" }
        : sectionProblem(program, section) && { property: sectionKey, reason: sectionProblem(program, section)! };
    if (problem) failures.push(problem);
    return !problem;
}

/**
 * Every problem with the args that can be seen without looking at the host; `xdpProgram` is absolute.
 * Unknown values (args that are Outputs not yet resolved) are skipped, and checked when they resolve.
 */
export function argProblems(a: ResolvedArgs): CheckFailure[] {
    const values = a as unknown as Record<string, unknown>;
    const failures: CheckFailure[] = [];
    checkProperty(failures, values, "sendDev", interfaceNameProblem, true);
    checkProperty(failures, values, "hostNetns", netnsNameProblem);
    checkProperty(failures, values, "namespace", netnsNameProblem, true);
    for (const key of ["bridge", "tap", "vethOuter", "vethInner"]) {
        checkProperty(failures, values, key, interfaceNameProblem, true);
    }
    checkProperty(failures, values, "outerAddress", interfaceCidrProblem, true);
    checkProperty(failures, values, "innerAddress", interfaceCidrProblem, true);
    checkProperty(failures, values, "outerAddress6", interfaceCidr6Problem);
    checkProperty(failures, values, "innerAddress6", interfaceCidr6Problem);
    checkProperty(failures, values, "xdpMode", xdpModeProblem, true);
    checkProperty(failures, values, "xdpIngressMode", xdpModeProblem);
    checkProperty(failures, values, "bpffsRoot", (root: unknown) => typeof root === "string" && path.isAbsolute(root)
        ? undefined : `"${String(root)}" is not an absolute path like /sys/fs/bpf`);
    checkListProperty(failures, values, "dropPrefixes", networkPrefixProblem);
    const choice = a.forwardAccept;
    if (typeof choice !== "boolean" && !(forwardAcceptChoices as readonly unknown[]).includes(choice)) {
        failures.push({ property: "forwardAccept", reason: `"${String(choice)}" is not one of ${forwardAcceptChoices.join(", ")}` });
    }
    if (!(ipv6ForwardingChoices as readonly unknown[]).includes(a.ipv6Forwarding)) {
        failures.push({ property: "ipv6Forwarding", reason: `"${String(a.ipv6Forwarding)}" is not one of ${ipv6ForwardingChoices.join(", ")}` });
    }
    const pairs: [string, string | undefined, string, string | undefined][] = [
        ["outerAddress", a.outerAddress, "innerAddress", a.innerAddress],
        ["outerAddress6", a.outerAddress6, "innerAddress6", a.innerAddress6],
    ];
    for (const [outerKey, outer, innerKey, inner] of pairs) {
        if (failures.some((f) => f.property === outerKey || f.property === innerKey) || !known(outer, inner)) continue;
        if (outer === undefined || inner === undefined) {
            // Only the IPv6 pair is optional: one without the other is a mistake, not "IPv6 off".
            const [missing, given] = outer === undefined ? [outerKey, innerKey] : [innerKey, outerKey];
            if (outer !== inner) failures.push({ property: missing, reason: `is required when ${given} is set` });
        } else if (!sameSubnet(outer, inner)) {
            failures.push({ property: innerKey, reason: `${inner} is not in the subnet of ${outerKey} ${outer}` });
        } else if (outer.split("/")[0] === inner.split("/")[0]) {
            failures.push({ property: innerKey, reason: `must differ from ${outerKey}` });
        }
    }
    // The host namespace holds bridge, tap, outer veth and the uplink: their names must differ.
    const hostNames = ([["sendDev", a.sendDev], ["bridge", a.bridge], ["tap", a.tap], ["vethOuter", a.vethOuter]] as
        [string, string][]).filter(([, value]) => known(value));
    hostNames.forEach(([key, value], i) => {
        const clash = hostNames.slice(0, i).find(([, other]) => other === value);
        if (clash) failures.push({ property: key, reason: `"${value}" is already the name of ${clash[0]}` });
    });
    if (a.namespace === a.hostNetns) failures.push({ property: "namespace", reason: "must differ from hostNetns" });
    const program = a.xdpProgram;
    if (a.xdpIngressProgram !== undefined && known(a.xdpIngressSection)) {
        programProblems(failures, "xdpIngressProgram", "xdpIngressSection", a.xdpIngressProgram, a.xdpIngressSection);
    }
    const { fills, problems } = known(a.xdpMaps) ? checkMapFills(a.xdpMaps) : { fills: [], problems: [] };
    failures.push(...problems.map((p) => ({ ...p, property: p.property.replace(/^maps/, "xdpMaps") })));
    if (known(a.xdpSection) && programProblems(failures, "xdpProgram", "xdpSection", program, a.xdpSection)) {
        const declared = programMaps(program);
        for (const [i, fill] of (fills ?? []).entries()) {
            if (!declared.includes(fill.map)) {
                failures.push({ property: `xdpMaps[${i}]`, reason: `${program} has no map ${fill.map}; its maps: ${declared.join(", ") || "none"}` });
            }
        }
        if (known(a.dropPrefixes) && a.dropPrefixes.length > 0 && !failures.some((f) => f.property.startsWith("dropPrefixes"))) {
            const needed = [...new Set(a.dropPrefixes.map((p) => (familyOf(p) === 6 ? dropListMap6 : dropListMap)))];
            for (const map of needed.filter((m) => !declared.includes(m))) {
                failures.push({
                    property: "dropPrefixes",
                    reason: `${program} has no map ${map} to hold ${map === dropListMap6 ? "IPv6" : "IPv4"} prefixes; ` +
                        "use bpf/xdp_droplist.c or leave dropPrefixes empty",
                });
            }
        }
    }
    return failures;
}

// What the host says, asked once per program run however many instances share a host: a scale
// stack of N instances costs two commands, not 2N.
const hostAnswers = new Map<string, Promise<unknown>>();
function askHostOnce<T>(key: string, ask: () => Promise<T>): Promise<T> {
    if (!hostAnswers.has(key)) hostAnswers.set(key, ask());
    return hostAnswers.get(key) as Promise<T>;
}

/** Problems only the host can tell: root, the host namespace and the uplink must exist, the kernel forward IPv6 as asked. */
export async function hostProblems(a: ResolvedArgs): Promise<CheckFailure[]> {
    const failures: CheckFailure[] = [];
    if (process.getuid?.() !== 0) failures.push({ property: "(user)", reason: "egress-xdp must run as root (CAP_NET_ADMIN, CAP_BPF)" });
    const forwarding6 = a.outerAddress6 === undefined ? undefined : ipv6ForwardingProblem(a.ipv6Forwarding, kernelHasForceForwarding());
    if (forwarding6) failures.push({ property: "ipv6Forwarding", reason: forwarding6 });
    if (!netnsExists(a.hostNetns)) {
        failures.push({ property: "hostNetns", reason: `network namespace "${a.hostNetns}" does not exist (ip netns list)` });
        return failures;
    }
    if (failures.length > 0 || !known(a.sendDev)) return failures;
    const uplink = await askHostOnce(`link ${a.hostNetns ?? ""} ${a.sendDev}`,
        () => readLink({ resource: "EgressXdp sendDev", netns: a.hostNetns }, a.sendDev));
    if (!uplink) {
        failures.push({
            property: "sendDev",
            reason: `no interface "${a.sendDev}" in ${a.hostNetns ? `namespace ${a.hostNetns}` : "this namespace"} (ip link show)`,
        });
    }
    return failures;
}

/**
 * Resolves forwardAccept for one family: always/true, never/false, or (auto) whenever that family's
 * FORWARD chain (iptables or ip6tables) needs them.
 */
export async function forwardAcceptWanted(choice: ForwardAcceptChoice | boolean, hostNetns: string | undefined, family: IpFamily = 4):
    Promise<boolean> {
    if (typeof choice === "boolean") return choice;
    if (choice !== "auto") return choice === "always";
    const command = iptablesCommand(family);
    // Listing creates nothing (no table, no hook), so this leaves the host as it is.
    const { stdout } = await askHostOnce(`forward${family} ${hostNetns ?? ""}`,
        () => run({ resource: "EgressXdp forwardAccept", netns: hostNetns }, [command, "-w", "-S", "FORWARD"]));
    return !forwardChainAcceptsAll(stdout);
}
