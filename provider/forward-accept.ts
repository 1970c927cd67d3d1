// ForwardAccept: lets a bridge's traffic through filter/FORWARD on hosts whose FORWARD policy is DROP
// (Docker sets it): `-i DEV -j ACCEPT` and `-o DEV -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`
// inserted at the top of the chain, both tagged with the owner comment (ip6tables for `family: 6`:
// Docker sets the IPv6 FORWARD policy to DROP too). The policy is never changed.
import * as pulumi from "@pulumi/pulumi";
import { DynamicResource } from "./dynamic";
import { RuleInputs, RuleOutputs, ruleProperties, ruleProvider } from "./iptables";
import { ResourceOutputs, describeProperties } from "./properties";
import { IpFamily, interfaceNameProblem } from "./validate";

export interface ForwardAcceptArgs {
    /** The interface (the bridge) whose forwarded traffic is accepted. */
    interface: pulumi.Input<string>;
    /** The namespace whose filter table holds the rules; default: the one `pulumi` runs in. */
    netns?: pulumi.Input<string>;
    /** 4 (iptables, default) or 6 (ip6tables). */
    family?: pulumi.Input<IpFamily>;
    /** Take over identical rules without our comment (they are replaced by tagged ones). */
    adopt?: pulumi.Input<boolean>;
}

export interface ForwardAcceptInputs extends RuleInputs {
    interface: string;
}

export interface ForwardAcceptOutputs extends ForwardAcceptInputs, RuleOutputs {
    /** Each rule's words as `iptables -S` prints them after `-A FORWARD`, in chain order. */
    specs: string[][];
}

export const forwardAcceptProperties = describeProperties<ForwardAcceptInputs, ForwardAcceptOutputs>({
    ...ruleProperties,
    interface: { change: "replace", check: interfaceNameProblem, required: true },
    specs: { output: true },
}, { deleteBeforeReplace: true });

export const forwardAcceptProvider = ruleProvider<ForwardAcceptInputs, ForwardAcceptOutputs>({
    // At the top: a DROP or REJECT rule of others further down the chain must not shadow these.
    typeName: "ForwardAccept", table: "filter", chain: "FORWARD", atTop: true, properties: forwardAcceptProperties,
    matches: (inputs) => [
        { inInterface: inputs.interface, target: "ACCEPT" },
        { outInterface: inputs.interface, ctstate: "RELATED,ESTABLISHED", target: "ACCEPT" },
    ],
    present: (specs) => ({ specs }),
    recorded: (outputs) => outputs.specs ?? [],
});

export interface ForwardAccept extends ResourceOutputs<ForwardAcceptOutputs> {}

/** Accepts forwarded traffic from and (established) to an interface, e.g. the recipe's br_1. */
export class ForwardAccept extends DynamicResource {
    constructor(name: string, args: ForwardAcceptArgs, opts?: pulumi.CustomResourceOptions) {
        super(name, forwardAcceptProperties.resourceProps(name, args), opts, "ForwardAccept");
    }
}
