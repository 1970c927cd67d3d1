// The stack config of project egress-xdp: read, checked before anything changes (so a bad key fails
// at preview, naming the key), and turned into EgressXdp args.
import * as pulumi from "@pulumi/pulumi";
import { existsSync, readFileSync } from "fs";
import * as path from "path";
import { readBpfObject, resolveSection } from "../provider/bpf";
import { readLink } from "../provider/link";
import { parseIptablesRules } from "../provider/parse";
import { run } from "../provider/runner";
import {
    CheckFailure, IpFamily, checkListProperty, checkProperty, familyOf, interfaceCidr6Problem, interfaceCidrProblem,
    interfaceNameProblem, netnsNameProblem, networkPrefixProblem, sameSubnet, xdpModeProblem,
} from "../provider/validate";
import { iptablesCommand } from "../provider/iptables";
import { EgressXdpArgs, ResolvedEgressXdpArgs, dropListMap, dropListMap6, resolveArgs } from "./egress-xdp";

/** The keys of the stack config, as declared in Pulumi.yaml. */
export const configKeys = [
    "sendDev", "hostNetns", "namespace", "bridge", "tap", "vethOuter", "vethInner", "outerAddress", "innerAddress",
    "outerAddress6", "innerAddress6", "xdpProgram", "xdpSection", "xdpMode", "dropPrefixes", "forwardAccept",
] as const;

/** The values of config key forwardAccept; auto decides by the host's filter/FORWARD chain. */
export const forwardAcceptChoices = ["auto", "always", "never"] as const;

/** The stack config: EgressXdp's args, except that forwardAccept is one of forwardAcceptChoices (for both families). */
export type StackConfigValues = Omit<EgressXdpArgs, "forwardAccept" | "forwardAccept6"> & { forwardAccept?: string };

/** Reads the stack config; values are checked by configProblems, not here. */
export function readConfig(config: pulumi.Config): StackConfigValues {
    const values: Record<string, unknown> = {};
    for (const key of configKeys) {
        // Pulumi.yaml's default for an unset optional string is "", which means "not set" here.
        values[key] = key === "dropPrefixes" ? config.getObject<string[]>(key) : config.get(key) || undefined;
    }
    return values as unknown as StackConfigValues;
}

/**
 * Whether filter/FORWARD (`iptables -S FORWARD`) forwards everything without rules of ours: policy
 * ACCEPT and no rule at all. Any rule, ours included, could be a host firewall's, so then we add ours.
 */
export function forwardChainAcceptsAll(iptablesS: string): boolean {
    const { rules, policies } = parseIptablesRules(iptablesS);
    return policies.FORWARD === "ACCEPT" && rules.length === 0;
}

/**
 * Resolves forwardAccept for one family: always, never, or (auto) whenever that family's FORWARD
 * chain (iptables or ip6tables) needs them.
 */
async function forwardAcceptWanted(choice: string | undefined, hostNetns: string | undefined, family: IpFamily): Promise<boolean> {
    if (choice === "always") return true;
    if (choice === "never") return false;
    const command = iptablesCommand(family);
    // Listing creates nothing (no table, no hook), so this leaves the host as it is.
    const { stdout } = await run({ resource: "config forwardAccept", netns: hostNetns }, [command, "-w", "-S", "FORWARD"]);
    if (!forwardChainAcceptsAll(stdout)) return true;
    pulumi.log.info(`forwardAccept auto: ${command} filter/FORWARD in ${hostNetns ?? "this namespace"} has policy ACCEPT ` +
        "and no rules, so no accept rules are added (set forwardAccept: always to add them anyway)");
    return false;
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

/** Every problem with the args that can be seen without looking at the host. */
export function configProblems(args: StackConfigValues, projectDir: string): CheckFailure[] {
    const a = resolveArgs({ ...args, forwardAccept: undefined });
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
    checkListProperty(failures, values, "dropPrefixes", networkPrefixProblem);
    if (args.forwardAccept !== undefined && !(forwardAcceptChoices as readonly string[]).includes(args.forwardAccept)) {
        failures.push({ property: "forwardAccept", reason: `"${args.forwardAccept}" is not one of ${forwardAcceptChoices.join(", ")}` });
    }
    const pairs: [string, string | undefined, string, string | undefined][] = [
        ["outerAddress", a.outerAddress, "innerAddress", a.innerAddress],
        ["outerAddress6", a.outerAddress6, "innerAddress6", a.innerAddress6],
    ];
    for (const [outerKey, outer, innerKey, inner] of pairs) {
        if (failures.some((f) => f.property === outerKey || f.property === innerKey)) continue;
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
    const hostNames: [string, string][] = [["sendDev", a.sendDev], ["bridge", a.bridge], ["tap", a.tap], ["vethOuter", a.vethOuter]];
    hostNames.forEach(([key, value], i) => {
        const clash = hostNames.slice(0, i).find(([, other]) => other === value);
        if (clash) failures.push({ property: key, reason: `"${value}" is already the name of ${clash[0]}` });
    });
    if (a.namespace === a.hostNetns) failures.push({ property: "namespace", reason: "must differ from hostNetns" });
    const program = path.resolve(projectDir, a.xdpProgram);
    if (!existsSync(program)) failures.push({ property: "xdpProgram", reason: `${program} does not exist` });
    else if (!/\.(c|o)$/.test(program)) failures.push({ property: "xdpProgram", reason: "must be a .c source or a .o object" });
    else {
        const problem = sectionProblem(program, a.xdpSection);
        if (problem) failures.push({ property: "xdpSection", reason: problem });
        else if (a.dropPrefixes.length > 0 && !failures.some((f) => f.property.startsWith("dropPrefixes"))) {
            const maps = programMaps(program);
            const needed = [...new Set(a.dropPrefixes.map((p) => (familyOf(p) === 6 ? dropListMap6 : dropListMap)))];
            for (const map of needed.filter((m) => !maps.includes(m))) {
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

/** Problems only the host can tell: root, the host namespace and the uplink must exist. */
export async function hostProblems(a: ResolvedEgressXdpArgs): Promise<CheckFailure[]> {
    const failures: CheckFailure[] = [];
    if (process.getuid?.() !== 0) failures.push({ property: "(user)", reason: "egress-xdp must run as root (CAP_NET_ADMIN, CAP_BPF)" });
    if (a.hostNetns !== undefined && !existsSync(`/var/run/netns/${a.hostNetns}`)) {
        failures.push({ property: "hostNetns", reason: `network namespace "${a.hostNetns}" does not exist (ip netns list)` });
        return failures;
    }
    if (failures.length === 0 && !(await readLink({ resource: "config", netns: a.hostNetns }, a.sendDev))) {
        failures.push({
            property: "sendDev",
            reason: `no interface "${a.sendDev}" in ${a.hostNetns ? `namespace ${a.hostNetns}` : "this namespace"} (ip link show)`,
        });
    }
    return failures;
}

/** Checks the config and the host; throws one error naming every bad key, before any resource exists. */
export async function validatedArgs(values: StackConfigValues, projectDir: string): Promise<ResolvedEgressXdpArgs> {
    let failures = configProblems(values, projectDir);
    const args = resolveArgs({ ...values, forwardAccept: undefined });
    if (failures.length === 0) failures = await hostProblems(args);
    if (failures.length > 0) {
        const lines = failures.map((f) => `  ${f.property.startsWith("(") ? f.property : `egress-xdp:${f.property}`}: ${f.reason}`);
        const error = new pulumi.RunError(`invalid stack configuration (nothing was changed):\n${lines.join("\n")}`);
        // Pulumi prints only a RunError's message, yet formats its stack for tracing; through the source
        // maps that takes ~12 s of CPU on every refused preview. The message stands in for the stack.
        error.stack = error.message;
        throw error;
    }
    return {
        ...args, xdpProgram: path.resolve(projectDir, args.xdpProgram),
        forwardAccept: await forwardAcceptWanted(values.forwardAccept, args.hostNetns, 4),
        ...(args.outerAddress6 === undefined ? {} : { forwardAccept6: await forwardAcceptWanted(values.forwardAccept, args.hostNetns, 6) }),
    };
}
