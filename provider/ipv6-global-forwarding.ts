// IPv6 forwarding by the namespace's global switch, for kernels without per-device force_forwarding
// (before Linux 6.17, e.g. Debian 12's 6.1), and what the switch does to the rest of the host:
// - ip6_forward (net/ipv6/ip6_output.c) forwards when conf.all.forwarding is on (or, 6.17+, the
//   ingress device's force_forwarding); per-device forwarding is not consulted for that.
// - A write of conf.all.forwarding (addrconf_fixup_forwarding, net/ipv6/addrconf.c) also writes
//   conf.default.forwarding and every device's conf.<dev>.forwarding (addrconf_forward_change), and on
//   6.17+ a write of 0 clears conf.all.force_forwarding and every device's force_forwarding.
// - A device with forwarding on is a router: it accepts router advertisements only with accept_ra=2
//   (ipv6_accept_ra, include/net/ipv6.h), and every write of a forwarding key with 1 (all or a device)
//   deletes the RA-learnt default routes of every device whose accept_ra is not 2
//   (rt6_purge_dflt_routers, net/ipv6/route.c).
// So before the switch goes on, every conf (default included, the template of devices made later)
// whose forwarding it turns on and that accepts RAs (accept_ra=1) gets accept_ra=2: the host keeps its
// SLAAC default route and keeps learning it. What the switch overwrites is recorded (in the ledger of
// conf.all.forwarding, provider/ip-forwarding.ts) and put back when it goes off: first the switch, then
// each device's and default's forwarding (a device that was a router before is one again), then
// accept_ra (so the purge a restored forwarding=1 causes still spares the RA routes), and the
// force_forwarding values the switch cleared are set again.
import { existsSync } from "fs";
import { RunContext, run } from "./runner";

/** How IPv6 is forwarded: per device (force_forwarding, Linux 6.17+) or by the global switch. */
export const ipv6ForwardingMethods = ["per-device", "global"] as const;
export type Ipv6ForwardingMethod = (typeof ipv6ForwardingMethods)[number];

export function ipv6ForwardingMethodProblem(method: unknown): string | undefined {
    return ipv6ForwardingMethods.includes(method as Ipv6ForwardingMethod) ? undefined
        : `"${String(method)}" must be one of ${ipv6ForwardingMethods.join(", ")}`;
}

export const globalForwardingKey = "net.ipv6.conf.all.forwarding";

/** Whether this kernel has per-device force_forwarding (the same in every namespace). */
export function kernelHasForceForwarding(): boolean {
    return existsSync("/proc/sys/net/ipv6/conf/all/force_forwarding");
}

/** What the global switch's write of `to` does, planned from the namespace's IPv6 conf values. */
export interface GlobalSwitchPlan {
    /**
     * Key -> value before, of what the switch overwrites: default's and every device's forwarding (the
     * write of 1 sets them all, the later write of 0 clears them all, those that were 1 included) and
     * the accept_ra values set to 2.
     */
    rewritten: Record<string, string>;
    /** accept_ra keys set to 2 before the switch goes on. */
    hybridRa: string[];
    /** force_forwarding keys at 1 that a write of 0 clears and that are set again after it, `all` first. */
    forceForwarding: string[];
}

const confKey = /^net\.ipv6\.conf\.([^.]+)\.(forwarding|accept_ra|force_forwarding)$/;

/**
 * Plans a write of conf.all.forwarding=`to` from `values` (key -> value, e.g. parsed `sysctl -a`);
 * `hybridRa`: give accept_ra=2 to the confs it turns into routers that accept RAs.
 */
export function planGlobalSwitch(values: Record<string, string>, to: "0" | "1", hybridRa: boolean): GlobalSwitchPlan {
    const plan: GlobalSwitchPlan = { rewritten: {}, hybridRa: [], forceForwarding: [] };
    const confs = [...new Set(Object.keys(values).map((key) => confKey.exec(key)?.[1]).filter((c): c is string => !!c))]
        .sort((a, b) => (a === "all" ? -1 : b === "all" ? 1 : a.localeCompare(b)));
    for (const conf of confs) {
        const key = (setting: string) => `net.ipv6.conf.${conf}.${setting}`;
        if (to === "0" && values[key("force_forwarding")] === "1") plan.forceForwarding.push(key("force_forwarding"));
        const forwarding = values[key("forwarding")];
        if (conf === "all" || forwarding === undefined) continue;
        plan.rewritten[key("forwarding")] = forwarding;
        if (to === "1" && forwarding === "0" && hybridRa && values[key("accept_ra")] === "1") {
            plan.rewritten[key("accept_ra")] = "1";
            plan.hybridRa.push(key("accept_ra"));
        }
    }
    return plan;
}

/** The order rewritten values are put back in: forwarding keys first, accept_ra last (see above). */
export function restoreOrder(rewritten: Record<string, string>): [string, string][] {
    const entries = Object.entries(rewritten);
    return [...entries.filter(([key]) => !key.endsWith(".accept_ra")), ...entries.filter(([key]) => key.endsWith(".accept_ra"))];
}

/** Parses `sysctl -a` output ("key = value" lines) into key -> value. */
export function parseSysctlValues(text: string): Record<string, string> {
    const values: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const match = /^(\S+) = (.*)$/.exec(line.trim());
        if (match) values[match[1]] = match[2];
    }
    return values;
}

/** The forwarding, accept_ra and force_forwarding values of every IPv6 conf in the namespace. */
export async function readIpv6Confs(ctx: RunContext): Promise<Record<string, string>> {
    const pattern = "^net\\.ipv6\\.conf\\.[^.]+\\.(forwarding|accept_ra|force_forwarding)$";
    return parseSysctlValues((await run(ctx, ["sysctl", "-a", "--pattern", pattern])).stdout);
}

const write = (ctx: RunContext, key: string, value: string) => run(ctx, ["sysctl", "-q", "-w", `${key}=${value}`]);

/** Writes the switch as planned: accept_ra=2 first, the switch, then the cleared force_forwarding values again. */
export async function switchGlobalForwarding(ctx: RunContext, plan: GlobalSwitchPlan, to: "0" | "1"): Promise<void> {
    for (const key of plan.hybridRa) await write(ctx, key, "2");
    await write(ctx, globalForwardingKey, to);
    for (const key of plan.forceForwarding) {
        const now = await run(ctx, ["sysctl", "-n", key], { allowFailure: true });
        if (now.exitCode === 0 && now.stdout.trim() !== "1") await write(ctx, key, "1");
    }
}

/**
 * Puts the switch back to `original` (written only if it differs) and then every value it rewrote,
 * where the key still exists (a device deleted since has nothing to restore).
 */
export async function restoreGlobalForwarding(ctx: RunContext, original: "0" | "1", rewritten: Record<string, string>): Promise<void> {
    const before = await readIpv6Confs(ctx);
    if (before[globalForwardingKey] !== original) await switchGlobalForwarding(ctx, planGlobalSwitch(before, original, false), original);
    const now = await readIpv6Confs(ctx);
    for (const [key, value] of restoreOrder(rewritten)) {
        if (key in now && now[key] !== value) await write(ctx, key, value);
    }
}
