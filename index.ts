// The egress-xdp program: one EgressXdp per stack, configured by the stack's config (one stack per
// uplink interface). See Pulumi.yaml for the keys and README.md for the topology.
import * as pulumi from "@pulumi/pulumi";
import { readConfig, validatedArgs } from "./components/config";
import { EgressXdp } from "./components/egress-xdp";

export = async () => {
    // Relative paths in the config are relative to the project directory, where Pulumi.yaml is.
    const args = await validatedArgs(readConfig(new pulumi.Config()), pulumi.runtime.getRootDirectory());
    const egress = new EgressXdp(pulumi.getStack(), args);
    return {
        namespace: egress.namespace, bridge: egress.bridge, tap: egress.tap, vethOuter: egress.vethOuter,
        vethInner: egress.vethInner, outerAddress: egress.outerAddress, innerAddress: egress.innerAddress,
        outerAddress6: egress.outerAddress6, innerAddress6: egress.innerAddress6,
        xdpProgramId: egress.xdpProgramId, xdpProgramTag: egress.xdpProgramTag, xdpMode: egress.xdpMode,
        xdpMapIds: egress.xdpMapIds, hostNetns: egress.hostNetns, execPrefix: egress.execPrefix,
    };
};
