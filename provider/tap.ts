// Tap: a persistent layer-2 tap device, optionally a port of a bridge (`ip tuntap add dev NAME mode tap`).
// With no program reading it a tap's operstate stays DOWN; `up` is the administrative UP flag.
import * as pulumi from "@pulumi/pulumi";
import { DynamicResource } from "./dynamic";
import { LinkInputs, LinkOutputs, linkProperties } from "./link";
import { LinkState } from "./parse";
import { ResourceOutputs, describeProperties } from "./properties";
import { singleLinkProvider } from "./single-link";
import { interfaceNameProblem } from "./validate";

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

export interface TapInputs extends LinkInputs {
    master?: string;
}

export type TapOutputs = TapInputs & LinkOutputs;

export const tapProperties = describeProperties<TapInputs, TapOutputs>({
    ...linkProperties,
    master: { change: "update", check: interfaceNameProblem },
    mac: { output: true },
}, { deleteBeforeReplace: true });

export const checkTap = tapProperties.check;

function outputsOf(inputs: TapInputs, link: LinkState): TapOutputs {
    return { ...inputs, mtu: link.mtu, up: link.up, master: link.master, ifindex: link.ifindex, mac: link.mac };
}

export const tapProvider = singleLinkProvider<TapInputs, TapOutputs>({
    typeName: "Tap",
    kind: "tap",
    addArgv: (name) => ["ip", "tuntap", "add", "dev", name, "mode", "tap"],
    properties: tapProperties,
    // An unset master means no bridge, so an update can leave one.
    settings: (inputs) => ({ ...inputs, master: inputs.master ?? null }),
    outputsOf,
});

export interface Tap extends ResourceOutputs<TapOutputs> {}

/** A tap device, e.g. the recipe's tap_1 as a port of br_1. */
export class Tap extends DynamicResource {
    constructor(name: string, args: TapArgs, opts?: pulumi.CustomResourceOptions) {
        super(name, tapProperties.resourceProps(name, args), opts, "Tap");
    }
}
