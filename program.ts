// The egress-xdp program: one EgressXdp per stack, configured by the stack's config (one stack per
// uplink interface), a user of the package like any other. See Pulumi.yaml for the keys and
// README.md for the topology.
import { dynamicProviderRequested } from "egress-xdp/start";

export = async () => {
    // These load without the closure-serialization modules, and the dynamic-provider plugin starts
    // meanwhile (egress-xdp/start).
    await dynamicProviderRequested();
    const pulumi: typeof import("@pulumi/pulumi") = require("@pulumi/pulumi");
    const { EgressXdp, readConfig }: typeof import("egress-xdp") = require("egress-xdp");
    const egress = new EgressXdp(pulumi.getStack(), readConfig(new pulumi.Config()));
    return {
        namespace: egress.namespace, bridge: egress.bridge, tap: egress.tap, vethOuter: egress.vethOuter,
        vethInner: egress.vethInner, outerAddress: egress.outerAddress, innerAddress: egress.innerAddress,
        outerAddress6: egress.outerAddress6, innerAddress6: egress.innerAddress6,
        xdpProgramId: egress.xdpProgramId, xdpProgramTag: egress.xdpProgramTag, effectiveXdpMode: egress.effectiveXdpMode,
        xdpMapIds: egress.xdpMapIds, xdpProgramView: egress.xdpProgramView, xdpOffloads: egress.xdpOffloads,
        xdpOffloadChanges: egress.xdpOffloadChanges, xdpIngressProgramId: egress.xdpIngressProgramId, xdpIngressMode: egress.xdpIngressMode,
        xdpIngressMapIds: egress.xdpIngressMapIds, pinDir: egress.pinDir, pinnedMaps: egress.pinnedMaps,
        hostNetns: egress.hostNetns, execPrefix: egress.execPrefix,
    };
};
