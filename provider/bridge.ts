// Bridge: a Linux bridge with its IPv4 and IPv6 addresses (`ip link add NAME type bridge`).
import * as pulumi from "@pulumi/pulumi";
import { DynamicResource } from "./dynamic";
import { ownerFor } from "./owner";
import { LinkState } from "./parse";
import { run } from "./runner";
import { singleLinkProvider } from "./single-link";
import {
    CheckFailure, checkLinkProperties, checkListProperty, checkProperty, interfaceAddressProblem, sortedListInput, unicastMacProblem,
} from "./validate";

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

export interface BridgeInputs {
    name: string;
    netns?: string;
    addresses: string[];
    mtu?: number;
    mac?: string;
    up: boolean;
    adopt?: boolean;
    owner: string;
}

export interface BridgeOutputs extends BridgeInputs {
    mtu: number;
    ifindex: number;
    mac: string;
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
    checkListProperty(failures, news, "addresses", interfaceAddressProblem);
    checkProperty(failures, news, "mac", unicastMacProblem);
    return { inputs: { ...news, addresses: sortedListInput(news.addresses), up: news.up ?? true } as BridgeInputs, failures };
}

export const bridgeProvider = singleLinkProvider<BridgeInputs, BridgeOutputs>({
    typeName: "Bridge",
    kind: "bridge",
    addArgv: (name) => ["ip", "link", "add", "name", name, "type", "bridge"],
    // Pin the MAC: an unpinned bridge takes the lowest port MAC, which would drift as ports join.
    afterAdd: async (ctx, link) => {
        await run(ctx, ["ip", "link", "set", "dev", link.ifname, "address", link.mac]);
    },
    check: checkBridge,
    diff: {
        replaceOn: ["name", "netns"], updateOn: ["addresses", "mtu", "mac", "up"], observed: ["mtu", "mac"], deleteBeforeReplace: true,
    },
    settings: (inputs) => inputs,
    outputsOf,
});

/** A Linux bridge, e.g. the recipe's br_1 with 10.0.0.1/24. */
export class Bridge extends DynamicResource {
    declare readonly name: pulumi.Output<string>;
    declare readonly netns: pulumi.Output<string | undefined>;
    declare readonly addresses: pulumi.Output<string[]>;
    declare readonly mtu: pulumi.Output<number>;
    declare readonly up: pulumi.Output<boolean>;
    declare readonly ifindex: pulumi.Output<number>;
    declare readonly mac: pulumi.Output<string>;

    constructor(name: string, args: BridgeArgs, opts?: pulumi.CustomResourceOptions) {
        // Every output needs a key here, before args so a given input wins: Pulumi makes outputs of the keys.
        super(name, {
            netns: undefined, addresses: undefined, mtu: undefined, mac: undefined, up: undefined, ...args,
            owner: ownerFor(name), ifindex: undefined,
        }, opts,
            "Bridge");
    }
}
