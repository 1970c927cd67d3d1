// Issue 5, conflicts: objects that someone else made with our names or our look. `pulumi up` refuses
// a bridge or a namespace it did not make and leaves it exactly as it was; a NAT rule that looks like
// ours is never touched (ours carries an owner comment and goes next to it). Taking such objects over
// happens only when asked (`adopt: true` on the resource).
import { expect } from "chai";
import * as path from "path";
import { readLink } from "../../provider/link";
import { run } from "../../provider/runner";
import { Engine, newEngine, projectRoot } from "../../lab/engine";
import { useFigures } from "../helpers/figures";
import { inNs, removeTestTable, useLabStacks } from "../helpers/lab";
import { chainRules, iptablesTableSave, linkDetails, snapshotNetns } from "../helpers/snapshot";

/** The uplink MASQUERADE rule of a stack, as someone else would write it: the same match, no owner comment. */
const lookAlikeNat = ["-s", "10.0.0.0/24", "-o", "uplink0", "-j", "MASQUERADE"];

describe("Conflicts: look-alikes refused and left untouched, adopted only when asked (faults)", function () {
    this.timeout(180000);
    const engines: Engine[] = [];
    afterEach(async function () {
        for (const engine of engines.splice(0)) {
            await engine.pulumi(["destroy", "--yes"], { allowFailure: true });
            engine.dispose();
        }
    });
    const { lab, stack } = useLabStacks();
    const measured = useFigures("conflicts", "left untouched");
    const host = () => ({ resource: "t", netns: lab().host });
    const nat = (...args: string[]) => inNs(lab().host, ["iptables", "-w", "-t", "nat", ...args]);

    const labStack = () => stack("conflict");

    /** A bridge br_1 of someone else's, with an address and up. */
    async function foreignBridge(): Promise<void> {
        await inNs(lab().host, ["ip", "link", "add", "br_1", "type", "bridge"]);
        await inNs(lab().host, ["ip", "addr", "add", "192.0.2.1/24", "dev", "br_1"]);
        await inNs(lab().host, ["ip", "link", "set", "br_1", "up"]);
    }

    /** A namespace of someone else's, with something in it. */
    async function foreignNamespace(name: string): Promise<void> {
        await run({ resource: "t" }, ["ip", "netns", "add", name]);
        await inNs(name, ["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1"]);
        await inNs(name, ["ip", "addr", "add", "10.99.0.1/8", "dev", "lo"]);
        await inNs(name, ["ip", "link", "set", "lo", "up"]);
    }

    it("a bridge named like ours: up is refused naming it, and the bridge stays exactly as it was", async function () {
        await measured("foreign bridge br_1", async (notes) => {
            await foreignBridge();
            const before = await linkDetails(lab().host, "br_1");
            const s = await labStack();
            const up = await s.engine.pulumi(["up", "--yes", "--skip-preview"], { allowFailure: true });
            notes.refusal = up.stdout.split("\n").find((line) => /a link named br_1 already exists/.test(line))?.trim();
            expect(up.exitCode).to.not.equal(0);
            expect(notes.refusal, up.stdout).to.match(/not created by this resource.*left untouched/);
            expect(await linkDetails(lab().host, "br_1"), "after the refused up").to.deep.equal(before);
            await s.engine.pulumi(["destroy", "--yes"]);
            expect(await linkDetails(lab().host, "br_1"), "after destroy").to.deep.equal(before);
            await inNs(lab().host, ["ip", "link", "del", "br_1"]);
        });
    });

    it("a namespace named like ours: up is refused naming it, and the namespace stays exactly as it was", async function () {
        await measured("foreign namespace with the inner namespace's name", async (notes) => {
            const s = await labStack();
            await foreignNamespace(s.namespace);
            const before = await snapshotNetns(s.namespace);
            const up = await s.engine.pulumi(["up", "--yes", "--skip-preview"], { allowFailure: true });
            notes.refusal = up.stdout.split("\n").find((line) => /a network namespace named/.test(line))?.trim();
            expect(up.exitCode).to.not.equal(0);
            expect(notes.refusal, up.stdout).to.match(/already exists.*not created by this resource.*left untouched/);
            expect(await snapshotNetns(s.namespace), "after the refused up").to.equal(before);
            await s.engine.pulumi(["destroy", "--yes"]);
            expect(await snapshotNetns(s.namespace), "after destroy").to.equal(before);
            await run({ resource: "t" }, ["ip", "netns", "del", s.namespace]);
        });
    });

    it("a NAT rule that looks like ours: ours goes next to it, traffic flows, and it is never touched", async function () {
        await measured("foreign NAT rule with our match", async (notes) => {
            await nat("-A", "POSTROUTING", ...lookAlikeNat);
            const before = await iptablesTableSave(lab().host, "nat");
            const foreign = `-A POSTROUTING ${lookAlikeNat.join(" ")}`;
            const s = await labStack();
            await s.engine.pulumi(["up", "--yes", "--skip-preview"]);
            const rules = await chainRules(lab().host, "nat", "POSTROUTING");
            notes.postrouting = rules;
            expect(rules[0], "the look-alike keeps its place").to.equal(foreign);
            expect(rules.filter((rule) => rule === foreign)).to.have.length(1);
            // The look-alike alone would NAT this traffic too: ours must be there as well, tagged.
            const ours = new RegExp(`^-A POSTROUTING -s 10\\.0\\.0\\.0/24 -o uplink0 -m comment --comment "?egress-xdp:[^ ]*/${s.engine.stack}-nat-uplink"? -j MASQUERADE$`);
            expect(rules.filter((rule) => ours.test(rule)), "our tagged uplink rule next to it").to.have.length(1);
            expect(await s.ping(lab().serverAddress)).to.equal(true);
            await s.engine.pulumi(["destroy", "--yes"]);
            expect(await iptablesTableSave(lab().host, "nat"), "after destroy").to.equal(before);
            await nat("-D", "POSTROUTING", ...lookAlikeNat);
            await removeTestTable(lab().host, "nat"); // made by the look-alike, so never egress-xdp's to remove
        });
    });

    it("adoption only when asked: refused with adopt false, taken over with adopt true, then owned and destroyed", async function () {
        await measured("adopt: false refuses, adopt: true takes over", async (notes) => {
            const namespace = lab().netnsName("adopt");
            await foreignNamespace(namespace);
            await foreignBridge();
            await nat("-A", "POSTROUTING", ...lookAlikeNat);
            const foreignState = async () => ({
                namespace: await snapshotNetns(namespace), bridge: await linkDetails(lab().host, "br_1"),
                nat: await iptablesTableSave(lab().host, "nat"),
            });
            const foreign = await foreignState();
            const foreignBridgeIndex = (await readLink(host(), "br_1"))?.ifindex;
            const lookAlikeRule = `-A POSTROUTING ${lookAlikeNat.join(" ")}`;
            const engine = await newEngine(path.join(projectRoot, "test", "fixtures", "adopt"), `adopt-${lab().id}`);
            engines.push(engine);
            const configure = (adopt: boolean) => engine.pulumi(["config", "set-all",
                "--plaintext", `netns=${lab().host}`, "--plaintext", `namespace=${namespace}`, "--plaintext", `adopt=${adopt}`]);

            await configure(false);
            const refused = await engine.pulumi(["up", "--yes", "--skip-preview"], { allowFailure: true });
            expect(refused.exitCode).to.not.equal(0);
            const refusals = refused.stdout.split("\n").filter((line) => /already exists.*not created by this resource/.test(line));
            notes.refusals = refusals.length;
            expect(refusals.some((line) => line.includes("a link named br_1")), "the bridge refused").to.equal(true);
            expect(refusals.some((line) => line.includes(`a network namespace named ${namespace}`)), "the namespace refused")
                .to.equal(true);
            // A NatRule never takes a look-alike without adopt: it adds its own, tagged, after it.
            const during = await foreignState();
            expect({ ...during, nat: undefined }, "with adopt false the bridge and namespace are untouched")
                .to.deep.equal({ ...foreign, nat: undefined });
            const postroutingRefused = await chainRules(lab().host, "nat", "POSTROUTING");
            expect(postroutingRefused[0], "the look-alike unchanged, first").to.equal(lookAlikeRule);
            expect(postroutingRefused.filter((rule) => rule === lookAlikeRule)).to.have.length(1);
            await engine.pulumi(["destroy", "--yes"]);
            expect(await foreignState(), "with adopt false, after destroy nothing foreign changed").to.deep.equal(foreign);

            await configure(true);
            await engine.pulumi(["up", "--yes", "--skip-preview"]);
            const bridge = await readLink(host(), "br_1");
            expect(bridge?.ifindex, "the same bridge, taken over").to.equal(foreignBridgeIndex);
            expect(bridge?.alias).to.match(/^egress-xdp:adopt\//);
            expect(bridge?.addresses).to.deep.equal(["10.0.0.1/24"]);
            expect((await readLink({ resource: "t", netns: namespace }, "lo"))?.alias).to.match(/^egress-xdp:adopt\//);
            const postrouting = await chainRules(lab().host, "nat", "POSTROUTING");
            expect(postrouting, "the look-alike became our tagged rule").to.have.length(1);
            expect(postrouting[0]).to.match(/--comment "egress-xdp:adopt\//);
            await engine.pulumi(["preview", "--expect-no-changes"]);
            // Adopted objects are ours now: destroy removes them, which leaves the lab as before the test,
            // but for the nat table the look-alike made (a table egress-xdp did not make stays).
            await engine.pulumi(["destroy", "--yes"]);
            await removeTestTable(lab().host, "nat");
        });
    });
});
