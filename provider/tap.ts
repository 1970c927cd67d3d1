// Tap: a persistent layer-2 tap device, optionally a port of a bridge (`ip tuntap add dev NAME mode tap`).
// With no program reading it a tap's operstate stays DOWN; `up` is the administrative UP flag.
import * as pulumi from "@pulumi/pulumi";
import { engineSafe } from "./dynamic";
import { diffProperties } from "./diff";
import {
    applyLinkSettings, claimLinkNameOfKind, deleteOwnedLink, markLink, readExistingLink, readLink, requireNetns,
} from "./link";
import { ownerFor, qualifiedId } from "./owner";
import { LinkState, linkKindOf } from "./parse";
import { RunContext, run } from "./runner";
import { CheckFailure, checkLinkProperties, checkProperty, interfaceNameProblem } from "./validate";

export interface TapArgs {
    /** The tap's interface name (1-15 characters). */
    name: pulumi.Input<string>;
    /** The namespace the tap lives in; default: the one `pulumi` runs in. */
    netns?: pulumi.Input<string>;
    mtu?: pulumi.Input<number>;
    /** Administrative state; default true. */
    up?: pulumi.Input<boolean>;
    /** The bridge (in the same namespace) to join; unset means no bridge. */
    master?: pulumi.Input<string>;
    /** Take over an existing tap of this name instead of failing. */
    adopt?: pulumi.Input<boolean>;
}

export interface TapInputs {
    name: string;
    netns?: string;
    mtu?: number;
    up: boolean;
    master?: string;
    adopt?: boolean;
    owner: string;
}

export interface TapOutputs extends TapInputs {
    mtu: number;
    ifindex: number;
    mac: string;
}

function context(inputs: { name: string; netns?: string }): RunContext {
    return { resource: `Tap ${inputs.name}`, netns: inputs.netns };
}

function outputsOf(inputs: TapInputs, link: LinkState): TapOutputs {
    return { ...inputs, mtu: link.mtu, up: link.up, master: link.master, ifindex: link.ifindex, mac: link.mac };
}

export function checkTap(news: Record<string, unknown>): { inputs: TapInputs; failures: CheckFailure[] } {
    const failures: CheckFailure[] = [];
    checkLinkProperties(failures, news);
    checkProperty(failures, news, "master", interfaceNameProblem);
    return { inputs: { ...news, up: news.up ?? true } as TapInputs, failures };
}

/** Brings an existing tap to the inputs and returns what the kernel then reports. */
async function configure(ctx: RunContext, inputs: TapInputs): Promise<TapOutputs> {
    await applyLinkSettings(ctx, inputs.name, { ...inputs, master: inputs.master ?? null },
        await readExistingLink(ctx, inputs.name));
    return outputsOf(inputs, await readExistingLink(ctx, inputs.name));
}

export const tapProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: TapInputs, news: Record<string, unknown>) {
        return checkTap(news);
    },

    async diff(_id: string, olds: TapOutputs, news: TapInputs) {
        return diffProperties(olds as never, news as never, {
            replaceOn: ["name", "netns"], updateOn: ["mtu", "up", "master"], observed: ["mtu"],
            deleteBeforeReplace: true,
        });
    },

    async create(inputs: TapInputs) {
        const ctx = context(inputs);
        requireNetns(ctx.resource, "netns", inputs.netns);
        if (await claimLinkNameOfKind(ctx, inputs.name, "tap", inputs.owner, inputs.adopt) === "create") {
            await run(ctx, ["ip", "tuntap", "add", "dev", inputs.name, "mode", "tap"]);
        }
        await markLink(ctx, inputs.name, inputs.owner);
        return { id: qualifiedId(inputs.netns, inputs.name), outs: await configure(ctx, inputs) };
    },

    async read(id: string, props: TapOutputs) {
        const link = await readLink(context(props), props.name);
        if (!link || linkKindOf(link) !== "tap") return {};
        return { id, props: outputsOf(props, link) };
    },

    async update(_id: string, _olds: TapOutputs, news: TapInputs) {
        return { outs: await configure(context(news), news) };
    },

    async delete(_id: string, props: TapOutputs) {
        await deleteOwnedLink(context(props), props.name, props.owner);
    },
};

/** A tap device, e.g. the recipe's tap_1 as a port of br_1. */
export class Tap extends pulumi.dynamic.Resource {
    declare readonly name: pulumi.Output<string>;
    declare readonly netns: pulumi.Output<string | undefined>;
    declare readonly mtu: pulumi.Output<number>;
    declare readonly up: pulumi.Output<boolean>;
    declare readonly master: pulumi.Output<string | undefined>;
    declare readonly ifindex: pulumi.Output<number>;
    declare readonly mac: pulumi.Output<string>;

    constructor(name: string, args: TapArgs, opts?: pulumi.CustomResourceOptions) {
        // Every output needs a key here, before args so a given input wins: Pulumi makes outputs of the keys.
        super(engineSafe(tapProvider), name, {
            netns: undefined, mtu: undefined, up: undefined, master: undefined, ...args,
            owner: ownerFor(name), ifindex: undefined, mac: undefined,
        }, opts, "egressxdp", "Tap");
    }
}
