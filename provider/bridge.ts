// Bridge: a Linux bridge with its IPv4 addresses (`ip link add NAME type bridge`).
import * as pulumi from "@pulumi/pulumi";
import { engineSafe } from "./dynamic";
import { diffProperties } from "./diff";
import {
    applyLinkSettings, claimLinkNameOfKind, deleteOwnedLink, markLink, readExistingLink, readLink, requireNetns,
} from "./link";
import { ownerFor, qualifiedId } from "./owner";
import { LinkState } from "./parse";
import { RunContext, run } from "./runner";
import { CheckFailure, checkLinkProperties, checkListProperty, interfaceCidrProblem, sortedListInput } from "./validate";

export interface BridgeArgs {
    /** The bridge's interface name (1-15 characters). */
    name: pulumi.Input<string>;
    /** The namespace the bridge lives in; default: the one `pulumi` runs in. */
    netns?: pulumi.Input<string>;
    /** IPv4 addresses with prefix, e.g. ["10.0.0.1/24"]. */
    addresses?: pulumi.Input<pulumi.Input<string>[]>;
    mtu?: pulumi.Input<number>;
    /** Administrative state; default true. */
    up?: pulumi.Input<boolean>;
    /** Take over an existing bridge of this name instead of failing. */
    adopt?: pulumi.Input<boolean>;
}

export interface BridgeInputs {
    name: string;
    netns?: string;
    addresses: string[];
    mtu?: number;
    up: boolean;
    adopt?: boolean;
    owner: string;
}

export interface BridgeOutputs extends BridgeInputs {
    mtu: number;
    ifindex: number;
    mac: string;
}

function context(inputs: { name: string; netns?: string }): RunContext {
    return { resource: `Bridge ${inputs.name}`, netns: inputs.netns };
}

function outputsOf(inputs: BridgeInputs, link: LinkState): BridgeOutputs {
    return {
        ...inputs, mtu: link.mtu, up: link.up, addresses: [...link.addresses].sort(),
        ifindex: link.ifindex, mac: link.mac,
    };
}

export function checkBridge(news: Record<string, unknown>): { inputs: BridgeInputs; failures: CheckFailure[] } {
    const failures: CheckFailure[] = [];
    checkLinkProperties(failures, news);
    checkListProperty(failures, news, "addresses", interfaceCidrProblem);
    return { inputs: { ...news, addresses: sortedListInput(news.addresses), up: news.up ?? true } as BridgeInputs, failures };
}

export const bridgeProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: BridgeInputs, news: Record<string, unknown>) {
        return checkBridge(news);
    },

    async diff(_id: string, olds: BridgeOutputs, news: BridgeInputs) {
        return diffProperties(olds as never, news as never, {
            replaceOn: ["name", "netns"], updateOn: ["addresses", "mtu", "up"], observed: ["mtu"],
            deleteBeforeReplace: true,
        });
    },

    async create(inputs: BridgeInputs) {
        const ctx = context(inputs);
        requireNetns(ctx.resource, "netns", inputs.netns);
        if (await claimLinkNameOfKind(ctx, inputs.name, "bridge", inputs.owner, inputs.adopt) === "create") {
            await run(ctx, ["ip", "link", "add", "name", inputs.name, "type", "bridge"]);
        }
        await markLink(ctx, inputs.name, inputs.owner);
        const created = await readExistingLink(ctx, inputs.name);
        // Pin the MAC: an unpinned bridge takes the lowest port MAC, which would drift as ports join.
        await run(ctx, ["ip", "link", "set", "dev", inputs.name, "address", created.mac]);
        await applyLinkSettings(ctx, inputs.name, inputs, created);
        return { id: qualifiedId(inputs.netns, inputs.name), outs: outputsOf(inputs, await readExistingLink(ctx, inputs.name)) };
    },

    async read(id: string, props: BridgeOutputs) {
        const link = await readLink(context(props), props.name);
        if (!link || link.kind !== "bridge") return {};
        return { id, props: outputsOf(props, link) };
    },

    async update(_id: string, olds: BridgeOutputs, news: BridgeInputs) {
        const ctx = context(news);
        await applyLinkSettings(ctx, news.name, news, await readExistingLink(ctx, olds.name));
        return { outs: outputsOf(news, await readExistingLink(ctx, news.name)) };
    },

    async delete(_id: string, props: BridgeOutputs) {
        await deleteOwnedLink(context(props), props.name, props.owner);
    },
};

/** A Linux bridge, e.g. the recipe's br_1 with 10.0.0.1/24. */
export class Bridge extends pulumi.dynamic.Resource {
    declare readonly name: pulumi.Output<string>;
    declare readonly netns: pulumi.Output<string | undefined>;
    declare readonly addresses: pulumi.Output<string[]>;
    declare readonly mtu: pulumi.Output<number>;
    declare readonly up: pulumi.Output<boolean>;
    declare readonly ifindex: pulumi.Output<number>;
    declare readonly mac: pulumi.Output<string>;

    constructor(name: string, args: BridgeArgs, opts?: pulumi.CustomResourceOptions) {
        // Every output needs a key here, before args so a given input wins: Pulumi makes outputs of the keys.
        super(engineSafe(bridgeProvider), name, {
            netns: undefined, addresses: undefined, mtu: undefined, up: undefined, ...args,
            owner: ownerFor(name), ifindex: undefined, mac: undefined,
        }, opts,
            "egressxdp", "Bridge");
    }
}
