// VethPair: two veth ends, `name` in `netns` and `peerName` in `peerNetns`
// (`ip link add NAME type veth peer name PEER [netns PEERNS]`). Deleting either end, or the namespace
// of either end, destroys the whole pair, so the pair is one resource.
import * as pulumi from "@pulumi/pulumi";
import { DynamicResource } from "./dynamic";
import {
    LinkInputs, LinkOutputs, addOwnedLinks, applyLinkSettings, claimLinkNameOfKind, deleteOwnedLink, linkProperties, markLink,
    readLink,
} from "./link";
import { netnsExists, netnsPath, requireNetns } from "./netns";
import { qualifiedId } from "./owner";
import { LinkState, areVethPeers } from "./parse";
import { ResourceOutputs, describeProperties, unorderedList } from "./properties";
import { RunContext, run } from "./runner";
import {
    CheckFailure, booleanProblem, interfaceAddressProblem, interfaceNameClashProblem, interfaceNameProblem, netnsNameProblem,
    unicastMacProblem,
} from "./validate";

export interface VethPairArgs {
    /** The first end's interface name (1-15 characters), e.g. the recipe's veth_1a. */
    name: pulumi.Input<string>;
    /** The namespace `name` lives in; default: the one `pulumi` runs in. */
    netns?: pulumi.Input<string>;
    /** The other end's interface name, e.g. the recipe's veth_1b. */
    peerName: pulumi.Input<string>;
    /** The namespace the peer lives in (made with `ip netns add`); default: `netns`. */
    peerNetns?: pulumi.Input<string>;
    /** IPv4 and IPv6 addresses with prefix on `name`, e.g. ["10.0.0.1/24"]. */
    addresses?: pulumi.Input<pulumi.Input<string>[]>;
    /** IPv4 and IPv6 addresses with prefix on the peer, e.g. ["10.0.0.2/24", "fd00::2/64"]. */
    peerAddresses?: pulumi.Input<pulumi.Input<string>[]>;
    /** MTU of both ends. */
    mtu?: pulumi.Input<number>;
    /** Administrative state of `name`; default true. */
    up?: pulumi.Input<boolean>;
    /** Administrative state of the peer; default true. */
    peerUp?: pulumi.Input<boolean>;
    /**
     * The peer's MAC address; default: the one the kernel gave it. A MAC that outlives the pair (e.g.
     * derived from the component, see EgressXdp) keeps the neighbour entries of others for the peer's
     * address valid when the pair is re-created.
     */
    peerMac?: pulumi.Input<string>;
    /** The bridge (in `netns`) that `name` joins; unset means no bridge. */
    master?: pulumi.Input<string>;
    /** Take over an existing pair with these names instead of failing. */
    adopt?: pulumi.Input<boolean>;
}

export interface VethPairInputs extends LinkInputs {
    peerName: string;
    peerNetns?: string;
    addresses: string[];
    peerAddresses: string[];
    peerUp: boolean;
    peerMac?: string;
    master?: string;
}

/** mtu, ifindex and mac as read on the `name` end. */
export type VethPairOutputs = VethPairInputs & LinkOutputs & { peerIfindex: number; peerMac: string };

export const vethPairProperties = describeProperties<VethPairInputs, VethPairOutputs>({
    ...linkProperties,
    peerName: { change: "replace", check: interfaceNameProblem, required: true },
    peerNetns: { change: "replace", check: netnsNameProblem },
    peerUp: { change: "update", check: booleanProblem, default: true },
    peerMac: { change: "update", check: unicastMacProblem, observed: true },
    master: { change: "update", check: interfaceNameProblem },
    addresses: { change: "update", check: unorderedList(interfaceAddressProblem) },
    peerAddresses: { change: "update", check: unorderedList(interfaceAddressProblem) },
    mac: { output: true },
    peerIfindex: { output: true },
}, { deleteBeforeReplace: true });

type Ends = { name: string; netns?: string; peerName: string; peerNetns?: string };

function context(inputs: Ends): RunContext {
    return { resource: `VethPair ${inputs.name}`, netns: inputs.netns };
}

function peerContext(inputs: Ends): RunContext {
    return { resource: `VethPair ${inputs.name}`, netns: inputs.peerNetns };
}

function outputsOf(inputs: VethPairInputs, end: LinkState, peer: LinkState): VethPairOutputs {
    return {
        ...inputs, mtu: end.mtu, up: end.up, master: end.master, addresses: [...end.addresses].sort(),
        peerUp: peer.up, peerAddresses: [...peer.addresses].sort(),
        ifindex: end.ifindex, mac: end.mac, peerIfindex: peer.ifindex, peerMac: peer.mac,
    };
}

/** The properties' checks, the peer's namespace defaulting to `netns`, and distinct names in one namespace. */
export function checkVethPair(news: Record<string, unknown>): { inputs: VethPairInputs; failures: CheckFailure[] } {
    const { inputs, failures } = vethPairProperties.check(news);
    const peerNetns = news.peerNetns ?? news.netns;
    const clash = interfaceNameClashProblem(news.name, news.netns, news.peerName, peerNetns);
    if (clash) failures.push({ property: "peerName", reason: clash });
    return { inputs: { ...inputs, peerNetns } as VethPairInputs, failures };
}

/** Both ends as the kernel has them, when they still are one pair. */
async function readPair(inputs: Ends): Promise<[LinkState, LinkState] | undefined> {
    const end = await readLink(context(inputs), inputs.name);
    const peer = await readLink(peerContext(inputs), inputs.peerName);
    return end && peer && areVethPeers(end, peer) ? [end, peer] : undefined;
}

/** Both ends, or an error that says which one is missing or that they are not each other's peer. */
async function readVerifiedPair(inputs: Ends): Promise<[LinkState, LinkState]> {
    const pair = await readPair(inputs);
    if (pair) return pair;
    const where = (netns?: string) => (netns ? ` in netns ${netns}` : "");
    throw new Error(`${context(inputs).resource}: ${inputs.name}${where(inputs.netns)} and ` +
        `${inputs.peerName}${where(inputs.peerNetns)} are not the two ends of one veth pair (one is missing, or ` +
        "each is paired with another link); they were left as they are. Remove the stray link yourself or fix " +
        "`name`/`peerName`, then run `pulumi refresh` and `pulumi up`.");
}

/** Brings both ends of a verified pair to the inputs and returns what the kernel then reports. */
async function configure(inputs: VethPairInputs, [end, peer]: [LinkState, LinkState]): Promise<VethPairOutputs> {
    await applyLinkSettings(context(inputs), inputs.name, { ...inputs, master: inputs.master ?? null }, end);
    await applyLinkSettings(peerContext(inputs), inputs.peerName,
        { mtu: inputs.mtu, mac: inputs.peerMac, up: inputs.peerUp, addresses: inputs.peerAddresses }, peer);
    return outputsOf(inputs, ...await readVerifiedPair(inputs));
}

export const vethPairProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: VethPairInputs, news: Record<string, unknown>) {
        return checkVethPair(news);
    },

    async diff(_id: string, olds: VethPairOutputs, news: VethPairInputs) {
        return vethPairProperties.diff(olds, news);
    },

    async create(inputs: VethPairInputs) {
        const ctx = context(inputs);
        const peerCtx = peerContext(inputs);
        requireNetns(ctx.resource, "netns", inputs.netns);
        requireNetns(ctx.resource, "peerNetns", inputs.peerNetns);
        const claims = [
            await claimLinkNameOfKind(ctx, inputs.name, "veth", inputs.owner, inputs.adopt),
            await claimLinkNameOfKind(peerCtx, inputs.peerName, "veth", inputs.owner, inputs.adopt),
        ];
        const created = claims.every((claim) => claim === "create");
        if (created) {
            // The peer is made in its namespace, named by path: iproute2 reads a name it cannot open as
            // a PID, and `netns 1` would put the peer in the root namespace.
            const peerPlace = inputs.peerNetns !== undefined && inputs.peerNetns !== inputs.netns
                ? ["netns", netnsPath(inputs.peerNetns)] : [];
            await addOwnedLinks([{ ctx, name: inputs.name }, { ctx: peerCtx, name: inputs.peerName }], inputs.owner,
                () => run(ctx, ["ip", "link", "add", "dev", inputs.name, "type", "veth", "peer", "name", inputs.peerName,
                    ...peerPlace]));
        }
        const pair = await readVerifiedPair(inputs); // before marking adopted links, so links that are no pair stay untouched
        if (!created) {
            await markLink(ctx, inputs.name, inputs.owner);
            await markLink(peerCtx, inputs.peerName, inputs.owner);
        }
        return { id: qualifiedId(inputs.netns, inputs.name), outs: await configure(inputs, pair) };
    },

    async read(id: string, props: VethPairOutputs) {
        const pair = await readPair(props);
        return pair ? { id, props: outputsOf(props, ...pair) } : {};
    },

    async update(_id: string, _olds: VethPairOutputs, news: VethPairInputs) {
        return { outs: await configure(news, await readVerifiedPair(news)) };
    },

    async delete(_id: string, props: VethPairOutputs) {
        // The kernel destroys the pair with either end's namespace (a moment after `ip netns del`).
        if (!netnsExists(props.netns) || !netnsExists(props.peerNetns)) return;
        // Deleting one end removes both; the peer end is used only when the `name` end is already gone.
        const ctx = context(props);
        if (await readLink(ctx, props.name)) await deleteOwnedLink(ctx, props.name, props.owner);
        else await deleteOwnedLink(peerContext(props), props.peerName, props.owner);
    },
};

export interface VethPair extends ResourceOutputs<VethPairOutputs> {}

/** A veth pair, e.g. the recipe's veth_1a (on br_1) and veth_1b (in eXDP). */
export class VethPair extends DynamicResource {
    constructor(name: string, args: VethPairArgs, opts?: pulumi.CustomResourceOptions) {
        super(name, vethPairProperties.resourceProps(name, args), opts, "VethPair");
    }
}
