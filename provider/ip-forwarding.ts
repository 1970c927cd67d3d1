// IpForwarding: net.ipv4.ip_forward=1 in a namespace (the topology's host namespace; the recipe
// forgets it, and a fresh namespace has 0), restored on delete.
//
// Several stacks (or resources) may share one namespace. A ledger file per namespace under
// /run/egress-xdp/ip-forward records the value found before the first holder changed it and what
// each holder wants. A later holder finds 1 (its `previous`) and joins the ledger; only the last
// holder to be deleted restores the original value, so deleting one stack never turns forwarding off
// under another. Two holders wanting different values is refused. Limits: ledger updates are atomic
// within one pulumi process (read-modify-write in one tick) but not between two `pulumi up` runs
// started at the same moment on one namespace. A ledger's file name carries the namespace inode, so a
// recreated namespace never inherits an old one, and deleting a resource whose namespace is gone drops
// that name's ledgers. When the ledger is missing (e.g. /run was cleared), delete restores this
// resource's own `previous`.
import * as pulumi from "@pulumi/pulumi";
import { DynamicResource } from "./dynamic";
import { changeLedgerFile, forgetNamespaceLedgers, namespaceLedgerPath } from "./ledger";
import { netnsExists } from "./netns";
import { qualifiedId } from "./owner";
import { ResourceOutputs, describeProperties } from "./properties";
import { RunContext, run } from "./runner";
import { booleanProblem, netnsNameProblem } from "./validate";

export type SysctlValue = "0" | "1";

/** Who holds ip_forward in one namespace, and its value before the first of them changed it. */
export interface ForwardingLedger {
    original: SysctlValue;
    /** owner -> the value that holder wants. */
    holders: Record<string, SysctlValue>;
}

/** Adds or updates a holder; a holder wanting another value is a conflict (its owner is returned). */
export function claimForwarding(ledger: ForwardingLedger | undefined, owner: string, found: SysctlValue,
    wanted: SysctlValue): { ledger: ForwardingLedger; conflict?: string } {
    const current = ledger && Object.keys(ledger.holders).length > 0 ? ledger : { original: found, holders: {} };
    const conflict = Object.entries(current.holders).find(([other, value]) => other !== owner && value !== wanted)?.[0];
    if (conflict) return { ledger: current, conflict };
    return { ledger: { original: current.original, holders: { ...current.holders, [owner]: wanted } } };
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
 * Removes a holder. The last one out gets the original value to restore and the ledger goes away;
 * without a ledger the caller's own `previous` is restored.
 */
export function releaseForwarding(ledger: ForwardingLedger | undefined, owner: string, previous: SysctlValue):
    { ledger?: ForwardingLedger; restore?: SysctlValue } {
    if (!ledger) return { restore: previous };
    if (!(owner in ledger.holders)) return { ledger };
    const holders = Object.fromEntries(Object.entries(ledger.holders).filter(([other]) => other !== owner));
    return Object.keys(holders).length > 0 ? { ledger: { ...ledger, holders } } : { restore: ledger.original };
}

export const forwardingLedgerDir = "/run/egress-xdp/ip-forward";

/** The ledger of a namespace (see provider/ledger.ts). */
export function forwardingLedgerPath(netns: string | undefined): string {
    return namespaceLedgerPath(forwardingLedgerDir, netns);
}

export interface IpForwardingArgs {
    /** The namespace to forward in; default: the one `pulumi` runs in. */
    netns?: pulumi.Input<string>;
    /** The wanted value of net.ipv4.ip_forward; default true. */
    enabled?: pulumi.Input<boolean>;
}

export interface IpForwardingInputs {
    netns?: string;
    enabled: boolean;
    owner: string;
}

export interface IpForwardingOutputs extends IpForwardingInputs {
    /** The value this resource found before it set its own. */
    previous: SysctlValue;
    current: SysctlValue;
}

export const ipForwardingProperties = describeProperties<IpForwardingInputs, IpForwardingOutputs>({
    netns: { change: "replace", check: netnsNameProblem },
    enabled: { change: "update", check: booleanProblem, default: true },
    owner: {},
    previous: { output: true },
    current: { output: true },
});

export const checkIpForwarding = ipForwardingProperties.check;

const forwardKey = "net.ipv4.ip_forward";

function context(inputs: { netns?: string }): RunContext {
    return { resource: `IpForwarding ${qualifiedId(inputs.netns, forwardKey)}`, netns: inputs.netns };
}

async function readForwarding(ctx: RunContext): Promise<SysctlValue> {
    return (await run(ctx, ["sysctl", "-n", forwardKey])).stdout.trim() === "1" ? "1" : "0";
}

async function writeForwarding(ctx: RunContext, value: SysctlValue): Promise<void> {
    await run(ctx, ["sysctl", "-q", "-w", `${forwardKey}=${value}`]);
}

/** Joins the namespace's ledger and sets the wanted value; returns the value found before (see previousForwarding). */
async function applyForwarding(inputs: IpForwardingInputs): Promise<SysctlValue> {
    const ctx = context(inputs);
    const found = await readForwarding(ctx);
    const wanted: SysctlValue = inputs.enabled ? "1" : "0";
    let conflict: string | undefined;
    let previous = found;
    changeLedgerFile<ForwardingLedger>(forwardingLedgerPath(inputs.netns), (ledger) => {
        previous = previousForwarding(ledger, inputs.owner, found);
        const claim = claimForwarding(ledger, inputs.owner, found, wanted);
        conflict = claim.conflict;
        return claim.ledger;
    });
    if (conflict) {
        throw new Error(`${ctx.resource}: ${conflict} also manages ${forwardKey} in this namespace and wants it ` +
            `${wanted === "1" ? "0" : "1"}; nothing was changed. Make both resources want the same value.`);
    }
    await writeForwarding(ctx, wanted);
    return previous;
}

export const ipForwardingProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: IpForwardingInputs, news: Record<string, unknown>) {
        return ipForwardingProperties.check(news);
    },

    async diff(_id: string, olds: IpForwardingOutputs, news: IpForwardingInputs) {
        return ipForwardingProperties.diff(olds, news);
    },

    async create(inputs: IpForwardingInputs) {
        const previous = await applyForwarding(inputs);
        const current = await readForwarding(context(inputs));
        return { id: qualifiedId(inputs.netns, forwardKey), outs: { ...inputs, previous, current } };
    },

    async read(id: string, props: IpForwardingOutputs) {
        if (!netnsExists(props.netns)) return {};
        const current = await readForwarding(context(props));
        return { id, props: { ...props, enabled: current === "1", current } };
    },

    async update(_id: string, olds: IpForwardingOutputs, news: IpForwardingInputs) {
        await applyForwarding(news);
        return { outs: { ...news, previous: olds.previous, current: await readForwarding(context(news)) } };
    },

    async delete(_id: string, props: IpForwardingOutputs) {
        if (props.netns !== undefined && !netnsExists(props.netns)) {
            forgetNamespaceLedgers(forwardingLedgerDir, props.netns);
            return;
        }
        let restore: SysctlValue | undefined;
        changeLedgerFile<ForwardingLedger>(forwardingLedgerPath(props.netns), (ledger) => {
            const release = releaseForwarding(ledger, props.owner, props.previous);
            restore = release.restore;
            return release.ledger;
        });
        if (restore !== undefined) await writeForwarding(context(props), restore);
    },
};

export interface IpForwarding extends ResourceOutputs<IpForwardingOutputs> {}

/** net.ipv4.ip_forward in a namespace, e.g. on in the host namespace that bridges and NATs. */
export class IpForwarding extends DynamicResource {
    constructor(name: string, args: IpForwardingArgs, opts?: pulumi.CustomResourceOptions) {
        super(name, ipForwardingProperties.resourceProps(name, args), opts, "IpForwarding");
    }
}
