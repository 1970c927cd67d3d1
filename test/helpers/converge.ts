// Checks for a live stack after an edit: what preview says each resource will do, and whether the
// kernel holds exactly what the stack's config asks for (and nothing of an earlier config).
import { expect } from "chai";
import { cidrOfLpmKey } from "../../provider/bpf";
import { parseIptablesRules, parseLinks, parseRoutes } from "../../provider/parse";
import { dumpMap } from "../../provider/xdp-attachment";
import { packetsSeen } from "../../components/counters";
import { subnetOf } from "../../provider/validate";
import { egressXdpDefaults } from "../../components/egress-xdp-args";
import { Lab, inNs, labNamespaces } from "./lab";
import { LabStack, StackConfig, StackOutputs } from "../../lab/stack";
import { tcpExchange } from "./traffic";

/** What preview plans for a resource of the stack (by its name without the stack prefix, e.g. "bridge"). */
export type PlannedOp = "create" | "update" | "replace" | "delete";

/** `pulumi preview --json`, as resource -> planned operation; unchanged resources are left out. */
export async function plannedOps(s: LabStack): Promise<Record<string, PlannedOp>> {
    const { stdout } = await s.engine.pulumi(["preview", "--json"]);
    const steps = (JSON.parse(stdout) as { steps?: { op: string; urn: string }[] }).steps ?? [];
    const ops: Record<string, PlannedOp> = {};
    for (const step of steps) {
        const name = step.urn.split("::").pop()!.replace(`${s.engine.stack}-`, "");
        if (step.op === "same" || name === s.engine.stack) continue;
        const op = ["replace", "create-replacement", "delete-replaced"].includes(step.op) ? "replace" : step.op;
        ops[name] = op as PlannedOp;
    }
    return ops;
}

/**
 * Preview must plan `expected` for those resources (as the README's edit table says); any other
 * resource it lists may only be updated (an update of a resource it depends on leaves its outputs
 * unknown in preview, so the engine re-checks it), never replaced, created or deleted.
 */
export function expectPlan(ops: Record<string, PlannedOp>, expected: Record<string, PlannedOp>, what: string): void {
    for (const [resource, op] of Object.entries(expected)) expect(ops[resource], `${what}: ${resource} in ${JSON.stringify(ops)}`).to.equal(op);
    const others = Object.entries(ops).filter(([resource, op]) => !(resource in expected) && op !== "update");
    expect(others, `${what}: unexpected operations in ${JSON.stringify(ops)}`).to.deep.equal([]);
}

/** The stack's config with the defaults filled in, and what follows from it. */
export type WantedStack = Pick<StackOutputs,
    "hostNetns" | "namespace" | "bridge" | "tap" | "vethOuter" | "vethInner" | "outerAddress" | "innerAddress"> & {
    sendDev: string;
    xdpMode: "native" | "generic";
    /** The drop-list program's prefixes; undefined for a program without a drop-list. */
    dropPrefixes?: string[];
    forwardAccept: boolean;
};

export function wantedOf(config: StackConfig, options: { dropList: boolean; forwardAccept: boolean }): WantedStack {
    const a = { ...egressXdpDefaults, hostNetns: "", sendDev: "", ...config } as unknown as Record<keyof WantedStack, string> &
        { dropPrefixes: string[] };
    return {
        hostNetns: a.hostNetns, sendDev: a.sendDev, namespace: a.namespace, bridge: a.bridge, tap: a.tap,
        vethOuter: a.vethOuter, vethInner: a.vethInner, outerAddress: a.outerAddress, innerAddress: a.innerAddress,
        xdpMode: a.xdpMode as "native" | "generic",
        dropPrefixes: options.dropList ? [...a.dropPrefixes].sort() : undefined,
        forwardAccept: options.forwardAccept,
    };
}

/**
 * The kernel holds exactly what `want` says, and nothing of an earlier config: the stack's marked
 * links are exactly its bridge, tap and outer veth, the lab's namespaces exactly host, upstream and
 * the inner one (plus `otherNamespaces`), one address each, the inner default route, exactly the
 * stack's NAT and FORWARD rules, one XDP program (ours, in the wanted mode) and the wanted map entries.
 */
export async function expectKernelState(lab: Lab, s: LabStack, want: WantedStack, otherNamespaces: string[] = []): Promise<void> {
    const mark = `egress-xdp:egress-xdp/${s.engine.stack}/`;
    const out = await s.outputs();
    expect(out).to.include({
        namespace: want.namespace, bridge: want.bridge, tap: want.tap, vethOuter: want.vethOuter, vethInner: want.vethInner,
        outerAddress: want.outerAddress, innerAddress: want.innerAddress, effectiveXdpMode: want.xdpMode, hostNetns: want.hostNetns,
    });
    expect(await labNamespaces(lab), "the lab's namespaces")
        .to.deep.equal([lab.host, lab.upstream, want.namespace, ...otherNamespaces].filter((n) => n.endsWith(`-${lab.id}`)).sort());

    const hostLinks = parseLinks((await inNs(want.hostNetns, ["ip", "-json", "-details", "addr", "show"])).stdout);
    const ours = hostLinks.filter((link) => link.alias?.startsWith(mark));
    expect(ours.map((link) => link.ifname).sort(), "the stack's links in the host").to.deep.equal([want.bridge, want.tap, want.vethOuter].sort());
    const byName = (name: string) => hostLinks.find((link) => link.ifname === name)!;
    expect(byName(want.bridge).addresses, "bridge address").to.deep.equal([want.outerAddress]);
    expect(byName(want.tap).master).to.equal(want.bridge);
    expect(byName(want.vethOuter).master).to.equal(want.bridge);
    expect(hostLinks.filter((link) => link.xdp).map((link) => link.ifname), "links with XDP").to.deep.equal([want.vethOuter]);
    expect(byName(want.vethOuter).xdp).to.include({ progId: out.xdpProgramId, mode: want.xdpMode });

    const innerLinks = parseLinks((await inNs(want.namespace, ["ip", "-json", "-details", "addr", "show"])).stdout);
    expect(innerLinks.map((link) => link.ifname).sort(), "links in the namespace").to.deep.equal(["lo", want.vethInner].sort());
    expect(innerLinks.find((link) => link.ifname === want.vethInner)!.addresses).to.deep.equal([want.innerAddress]);
    const routes = parseRoutes((await inNs(want.namespace, ["ip", "-json", "route", "show", "default"])).stdout);
    expect(routes, "the inner default route").to.deep.equal([{ dst: "default", gateway: want.outerAddress.split("/")[0], dev: want.vethInner }]);

    const ownRules = async (table: string, chain: string) => parseIptablesRules(
        (await inNs(want.hostNetns, ["iptables", "-w", "-t", table, "-S", chain])).stdout,
    ).rules.filter((rule) => rule.comment?.startsWith(mark)).map((rule) => rule.spec.join(" ").replace(/ -m comment --comment \S+/, ""));
    expect((await ownRules("nat", "POSTROUTING")).sort(), "the stack's NAT rules").to.deep.equal([
        `-o ${want.bridge} -j MASQUERADE`, `-s ${subnetOf(want.innerAddress)} -o ${want.sendDev} -j MASQUERADE`,
    ].sort());
    expect(await ownRules("filter", "FORWARD"), "the stack's FORWARD rules").to.deep.equal(want.forwardAccept
        ? [`-i ${want.bridge} -j ACCEPT`, `-o ${want.bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`] : []);

    const mapId = out.xdpMapIds.drop_prefixes;
    if (want.dropPrefixes === undefined) expect(mapId, "a program without a drop-list").to.equal(undefined);
    else {
        const entries = await dumpMap({ resource: "t", netns: want.hostNetns }, mapId);
        expect(entries.map((entry) => cidrOfLpmKey(entry.key)).sort(), "drop_prefixes entries").to.deep.equal(want.dropPrefixes);
    }
}

/**
 * Traffic right after `up`, as the config says: the server answers (and its address is dropped when
 * a drop prefix covers it), TCP leaves NATed from `uplinkAddress`, and the XDP program counts it.
 */
export async function expectTraffic(lab: Lab, s: LabStack, want: WantedStack, uplinkAddress: string, upstream = lab.upstream):
    Promise<void> {
    const before = packetsSeen(await s.counters());
    expect(await s.ping(lab.serverAddress, 3), "ping to the server right after up").to.equal(true);
    const dropped = (want.dropPrefixes ?? []).includes("198.19.1.0/24");
    expect(await s.ping(lab.otherServerAddress, 2), `ping to ${lab.otherServerAddress}`).to.equal(!dropped);
    const exchange = await tcpExchange(upstream, lab.serverAddress, s.namespace, "edited");
    expect(exchange, "TCP through the stack").to.deep.equal({ received: "edited", peerAddress: uplinkAddress });
    expect(packetsSeen(await s.counters()) - before, "packets the program counted").to.be.at.least(5);
}
