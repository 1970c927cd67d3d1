// Issue 5, drift: someone changes the stack's objects behind pulumi's back. `pulumi refresh` must
// report each change, the next `pulumi up` must repair it, traffic must flow through the XDP program
// again and the preview must be empty. Each kind runs in its own lab, left exactly as before.
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { xdpAttachArgv, xdpDetachArgv } from "../../provider/bpf";
import { AttachMode } from "../../provider/validate";
import { readLink } from "../../provider/link";
import { parseIptablesRules } from "../../provider/parse";
import { run } from "../../provider/runner";
import { BuiltObjects, useBuiltObjects } from "../helpers/bpf-build";
import { useFigures } from "../helpers/figures";
import { eventually } from "../helpers/kernel-suite";
import { Lab, inNs } from "../helpers/lab";
import { LabStack } from "../../lab/stack";
import { useLabStacks } from "../helpers/lab";

interface DriftContext {
    lab: Lab;
    stack: LabStack;
    built: BuiltObjects;
}

/** Deletes the stack's iptables (or ip6tables) rules whose owner comment ends with `resource` (e.g. "nat-uplink"). */
async function deleteOwnRules(c: DriftContext, table: string, chain: string, resource: string, command = "iptables"): Promise<void> {
    const { stdout } = await inNs(c.lab.host, [command, "-w", "-t", table, "-S", chain]);
    const ours = parseIptablesRules(stdout).rules.filter((rule) => rule.comment?.endsWith(`/${c.stack.engine.stack}-${resource}`));
    expect(ours, `rules of ${resource}`).to.not.deep.equal([]);
    for (const rule of ours) await inNs(c.lab.host, [command, "-w", "-t", table, "-D", chain, ...rule.spec]);
}

/** Whether a link is gone from the lab host (a deleted namespace takes its veth peer a moment later). */
const goneFromHost = (c: DriftContext, name: string) =>
    eventually(async () => !await readLink({ resource: "t", netns: c.lab.host }, name));

/** The mode the stack's program is attached in on veth_1a. */
async function xdpMode(c: DriftContext): Promise<AttachMode> {
    const mode = (await readLink({ resource: "t", netns: c.lab.host }, "veth_1a"))?.xdp?.mode;
    expect(mode === "native" || mode === "generic", `attached in ${mode} mode`).to.equal(true);
    return mode as AttachMode;
}

/** Out-of-band changes, each as an operator or another tool would make it. */
/**
 * Out-of-band changes, each as an operator or another tool would make it, and the resources (by name
 * suffix) whose refresh must report it.
 */
const drifts: { kind: string; drifted: string[]; apply(c: DriftContext): Promise<unknown> }[] = [
    { kind: "tap deleted", drifted: ["tap"], apply: (c) => inNs(c.lab.host, ["ip", "link", "del", "tap_1"]) },
    { kind: "outer veth deleted (its peer goes with it)", drifted: ["veth"], apply: (c) => inNs(c.lab.host, ["ip", "link", "del", "veth_1a"]) },
    {
        kind: "inner namespace deleted", drifted: ["namespace", "veth"],
        apply: async (c) => {
            await run({ resource: "drift" }, ["ip", "netns", "del", c.stack.namespace]);
            expect(await goneFromHost(c, "veth_1a"), "veth_1a gone with the namespace").to.equal(true);
        },
    },
    { kind: "bridge address removed", drifted: ["bridge"], apply: (c) => inNs(c.lab.host, ["ip", "addr", "del", "10.0.0.1/24", "dev", "br_1"]) },
    { kind: "outer veth detached from the bridge", drifted: ["veth"], apply: (c) => inNs(c.lab.host, ["ip", "link", "set", "dev", "veth_1a", "nomaster"]) },
    { kind: "inner default route removed", drifted: ["default-route"], apply: (c) => inNs(c.stack.namespace, ["ip", "route", "del", "default"]) },
    { kind: "uplink NAT rule deleted", drifted: ["nat-uplink"], apply: (c) => deleteOwnRules(c, "nat", "POSTROUTING", "nat-uplink") },
    { kind: "uplink forwarding turned off", drifted: ["ip-forward"], apply: (c) => inNs(c.lab.host, ["sysctl", "-q", "-w", "net.ipv4.conf.uplink0.forwarding=0"]) },
    // `xdp off` alone would detach only a native program: say the mode the program is attached in.
    { kind: "XDP program detached", drifted: ["xdp"], apply: async (c) => inNs(c.lab.host, xdpDetachArgv("veth_1a", await xdpMode(c))) },
    {
        kind: "XDP program replaced by someone else's", drifted: ["xdp"],
        apply: async (c) => {
            const bpffsDir = fs.mkdtempSync(path.join(c.built.dir, "bpffs-"));
            try {
                await inNs(c.lab.host, xdpAttachArgv({
                    dev: "veth_1a", mode: await xdpMode(c), objectPath: c.built.path("xdp_stats"), section: "xdp",
                    replace: true, bpffsDir,
                }));
            } finally {
                fs.rmdirSync(bpffsDir);
            }
        },
    },
];

/** The resources (by name suffix) a refresh's output reports as deleted or updated. */
function reportedResources(output: string, stack: string): string[] {
    const line = new RegExp(`^\\s*[-~]+\\s+\\S+\\s+${stack}-(\\S+)\\s+(deleted|updated)\\b`);
    return [...new Set(output.split("\n").map((l) => line.exec(l)?.[1]).filter((name): name is string => !!name))].sort();
}

/** The IPv6 twins of the drifts above, on a dual-stack stack in an IPv6 lab. */
const drifts6: typeof drifts = [
    { kind: "bridge IPv6 address removed", drifted: ["bridge"], apply: (c) => inNs(c.lab.host, ["ip", "addr", "del", "fd00:e0::1/64", "dev", "br_1"]) },
    { kind: "inner IPv6 default route removed", drifted: ["default-route6"], apply: (c) => inNs(c.stack.namespace, ["ip", "-6", "route", "del", "default"]) },
    { kind: "uplink NAT66 rule deleted", drifted: ["nat-uplink6"], apply: (c) => deleteOwnRules(c, "nat", "POSTROUTING", "nat-uplink6", "ip6tables") },
    {
        kind: "uplink IPv6 force_forwarding turned off", drifted: ["ip-forward"],
        apply: (c) => inNs(c.lab.host, ["sysctl", "-q", "-w", "net.ipv6.conf.uplink0.force_forwarding=0"]),
    },
];

/** Drift cases, recorded as figure `suite`: apply each, refresh reports it, up repairs it, traffic flows, preview is empty. */
function driftCases(suite: string, cases: typeof drifts, options: { ipv6?: boolean; config: Record<string, string | string[]> }): void {
    const built = useBuiltObjects(["xdp_stats"]);
    const { lab, stack: labStack } = useLabStacks({ ipv6: options.ipv6 });
    const measured = useFigures(suite, "repaired");

    for (const drift of cases) {
        it(`${drift.kind}: refresh reports it, up repairs it, traffic flows, preview is empty`, async function () {
            const stack = await labStack("drift", options.config);
            await stack.engine.pulumi(["up", "--yes", "--skip-preview"]);
            await measured(drift.kind, async (notes) => {
                // The control: before the drift, refresh finds nothing, so what it reports next is the drift.
                await stack.engine.pulumi(["refresh", "--yes", "--expect-no-changes"]);
                await drift.apply({ lab: lab(), stack, built: built() });
                const refresh = await stack.engine.pulumi(["refresh", "--yes", "--expect-no-changes"], { allowFailure: true });
                notes.refreshReported = refresh.stdout.split("\n").filter((line) => /^\s+[-~+] \d+ \w+$/.test(line)).map((l) => l.trim());
                expect(refresh.exitCode, `refresh did not report ${drift.kind}:\n${refresh.stdout}`).to.not.equal(0);
                expect(notes.refreshReported).to.not.deep.equal([]);
                notes.refreshNamed = reportedResources(refresh.stdout, stack.engine.stack);
                expect(notes.refreshNamed, `the resources refresh names:\n${refresh.stdout}`).to.include.members(drift.drifted);

                await stack.engine.pulumi(["up", "--yes", "--skip-preview"]);
                expect(await stack.ping(lab().serverAddress), "traffic after the repair").to.equal(true);
                if (options.ipv6) expect(await stack.ping(lab().ipv6!.serverAddress), "IPv6 traffic after the repair").to.equal(true);
                const xdp = (await readLink({ resource: "t", netns: lab().host }, "veth_1a"))?.xdp;
                expect(xdp?.name, "our program is attached again").to.equal("xdp_droplist");
                await stack.engine.pulumi(["preview", "--expect-no-changes"]);
            });
        });
    }
}

describe("Drift: out-of-band changes reported by refresh and repaired by up (faults)", function () {
    this.timeout(180000);
    driftCases("drift", drifts, { config: { xdpProgram: "bpf/xdp_droplist.c", dropPrefixes: ["198.19.1.0/24"] } });
});

describe("Drift of the IPv6 half of a dual-stack stack (faults, IPv6 lab)", function () {
    this.timeout(180000);
    driftCases("drift6", drifts6, {
        ipv6: true,
        config: {
            xdpProgram: "bpf/xdp_droplist.c", dropPrefixes: ["198.19.1.0/24", "2001:db8:0:3::/64"],
            outerAddress6: "fd00:e0::1/64", innerAddress6: "fd00:e0::2/64",
        },
    });
});
