// IpForwarding: forwarding on exactly the devices a path needs, in one namespace, restored on delete.
// For each of `interfaces` (the bridge, where the namespace's traffic enters routing, and the uplink,
// where the replies enter) it sets net.ipv4.conf.<dev>.forwarding=1 and, with `ipv6`,
// net.ipv6.conf.<dev>.force_forwarding=1 (`ipv6Method` per-device) or, on a kernel without
// force_forwarding, net.ipv6.conf.all.forwarding=1 with accept_ra=2 where RAs are accepted
// (`ipv6Method` global, provider/ipv6-global-forwarding.ts). Why per device where the kernel can:
// - IPv4 forwards a received packet when its *ingress* device has forwarding on (IN_DEV_FORWARD(in_dev)
//   in ip_route_input_slow, net/ipv4/route.c); net.ipv4.ip_forward is not consulted. Writing ip_forward
//   (devinet.c, inet_forward_change) rewrites conf.default and every device's conf.<dev>.forwarding, so
//   a host's own per-device values would not survive a 0->1->0 cycle.
// - IPv6 ignores conf.<dev>.forwarding for forwarding: ip6_forward needs conf.all.forwarding or (Linux
//   6.17+) the ingress device's force_forwarding. conf.all.forwarding=1 also rewrites every device's
//   forwarding, which turns the host into a router: it drops its RA-learned default routes and ignores
//   router advertisements wherever accept_ra=1, so a host with a SLAAC uplink loses its IPv6 default
//   route. force_forwarding forwards without that: the uplink keeps accepting RAs (tested in a lab with
//   an RA sender). The global method keeps RAs working by accept_ra=2 instead, but every device of the
//   namespace then forwards IPv6, is a router to its neighbours (router flag in neighbour
//   advertisements, all-routers groups) and ignores redirects.
// - LRO: the kernel turns LRO off on a device whose IPv4 forwarding is turned on (dev_disable_lro;
//   aggregated frames cannot be forwarded) and does not turn it back on when forwarding goes back to 0.
//   Only devices whose value this resource changes are affected (bridge and uplink); restore LRO on the
//   uplink by hand after destroy if it had it (`ethtool -K DEV lro on`).
//
// Several stacks (or resources) may share a device, e.g. two instances on one uplink. A ledger file
// per namespace under /run/egress-xdp/forwarding records, per sysctl key, the value found before the
// first holder changed it and what each holder wants. A later holder finds 1 (its `previous`) and joins;
// only the last holder of a key to be deleted restores the original value, so deleting one stack never
// turns forwarding off under another. Two holders wanting different values is refused. Limits: ledger
// updates are atomic within one pulumi process (read-modify-write in one tick) but not between two
// `pulumi up` runs started at the same moment on one namespace. A ledger's file name carries the
// namespace inode, so a recreated namespace never inherits an old one, and deleting a resource whose
// namespace is gone drops that name's ledgers. When the ledger is missing (e.g. /run was cleared),
// delete restores this resource's own `previous`. A key whose device is gone has nothing to restore.
// The ledger of net.ipv6.conf.all.forwarding also keeps what the switch rewrote when it went on
// (`rewritten`); the last holder out puts those back too.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DynamicResource } from "./dynamic";
import {
    Ipv6ForwardingMethod, globalForwardingKey, ipv6ForwardingMethodProblem, planGlobalSwitch, readIpv6Confs,
    restoreGlobalForwarding, switchGlobalForwarding,
} from "./ipv6-global-forwarding";
import { changeLedgerFile, forgetNamespaceLedgers, namespaceLedgerPath, readLedgerFile } from "./ledger";
import { netnsExists } from "./netns";
import { qualifiedId } from "./owner";
import { ResourceOutputs, describeProperties, unorderedList } from "./properties";
import { RunContext, run } from "./runner";
import { CheckFailure, booleanProblem, interfaceNameProblem, netnsNameProblem } from "./validate";

export type SysctlValue = "0" | "1";

/** Who holds one sysctl key in one namespace, and its value before the first of them changed it. */
export interface ForwardingLedger {
    original: SysctlValue;
    /** owner -> the value that holder wants. */
    holders: Record<string, SysctlValue>;
    /** Of the global IPv6 switch: the values its write rewrote (provider/ipv6-global-forwarding.ts), put back with it. */
    rewritten?: Record<string, string>;
}

/** The ledgers of one namespace, by sysctl key. */
export type ForwardingLedgers = Record<string, ForwardingLedger>;

/**
 * Adds or updates a holder; a holder wanting another value is a conflict (its owner is returned).
 * `rewritten`: what the holder's write of the key will rewrite elsewhere; values recorded earlier win
 * (they are what was there before egress-xdp).
 */
export function claimForwarding(ledger: ForwardingLedger | undefined, owner: string, found: SysctlValue,
    wanted: SysctlValue, rewritten: Record<string, string> = {}): { ledger: ForwardingLedger; conflict?: string } {
    const current: ForwardingLedger = ledger && Object.keys(ledger.holders).length > 0 ? ledger : { original: found, holders: {} };
    const conflict = Object.entries(current.holders).find(([other, value]) => other !== owner && value !== wanted)?.[0];
    if (conflict) return { ledger: current, conflict };
    const recorded = { ...rewritten, ...current.rewritten };
    return {
        ledger: {
            original: current.original, holders: { ...current.holders, [owner]: wanted },
            ...(Object.keys(recorded).length > 0 ? { rewritten: recorded } : {}),
        },
    };
}

/**
 * The value a holder found before it changed anything: `found`, unless the ledger already lists the
 * holder. Then its own create was interrupted after setting the value (pulumi killed), `found` is that
 * value, and the ledger's original is what was there before.
 */
export function previousForwarding(ledger: ForwardingLedger | undefined, owner: string, found: SysctlValue): SysctlValue {
    return ledger && owner in ledger.holders ? ledger.original : found;
}

/**
 * Removes a holder. The last one out gets the original value to restore (and what the key's write
 * rewrote) and the ledger goes away; without a ledger the caller's own `previous` is restored.
 */
export function releaseForwarding(ledger: ForwardingLedger | undefined, owner: string, previous: SysctlValue):
    { ledger?: ForwardingLedger; restore?: SysctlValue; rewritten?: Record<string, string> } {
    if (!ledger) return { restore: previous };
    if (!(owner in ledger.holders)) return { ledger };
    const holders = Object.fromEntries(Object.entries(ledger.holders).filter(([other]) => other !== owner));
    if (Object.keys(holders).length > 0) return { ledger: { ...ledger, holders } };
    return { restore: ledger.original, ...(ledger.rewritten ? { rewritten: ledger.rewritten } : {}) };
}

/** The sysctl name of a device's setting; a '.' in a device name is written '/' (sysctl's rule). */
export function deviceSysctl(family: "ipv4" | "ipv6", device: string, setting: string): string {
    return `net.${family}.conf.${device.replace(/\./g, "/")}.${setting}`;
}

/**
 * The keys a resource sets: IPv4 forwarding of each interface and, with ipv6, IPv6 force_forwarding of
 * each (per-device; also state without a method, made before there was a choice) or the global switch.
 */
export function forwardingKeys(inputs: { interfaces: string[]; ipv6?: boolean; ipv6Method?: Ipv6ForwardingMethod }): string[] {
    const global = inputs.ipv6 && inputs.ipv6Method === "global";
    return [
        ...inputs.interfaces.flatMap((device) => [
            deviceSysctl("ipv4", device, "forwarding"),
            ...(inputs.ipv6 && !global ? [deviceSysctl("ipv6", device, "force_forwarding")] : []),
        ]),
        ...(global ? [globalForwardingKey] : []),
    ];
}

export const forwardingLedgerDir = "/run/egress-xdp/forwarding";

/** The ledgers of a namespace (see provider/ledger.ts). */
export function forwardingLedgerPath(netns: string | undefined): string {
    return namespaceLedgerPath(forwardingLedgerDir, netns);
}

/** Changes a namespace's ledgers in one synchronous step (provider/ledger.ts); none left removes the file. */
function changeLedgers(file: string, change: (ledgers: ForwardingLedgers) => ForwardingLedgers): void {
    changeLedgerFile<ForwardingLedgers>(file, (ledgers) => {
        const after = change(ledgers ?? {});
        return Object.keys(after).length > 0 ? after : undefined;
    });
}

export interface IpForwardingArgs {
    /** The namespace to forward in; default: the one `pulumi` runs in. */
    netns?: pulumi.Input<string>;
    /** The devices forwarded packets enter by: the bridge (outbound) and the uplink (replies). */
    interfaces: pulumi.Input<pulumi.Input<string>[]>;
    /** Forward IPv6 too; default false. */
    ipv6?: pulumi.Input<boolean>;
    /**
     * How: "per-device" (default; force_forwarding of each interface, Linux 6.17+) or "global"
     * (net.ipv6.conf.all.forwarding, with accept_ra=2 where RAs were accepted; restored exactly).
     */
    ipv6Method?: pulumi.Input<Ipv6ForwardingMethod>;
    /** The wanted value of every key; default true. */
    enabled?: pulumi.Input<boolean>;
    /** Values whose change re-applies the settings, e.g. the bridge's ifindex: a re-created bridge starts with forwarding off. */
    triggers?: pulumi.Input<pulumi.Input<unknown>[]>;
}

export interface IpForwardingInputs {
    netns?: string;
    interfaces: string[];
    ipv6: boolean;
    ipv6Method: Ipv6ForwardingMethod;
    enabled: boolean;
    triggers?: unknown[];
    owner: string;
}

export interface IpForwardingOutputs extends IpForwardingInputs {
    /** By sysctl key: the value this resource found before it set its own. */
    previous: Record<string, SysctlValue>;
    /** By sysctl key: the value now (keys of devices that are gone are left out). */
    current: Record<string, SysctlValue>;
}

export const ipForwardingProperties = describeProperties<IpForwardingInputs, IpForwardingOutputs>({
    netns: { change: "replace", check: netnsNameProblem },
    interfaces: { change: "update", check: unorderedList(interfaceNameProblem), required: true },
    ipv6: { change: "update", check: booleanProblem, default: false },
    ipv6Method: { change: "update", check: ipv6ForwardingMethodProblem, default: "per-device" },
    enabled: { change: "update", check: booleanProblem, default: true },
    triggers: { change: "update" },
    owner: {},
    previous: { output: true },
    current: { output: true },
});

function context(inputs: { netns?: string; interfaces: string[] }): RunContext {
    return { resource: `IpForwarding ${qualifiedId(inputs.netns, inputs.interfaces.join(","))}`, netns: inputs.netns };
}

function sysctlFile(key: string): string {
    return path.join("/proc/sys", ...key.split("."));
}

/** The values of the keys that exist in the namespace (a device that is gone has none). */
async function readKeys(ctx: RunContext, keys: string[]): Promise<Record<string, SysctlValue>> {
    const values: Record<string, SysctlValue> = {};
    for (const key of keys) {
        const result = await run(ctx, ["sysctl", "-n", key], { allowFailure: true });
        if (result.exitCode === 0) values[key] = result.stdout.trim() === "0" ? "0" : "1";
        else if (!/cannot stat|No such file/i.test(result.stderr)) await run(ctx, ["sysctl", "-n", key]); // throws with the real error
    }
    return values;
}

/** Why a key the inputs need cannot be set: its device is missing, IPv6 is off, or this kernel lacks force_forwarding. */
async function missingKeyProblem(ctx: RunContext, key: string): Promise<string> {
    if (key === globalForwardingKey) return "IPv6 is disabled in this namespace or kernel (no /proc/sys/net/ipv6/conf/all)";
    const device = key.split(".")[3].replace(/\//g, ".");
    const deviceThere = (await run(ctx, ["ip", "link", "show", "dev", device], { allowFailure: true })).exitCode === 0;
    if (!deviceThere) return `device ${device} does not exist; create it first (make this resource depend on it)`;
    const release = (await run(ctx, ["uname", "-r"])).stdout.trim();
    return `this kernel (${release}) has no ${sysctlFile(key)}: forwarding IPv6 through single devices needs ` +
        "net.ipv6.conf.<dev>.force_forwarding (Linux 6.17+). Use ipv6Method global (EgressXdp: ipv6Forwarding global " +
        "or auto), which turns on net.ipv6.conf.all.forwarding with accept_ra=2 where router advertisements are " +
        "accepted, restored on delete; or upgrade the kernel, or leave the IPv6 addresses unset";
}

/**
 * The accept_ra values the global switch's holders set to 2 (its ledger's rewritten accept_ra keys) that are
 * no longer 2: reset by hand, which makes that router device ignore RAs, so its RA-learnt default route expires.
 */
async function resetRouterRaKeys(ctx: RunContext, netns: string | undefined): Promise<string[]> {
    const rewritten = readLedgerFile<ForwardingLedgers>(forwardingLedgerPath(netns))?.[globalForwardingKey]?.rewritten ?? {};
    const keys = Object.keys(rewritten).filter((key) => key.endsWith(".accept_ra"));
    if (keys.length === 0) return [];
    const now = await readIpv6Confs(ctx);
    return keys.filter((key) => key in now && now[key] !== "2");
}

/** Joins the namespace's ledgers and sets the wanted values; returns the values found before (see previousForwarding). */
async function applyForwarding(inputs: IpForwardingInputs): Promise<Record<string, SysctlValue>> {
    const ctx = context(inputs);
    const keys = forwardingKeys(inputs);
    const found = await readKeys(ctx, keys);
    for (const key of keys) {
        if (!(key in found)) throw new Error(`${ctx.resource}: cannot set ${key}: ${await missingKeyProblem(ctx, key)}`);
    }
    const wanted: SysctlValue = inputs.enabled ? "1" : "0";
    // The global switch's side effects are planned (and recorded with the claim) before it is written.
    const globalSwitch = keys.includes(globalForwardingKey) && found[globalForwardingKey] !== wanted
        ? planGlobalSwitch(await readIpv6Confs(ctx), wanted, true) : undefined;
    const previous: Record<string, SysctlValue> = {};
    let conflict: { key: string; owner: string } | undefined;
    changeLedgers(forwardingLedgerPath(inputs.netns), (ledgers) => {
        const claimed = { ...ledgers };
        for (const key of keys) {
            const rewritten = key === globalForwardingKey ? globalSwitch?.rewritten : undefined;
            const claim = claimForwarding(ledgers[key], inputs.owner, found[key], wanted, rewritten);
            if (claim.conflict) {
                conflict = { key, owner: claim.conflict };
                return ledgers;
            }
            previous[key] = previousForwarding(ledgers[key], inputs.owner, found[key]);
            claimed[key] = claim.ledger;
        }
        return claimed;
    });
    if (conflict) {
        throw new Error(`${ctx.resource}: ${conflict.owner} also manages ${conflict.key} in this namespace and wants it ` +
            `${wanted === "1" ? "0" : "1"}; nothing was changed. Make both resources want the same value.`);
    }
    // Only values that differ are written: a write of 1 turns LRO off even where forwarding was on.
    for (const key of keys.filter((k) => found[k] !== wanted)) {
        if (key === globalForwardingKey) await switchGlobalForwarding(ctx, globalSwitch!, wanted);
        else await run(ctx, ["sysctl", "-q", "-w", `${key}=${wanted}`]);
    }
    if (wanted === "1" && keys.includes(globalForwardingKey)) {
        for (const key of await resetRouterRaKeys(ctx, inputs.netns)) await run(ctx, ["sysctl", "-q", "-w", `${key}=2`]);
    }
    return previous;
}

/** Leaves the ledgers of `keys`, restoring each key this holder was the last to hold (where its device still is). */
async function releaseKeys(props: IpForwardingOutputs, keys: string[]): Promise<void> {
    const restore: Record<string, SysctlValue> = {};
    let rewritten: Record<string, string> = {};
    changeLedgers(forwardingLedgerPath(props.netns), (ledgers) => {
        const released = { ...ledgers };
        for (const key of keys) {
            const release = releaseForwarding(ledgers[key], props.owner, props.previous[key] ?? "0");
            if (release.restore !== undefined && key in props.previous) restore[key] = release.restore;
            if (key === globalForwardingKey) rewritten = release.rewritten ?? {};
            if (release.ledger) released[key] = release.ledger;
            else delete released[key];
        }
        return released;
    });
    const ctx = context(props);
    const present = await readKeys(ctx, Object.keys(restore));
    for (const [key, value] of Object.entries(restore)) {
        // The switch's rewritten values go back even when it is found as it was (someone turned it off).
        if (key === globalForwardingKey) await restoreGlobalForwarding(ctx, value, rewritten);
        else if (key in present && present[key] !== value) await run(ctx, ["sysctl", "-q", "-w", `${key}=${value}`]);
    }
}

/** Where the version that set net.ipv4.ip_forward kept its ledgers (one ForwardingLedger a namespace). */
const ipForwardLedgerDir = "/run/egress-xdp/ip-forward";

/** The state of the version that set net.ipv4.ip_forward. */
interface IpForwardState {
    netns?: string;
    owner: string;
    previous: SysctlValue;
}

/** Deletes a resource of the ip_forward version the way it was made: the last holder restores ip_forward. */
async function deleteIpForward(props: IpForwardState): Promise<void> {
    let restore: SysctlValue | undefined;
    changeLedgerFile<ForwardingLedger>(namespaceLedgerPath(ipForwardLedgerDir, props.netns), (ledger) => {
        const release = releaseForwarding(ledger, props.owner, props.previous);
        restore = release.restore;
        return release.ledger;
    });
    if (restore !== undefined) {
        await run({ resource: "IpForwarding net.ipv4.ip_forward", netns: props.netns },
            ["sysctl", "-q", "-w", `net.ipv4.ip_forward=${restore}`]);
    }
}

/** The properties' checks, a device at least, each device once. */
export function checkIpForwarding(news: Record<string, unknown>): { inputs: IpForwardingInputs; failures: CheckFailure[] } {
    const { inputs, failures } = ipForwardingProperties.check(news);
    if (Array.isArray(news.interfaces) && news.interfaces.length === 0) {
        failures.push({ property: "interfaces", reason: "must name a device" });
    }
    if (Array.isArray(inputs.interfaces)) inputs.interfaces = [...new Set(inputs.interfaces)];
    return { inputs, failures };
}

export const ipForwardingProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: IpForwardingInputs, news: Record<string, unknown>) {
        return checkIpForwarding(news);
    },

    async diff(_id: string, olds: IpForwardingOutputs, news: IpForwardingInputs) {
        // State of the ip_forward version is replaced, deleting first: its restore of ip_forward rewrites
        // every device's forwarding and would undo the new per-device values.
        if (!Array.isArray(olds.interfaces)) return { changes: true, replaces: ["interfaces"], deleteBeforeReplace: true };
        return ipForwardingProperties.diff(olds, news);
    },

    async create(inputs: IpForwardingInputs) {
        const previous = await applyForwarding(inputs);
        const current = await readKeys(context(inputs), forwardingKeys(inputs));
        return { id: qualifiedId(inputs.netns, `forwarding/${inputs.interfaces.join(",")}`), outs: { ...inputs, previous, current } };
    },

    async read(id: string, props: IpForwardingOutputs) {
        if (!netnsExists(props.netns)) return {};
        // State of the ip_forward version is read as that version read it; the next up replaces it.
        if (!Array.isArray(props.interfaces)) {
            const { stdout } = await run({ resource: "IpForwarding net.ipv4.ip_forward", netns: props.netns },
                ["sysctl", "-n", "net.ipv4.ip_forward"]);
            const current: SysctlValue = stdout.trim() === "1" ? "1" : "0";
            return { id, props: { ...props, enabled: current === "1", current } };
        }
        const keys = forwardingKeys(props);
        const current = await readKeys(context(props), keys);
        // Any key off its wanted value shows as the other `enabled`, so the next up sets them all again; so does
        // an accept_ra the switch set to 2 and found reset.
        const raReset = props.enabled && keys.includes(globalForwardingKey) ? await resetRouterRaKeys(context(props), props.netns) : [];
        const asWanted = raReset.length === 0 && keys.every((key) => current[key] === (props.enabled ? "1" : "0"));
        return { id, props: { ...props, enabled: asWanted ? props.enabled : !props.enabled, current } };
    },

    async update(_id: string, olds: IpForwardingOutputs, news: IpForwardingInputs) {
        const wantedKeys = forwardingKeys(news);
        await releaseKeys(olds, forwardingKeys(olds).filter((key) => !wantedKeys.includes(key)));
        const previous = { ...olds.previous, ...await applyForwarding(news) };
        const kept = Object.fromEntries(Object.entries(previous).filter(([key]) => wantedKeys.includes(key)));
        return { outs: { ...news, previous: kept, current: await readKeys(context(news), wantedKeys) } };
    },

    async delete(_id: string, props: IpForwardingOutputs) {
        if (props.netns !== undefined && !netnsExists(props.netns)) {
            forgetNamespaceLedgers(forwardingLedgerDir, props.netns);
            forgetNamespaceLedgers(ipForwardLedgerDir, props.netns);
            return;
        }
        if (!Array.isArray(props.interfaces)) await deleteIpForward(props as unknown as IpForwardState);
        else await releaseKeys(props, forwardingKeys(props));
    },
};

export interface IpForwarding extends ResourceOutputs<IpForwardingOutputs> {}

/** Forwarding on the devices of one path, e.g. the bridge and the uplink of the host namespace that bridges and NATs. */
export class IpForwarding extends DynamicResource {
    constructor(name: string, args: IpForwardingArgs, opts?: pulumi.CustomResourceOptions) {
        super(name, ipForwardingProperties.resourceProps(name, args), opts, "IpForwarding");
    }
}
