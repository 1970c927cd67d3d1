// NatRule: MASQUERADE what leaves through an interface (`iptables -t nat -A POSTROUTING -o DEV
// [-s CIDR] -j MASQUERADE`, or ip6tables for `family: 6`), tagged with the owner comment; see
// iptables.ts for how it is kept.
import * as pulumi from "@pulumi/pulumi";
import { DynamicResource } from "./dynamic";
import { RuleInputs, RuleOutputs, ruleProperties, ruleProvider } from "./iptables";
import { ResourceOutputs, describeProperties } from "./properties";
import { IpFamily, familyOf, interfaceNameProblem, isUnknown, networkPrefixProblem } from "./validate";

export interface NatRuleArgs {
    /** The interface whose outgoing traffic is masqueraded, e.g. the uplink or the bridge. */
    outInterface: pulumi.Input<string>;
    /** Only masquerade this source prefix, e.g. 10.0.0.0/24 (fd00::/64 with family 6); default: every source. */
    sourceCidr?: pulumi.Input<string>;
    /** 4 (iptables, default) or 6 (ip6tables: NAT66). */
    family?: pulumi.Input<IpFamily>;
    /** The namespace whose nat table holds the rule; default: the one `pulumi` runs in. */
    netns?: pulumi.Input<string>;
    /** Take over an identical rule without our comment (it is replaced by the tagged one). */
    adopt?: pulumi.Input<boolean>;
}

export interface NatRuleInputs extends RuleInputs {
    outInterface: string;
    sourceCidr?: string;
}

export interface NatRuleOutputs extends NatRuleInputs, RuleOutputs {
    /** The rule's words as `iptables -S` prints them after `-A POSTROUTING`. */
    spec: string[];
}

// iptables drops `-s 0.0.0.0/0` (ip6tables `-s ::/0`) from what it prints, so such a rule would always look drifted.
function sourceCidrProblem(cidr: string): string | undefined {
    const problem = networkPrefixProblem(cidr);
    return problem ?? (cidr.endsWith("/0") ? "/0 matches every source: leave sourceCidr unset instead" : undefined);
}

export const natRuleProperties = describeProperties<NatRuleInputs, NatRuleOutputs>({
    ...ruleProperties,
    outInterface: { change: "replace", check: interfaceNameProblem, required: true },
    sourceCidr: { change: "replace", check: sourceCidrProblem },
    spec: { output: true },
}, { deleteBeforeReplace: true });

export const natRuleProvider = ruleProvider<NatRuleInputs, NatRuleOutputs>({
    typeName: "NatRule", table: "nat", chain: "POSTROUTING", atTop: false, properties: natRuleProperties,
    // A source prefix of the other family than the rule's.
    crossCheck(news) {
        const family = news.family ?? 4;
        if (typeof news.sourceCidr !== "string" || isUnknown(news.sourceCidr) || isUnknown(family) ||
            familyOf(news.sourceCidr) === family) return [];
        const reason = `${news.sourceCidr} is not an IPv${String(family)} prefix (family ${String(family)})`;
        return [{ property: "sourceCidr", reason }];
    },
    matches: (inputs) => [{ source: inputs.sourceCidr, outInterface: inputs.outInterface, target: "MASQUERADE" }],
    present: (specs) => ({ spec: specs[0] }),
    recorded: (outputs) => (outputs.spec ? [outputs.spec] : []),
});

export interface NatRule extends ResourceOutputs<NatRuleOutputs> {}

/** A MASQUERADE rule, e.g. the recipe's `-o br_1` and `-o $send_dev` rules. */
export class NatRule extends DynamicResource {
    constructor(name: string, args: NatRuleArgs, opts?: pulumi.CustomResourceOptions) {
        super(name, natRuleProperties.resourceProps(name, args), opts, "NatRule");
    }
}
