// Package egress-xdp: the EgressXdp component and the dynamic resources it is made of, with their
// arg and output types, for any Pulumi program (`import { EgressXdp } from "egress-xdp"`).
export { EgressXdp, EgressXdpArgs } from "./components/egress-xdp";
export {
    ForwardAcceptChoice, Ipv6ForwardingChoice, dropListMap, dropListMap6, egressXdpDefaults, forwardAcceptChoices, ipv6ForwardingChoices,
} from "./components/egress-xdp-args";
export { configKeys, readConfig } from "./components/config";
export { XdpCounters, packetsSeen, readCounters } from "./components/counters";
export { Bridge, BridgeArgs, BridgeOutputs } from "./provider/bridge";
export { ForwardAccept, ForwardAcceptArgs, ForwardAcceptOutputs } from "./provider/forward-accept";
export { IpForwarding, IpForwardingArgs, IpForwardingOutputs } from "./provider/ip-forwarding";
export { Ipv6ForwardingMethod } from "./provider/ipv6-global-forwarding";
export { Namespace, NamespaceArgs, NamespaceOutputs } from "./provider/namespace";
export { NatRule, NatRuleArgs, NatRuleOutputs } from "./provider/nat-rule";
export { Route, RouteArgs, RouteOutputs } from "./provider/route";
export { Tap, TapArgs, TapOutputs } from "./provider/tap";
export { VethPair, VethPairArgs, VethPairOutputs } from "./provider/veth-pair";
export { XdpAttachment, XdpAttachmentArgs, XdpAttachmentOutputs } from "./provider/xdp-attachment";
export { BpfPinDir, BpfPinDirArgs, BpfPinDirOutputs } from "./provider/bpf-pin-dir";
export { EntryValue, MapEntrySpec, MapFill } from "./provider/map-fill";
export { IpFamily, XdpMode } from "./provider/validate";
export { OffloadChange, ProgramView } from "./provider/offload";
