// Tap: a persistent layer-2 tap device, optionally a port of a bridge (`ip tuntap add dev NAME mode tap`).
// With no program reading it a tap's operstate stays DOWN; `up` is the administrative UP flag.
import * as pulumi from "@pulumi/pulumi";
import { DynamicResource } from "./dynamic";
import { ownerFor } from "./owner";
import { LinkState } from "./parse";
import { singleLinkProvider } from "./single-link";
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

function outputsOf(inputs: TapInputs, link: LinkState): TapOutputs {
    return { ...inputs, mtu: link.mtu, up: link.up, master: link.master, ifindex: link.ifindex, mac: link.mac };
}

export function checkTap(news: Record<string, unknown>): { inputs: TapInputs; failures: CheckFailure[] } {
    const failures: CheckFailure[] = [];
    checkLinkProperties(failures, news);
    checkProperty(failures, news, "master", interfaceNameProblem);
    return { inputs: { ...news, up: news.up ?? true } as TapInputs, failures };
}

export const tapProvider = singleLinkProvider<TapInputs, TapOutputs>({
    typeName: "Tap",
    kind: "tap",
    addArgv: (name) => ["ip", "tuntap", "add", "dev", name, "mode", "tap"],
    check: checkTap,
    diff: { replaceOn: ["name", "netns"], updateOn: ["mtu", "up", "master"], observed: ["mtu"], deleteBeforeReplace: true },
    // An unset master means no bridge, so an update can leave one.
    settings: (inputs) => ({ ...inputs, master: inputs.master ?? null }),
    outputsOf,
});

/** A tap device, e.g. the recipe's tap_1 as a port of br_1. */
export class Tap extends DynamicResource {
    declare readonly name: pulumi.Output<string>;
    declare readonly netns: pulumi.Output<string | undefined>;
    declare readonly mtu: pulumi.Output<number>;
    declare readonly up: pulumi.Output<boolean>;
    declare readonly master: pulumi.Output<string | undefined>;
    declare readonly ifindex: pulumi.Output<number>;
    declare readonly mac: pulumi.Output<string>;

    constructor(name: string, args: TapArgs, opts?: pulumi.CustomResourceOptions) {
        // Every output needs a key here, before args so a given input wins: Pulumi makes outputs of the keys.
        super(name, {
            netns: undefined, mtu: undefined, up: undefined, master: undefined, ...args,
            owner: ownerFor(name), ifindex: undefined, mac: undefined,
        }, opts, "Tap");
    }
}
