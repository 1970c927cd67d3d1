// The stack config of project egress-xdp (keys declared in Pulumi.yaml), read as EgressXdp's args.
// The component checks them (components/egress-xdp-args.ts): a bad key fails at preview, named.
import * as pulumi from "@pulumi/pulumi";
import { EgressXdpArgs } from "./egress-xdp";

/** The keys of the stack config, as declared in Pulumi.yaml: EgressXdp's args of the same names. */
export const configKeys = [
    "sendDev", "hostNetns", "namespace", "bridge", "tap", "vethOuter", "vethInner", "outerAddress", "innerAddress",
    "outerAddress6", "innerAddress6", "ipv6Forwarding", "xdpProgram", "xdpSection", "xdpMode", "dropPrefixes", "forwardAccept",
    "xdpIngressProgram", "xdpIngressSection", "xdpIngressMode", "bpffsRoot", "xdpMaps",
] as const;

/** The keys whose values are lists (read as objects); the others are strings. */
const listKeys: readonly string[] = ["dropPrefixes", "xdpMaps"];

/** Reads the stack config; values are checked by the component, not here. */
export function readConfig(config: pulumi.Config): EgressXdpArgs {
    const values: Record<string, unknown> = {};
    for (const key of configKeys) {
        // Pulumi.yaml's default for an unset optional string is "", which means "not set" here.
        values[key] = listKeys.includes(key) ? config.getObject<unknown[]>(key) : config.get(key) || undefined;
    }
    return values as unknown as EgressXdpArgs;
}
