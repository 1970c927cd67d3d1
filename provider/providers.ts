// The providers of the package's dynamic resources by type, for Pulumi's dynamic-provider process:
// every resource's `__provider` (provider/dynamic.ts) finds this module as `egress-xdp/providers`.
import * as pulumi from "@pulumi/pulumi";
import { bpfPinDirProvider } from "./bpf-pin-dir";
import { bridgeProvider } from "./bridge";
import { servedProvider } from "./dynamic";
import { forwardAcceptProvider } from "./forward-accept";
import { ipForwardingProvider } from "./ip-forwarding";
import { namespaceProvider } from "./namespace";
import { natRuleProvider } from "./nat-rule";
import { routeProvider } from "./route";
import { tapProvider } from "./tap";
import { vethPairProvider } from "./veth-pair";
import { xdpAttachmentProvider } from "./xdp-attachment";

const providers: Record<string, pulumi.dynamic.ResourceProvider> = {
    BpfPinDir: bpfPinDirProvider, Bridge: bridgeProvider, ForwardAccept: forwardAcceptProvider, IpForwarding: ipForwardingProvider,
    Namespace: namespaceProvider, NatRule: natRuleProvider, Route: routeProvider, Tap: tapProvider,
    VethPair: vethPairProvider, XdpAttachment: xdpAttachmentProvider,
};

/** The provider of resource type `type` (the last part of its type token), ready for the engine. */
export function providerOf(type: string): pulumi.dynamic.ResourceProvider {
    const provider = providers[type];
    if (!provider) {
        throw new Error(`egress-xdp has no resource type ${type} (it has ${Object.keys(providers).join(", ")}); ` +
            "the state was written by another version of egress-xdp");
    }
    return servedProvider(provider);
}
