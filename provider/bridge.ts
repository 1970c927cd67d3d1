// Bridge: a Linux bridge with its IPv4 and IPv6 addresses (`ip link add NAME type bridge`).
import * as pulumi from "@pulumi/pulumi";
import { DynamicResource } from "./dynamic";
import { LinkInputs, LinkOutputs, linkProperties, readExistingLink } from "./link";
import { LinkState } from "./parse";
import { ResourceOutputs, describeProperties, unorderedList } from "./properties";
import { run } from "./runner";
import { singleLinkProvider } from "./single-link";
import { interfaceAddressProblem, unicastMacProblem } from "./validate";

export interface BridgeArgs {
    /** The bridge's interface name (1-15 characters). */
    name: pulumi.Input<string>;
    /** The namespace the bridge lives in; default: the one `pulumi` runs in. */
    netns?: pulumi.Input<string>;
    /** IPv4 and IPv6 addresses with prefix, e.g. ["10.0.0.1/24", "fd00::1/64"]. */
    addresses?: pulumi.Input<pulumi.Input<string>[]>;
    mtu?: pulumi.Input<number>;
    /**
     * The bridge's MAC address; default: the MAC it was made with, pinned. A MAC that outlives the
     * bridge (e.g. derived from the component, see EgressXdp) keeps neighbours' entries for its
     * address valid when a rename replaces the bridge.
     */
    mac?: pulumi.Input<string>;
    /** Administrative state; default true. */
    up?: pulumi.Input<boolean>;
    /** Take over an existing bridge of this name instead of failing. */
    adopt?: pulumi.Input<boolean>;
}

export interface BridgeInputs extends LinkInputs {
    addresses: string[];
    mac?: string;
}

export type BridgeOutputs = BridgeInputs & LinkOutputs;

export const bridgeProperties = describeProperties<BridgeInputs, BridgeOutputs>({
    ...linkProperties,
    addresses: { change: "update", check: unorderedList(interfaceAddressProblem) },
    mac: { change: "update", check: unicastMacProblem, observed: true },
}, { deleteBeforeReplace: true });

export const checkBridge = bridgeProperties.check;

function outputsOf(inputs: BridgeInputs, link: LinkState): BridgeOutputs {
    return {
        ...inputs, mtu: link.mtu, up: link.up, addresses: [...link.addresses].sort(),
        ifindex: link.ifindex, mac: link.mac,
    };
}

export const bridgeProvider = singleLinkProvider<BridgeInputs, BridgeOutputs>({
    typeName: "Bridge",
    kind: "bridge",
    addArgv: (name) => ["ip", "link", "add", "name", name, "type", "bridge"],
    // Pin the MAC: an unpinned bridge takes the lowest port MAC, which would drift as ports join.
    // The settings pin the one the inputs give; without one, the MAC it was made with.
    afterAdd: async (ctx, inputs) => {
        if (inputs.mac !== undefined) return;
        const link = await readExistingLink(ctx, inputs.name);
        await run(ctx, ["ip", "link", "set", "dev", link.ifname, "address", link.mac]);
    },
    properties: bridgeProperties,
    settings: (inputs) => inputs,
    outputsOf,
});

export interface Bridge extends ResourceOutputs<BridgeOutputs> {}

/** A Linux bridge, e.g. the recipe's br_1 with 10.0.0.1/24. */
export class Bridge extends DynamicResource {
    constructor(name: string, args: BridgeArgs, opts?: pulumi.CustomResourceOptions) {
        super(name, bridgeProperties.resourceProps(name, args), opts, "Bridge");
    }
}
