// Issue 4 end to end: the root program (one EgressXdp) through the real engine, inside a lab host whose
// uplink is a veth to a simulated upstream.
import { expect } from "chai";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { packetsSeen } from "../../components/counters";
import { readLink } from "../../provider/link";
import { ethtoolFeaturesArgv, parseEthtoolFeatures } from "../../provider/offload";
import { projectRoot } from "../../lab/engine";
import { useLab } from "../helpers/kernel-suite";
import { inNs, removeTestTable } from "../helpers/lab";
import { gapsIn, watchLinkEvents } from "../helpers/link-events";
import { LabStack, newLabStack } from "../../lab/stack";
import { tcpExchange } from "../helpers/traffic";

describe("EgressXdp end to end (engine, root tier)", function () {
    const stacks: LabStack[] = [];
    const scratch: string[] = [];
    // Registered before useLab's hooks, so the stacks are destroyed before the lab is compared.
    afterEach(async function () {
        for (const stack of stacks.splice(0)) await stack.dispose();
        for (const file of scratch.splice(0)) rmSync(file, { recursive: true, force: true });
    });
    const lab = useLab();
    const stack = async (name: string, config: Record<string, string | string[]> = {}) => {
        const created = await newLabStack(lab(), name, config);
        stacks.push(created);
        return created;
    };

    it("brings the seed's topology up: ICMP and TCP leave NATed, XDP counts them, previews stay empty", async function () {
        const s = await stack("main");
        await s.engine.pulumi(["up", "--yes"]);
        const out = await s.outputs();
        expect(out).to.include({ namespace: s.namespace, bridge: "br_1", vethOuter: "veth_1a", effectiveXdpMode: "generic" });
        expect(out.execPrefix).to.deep.equal(["ip", "netns", "exec", s.namespace]);
        const outer = await readLink({ resource: "t", netns: lab().host }, "veth_1a");
        expect(outer?.xdp?.progId).to.equal(out.xdpProgramId);
        expect(outer?.master).to.equal("br_1");

        const before = packetsSeen(await s.counters());
        expect(await s.ping(lab().serverAddress, 10)).to.equal(true);
        const exchange = await tcpExchange(lab().upstream, lab().serverAddress, s.namespace, "hello through xdp");
        expect(exchange.received).to.equal("hello through xdp");
        expect(exchange.peerAddress, "the server sees the uplink's address (NAT)").to.equal(lab().uplinkAddress);
        const counters = await s.counters();
        expect(counters.stats!.icmp.packets).to.be.at.least(10);
        expect(counters.stats!.tcp.packets).to.be.at.least(3);
        expect(packetsSeen(counters) - before).to.be.at.least(13);

        await s.engine.pulumi(["preview", "--expect-no-changes"]);
        await s.engine.pulumi(["refresh", "--yes", "--expect-no-changes"]);
    });

    it("native mode: GRO on on veth_1a while the program sees wire frames, previews stay empty, generic puts it back", async function () {
        const s = await stack("native", { xdpMode: "native" });
        await s.engine.pulumi(["up", "--yes"]);
        const gro = async () => parseEthtoolFeatures((await inNs(lab().host, ethtoolFeaturesArgv("veth_1a"))).stdout)["generic-receive-offload"];
        const groChange = { feature: "generic-receive-offload", found: false, set: true };
        expect(await s.outputs()).to.deep.include({
            effectiveXdpMode: "native", xdpProgramView: "wire frames", xdpOffloads: { "generic-receive-offload": "on" }, xdpOffloadChanges: [groChange],
        });
        expect(await gro()).to.include({ active: true, requested: true });
        const exchange = await tcpExchange(lab().upstream, lab().serverAddress, s.namespace, "hello through native xdp");
        expect(exchange.received).to.equal("hello through native xdp");
        await s.engine.pulumi(["preview", "--expect-no-changes"]);
        await s.engine.pulumi(["refresh", "--yes", "--expect-no-changes"]);

        await s.engine.pulumi(["config", "set", "xdpMode", "generic"]);
        await s.engine.pulumi(["up", "--yes"]);
        expect(await s.outputs()).to.deep.include({
            effectiveXdpMode: "generic", xdpProgramView: "super-packets", xdpOffloads: { "generic-receive-offload": "off" }, xdpOffloadChanges: [],
        });
        expect(await gro(), "back as it was found").to.include({ active: false, requested: false });
        await s.engine.pulumi(["preview", "--expect-no-changes"]);
    });

    it("drops the config's prefixes and counts the drops", async function () {
        const s = await stack("drop", { xdpProgram: "bpf/xdp_droplist.c", dropPrefixes: ["198.19.1.0/24"] });
        await s.engine.pulumi(["up", "--yes"]);
        expect(await s.replies(lab().otherServerAddress, 5)).to.equal(0);
        expect(await s.ping(lab().serverAddress, 5)).to.equal(true);
        const counters = await s.counters();
        expect(counters.verdicts!.dropped).to.be.at.least(5);
        expect(counters.dropsByPrefix!["198.19.1.0/24"]).to.be.at.least(5);
        expect(counters.verdicts!.passed).to.be.at.least(5);
    });

    it("forwardAccept auto: no FORWARD rules on an open host, ours once the policy is DROP, none after destroy", async function () {
        const forwardRules = async () => (await inNs(lab().host, ["iptables", "-w", "-S", "FORWARD"])).stdout
            .split("\n").filter((line) => line.startsWith("-A FORWARD"));
        const s = await stack("fwd");
        await s.engine.pulumi(["up", "--yes"]);
        expect(await forwardRules(), "policy ACCEPT, empty chain: nothing added").to.deep.equal([]);
        expect(await s.ping(lab().serverAddress, 3)).to.equal(true);
        await inNs(lab().host, ["iptables", "-w", "-P", "FORWARD", "DROP"]);
        try {
            expect(await s.replies(lab().serverAddress, 2), "DROP stops the path").to.equal(0);
            const preview = await s.engine.pulumi(["preview", "--diff"]);
            expect(preview.stdout).to.match(/\+ +pulumi-nodejs:dynamic\/egressxdp:ForwardAccept/);
            await s.engine.pulumi(["up", "--yes"]);
            const ours = await forwardRules();
            expect(ours).to.have.length(2);
            expect(ours.every((rule) => rule.includes("br_1") && rule.includes("egress-xdp:"))).to.equal(true);
            expect(await s.ping(lab().serverAddress, 3), "the accept rules let it through").to.equal(true);
            await s.engine.pulumi(["preview", "--expect-no-changes"]);
            await s.engine.pulumi(["destroy", "--yes"]);
            expect(await forwardRules()).to.deep.equal([]);
        } finally {
            await inNs(lab().host, ["iptables", "-w", "-P", "FORWARD", "ACCEPT"]);
            await removeTestTable(lab().host, "filter"); // the test's policy made it, so destroy left it
        }
    });

    it("rebuilds and re-attaches an edited program, never leaving the interface without one", async function () {
        const dir = mkdtempSync(path.join(tmpdir(), "egress-xdp-edit-"));
        scratch.push(dir);
        const source = path.join(dir, "edited.c");
        copyFileSync(path.join(projectRoot, "bpf", "xdp_stats.c"), source);
        const s = await stack("edit", { xdpProgram: source });
        await s.engine.pulumi(["up", "--yes"]);
        const first = (await s.outputs()).xdpProgramId;

        writeFileSync(source, readFileSync(source, "utf8").replace("return XDP_PASS;", "return XDP_PASS; /* edited */"));
        const preview = (await s.engine.pulumi(["preview", "--diff"])).stdout;
        expect(preview).to.match(/\+-\s*command:local:Command/);
        expect(preview).to.match(/~\s*pulumi-nodejs:dynamic\/egressxdp:XdpAttachment/);

        // Every attach, replace or detach on veth_1a during the whole update, as the kernel announces it.
        const watch = await watchLinkEvents(lab().host, "veth_1a");
        let events;
        try {
            await s.engine.pulumi(["up", "--yes"]);
        } finally {
            events = await watch.stop();
        }
        const second = (await s.outputs()).xdpProgramId;
        expect(second).to.not.equal(first);
        expect(events.length, "the kernel announced the swap").to.be.at.least(1);
        expect(gapsIn(events), "link events without a program during the update").to.deep.equal([]);
        expect(events.map((event) => event.progId).filter((id) => id !== first && id !== second), "other programs")
            .to.deep.equal([]);
        expect(events.at(-1)?.progId, "the last event shows the new program").to.equal(second);
        await s.engine.pulumi(["preview", "--expect-no-changes"]);
    });

    it("runs two stacks with different names side by side on one lab host", async function () {
        const a = await stack("a", { bridge: "br_a", tap: "tap_a", vethOuter: "veth_aa", vethInner: "veth_ab" });
        const b = await stack("b", {
            bridge: "br_b", tap: "tap_b", vethOuter: "veth_ba", vethInner: "veth_bb",
            outerAddress: "10.1.0.1/24", innerAddress: "10.1.0.2/24",
        });
        await a.engine.pulumi(["up", "--yes"]);
        await b.engine.pulumi(["up", "--yes"]);
        expect(await a.ping(lab().serverAddress, 3)).to.equal(true);
        expect(await b.ping(lab().serverAddress, 3)).to.equal(true);
        await a.engine.pulumi(["destroy", "--yes"]);
        expect(await b.ping(lab().serverAddress, 3), "b still works after a is destroyed").to.equal(true);
    });
});
