import { expect } from "chai";
import { NatRuleInputs, NatRuleOutputs, natRuleProvider } from "../../provider/nat-rule";
import { useLab } from "../helpers/kernel-suite";
import { addLabClient, inNs, removeTestTable } from "../helpers/lab";
import { chainRules, iptablesTableSave } from "../helpers/snapshot";

describe("NatRule (kernel)", function () {
    const lab = useLab();
    const owner = "test/dev/nat";
    const comment = `egress-xdp:${owner}`;
    const ours = `-A POSTROUTING -o uplink0 -m comment --comment "${comment}" -j MASQUERADE`;
    const inputsFor = async (extra: Record<string, unknown> = {}) => {
        const { inputs, failures } = await natRuleProvider.check!({}, { netns: lab().host, outInterface: "uplink0", owner, ...extra });
        expect(failures).to.deep.equal([]);
        return inputs as NatRuleInputs;
    };
    const nat = (...args: string[]) => inNs(lab().host, ["iptables", "-w", "-t", "nat", ...args]);
    const postrouting = () => chainRules(lab().host, "nat", "POSTROUTING");
    const natSave = () => iptablesTableSave(lab().host, "nat");
    const withoutOurs = (save: string) => save.split("\n").filter((line) => !line.includes(comment)).join("\n");

    it("creates a tagged rule, reads it back, classifies diffs, repairs drift, deletes idempotently", async function () {
        const inputs = await inputsFor({ sourceCidr: "10.0.0.0/24" });
        const created = await natRuleProvider.create!(inputs);
        const outs = created.outs as NatRuleOutputs;
        expect(outs).to.deep.include({
            table: "nat", chain: "POSTROUTING", comment,
            spec: ["-s", "10.0.0.0/24", "-o", "uplink0", "-m", "comment", "--comment", comment, "-j", "MASQUERADE"],
        });
        const tagged = `-A POSTROUTING -s 10.0.0.0/24 -o uplink0 -m comment --comment "${comment}" -j MASQUERADE`;
        expect(await postrouting()).to.deep.equal([tagged]);
        expect(await natRuleProvider.read!(created.id, outs)).to.deep.equal({ id: created.id, props: outs });

        expect(await natRuleProvider.diff!(created.id, outs, inputs)).to.include({ changes: false });
        expect(await natRuleProvider.diff!(created.id, outs, await inputsFor({ sourceCidr: "10.0.0.0/24", outInterface: "br_1" })))
            .to.deep.include({ changes: true, replaces: ["outInterface"], deleteBeforeReplace: true });
        expect(await natRuleProvider.diff!(created.id, outs, await inputsFor()))
            .to.deep.include({ changes: true, replaces: ["sourceCidr"], deleteBeforeReplace: true });

        // Someone rewrites our rule in place: refresh shows it, diff asks for an update that restores it.
        await nat("-R", "POSTROUTING", "1", "-o", "uplink0", "-m", "comment", "--comment", comment, "-j", "MASQUERADE");
        const drifted = (await natRuleProvider.read!(created.id, outs)).props as NatRuleOutputs;
        expect(drifted.spec).to.deep.equal(["-o", "uplink0", "-m", "comment", "--comment", comment, "-j", "MASQUERADE"]);
        expect(await natRuleProvider.diff!(created.id, drifted, inputs)).to.deep.include({ changes: true, replaces: [] });
        expect((await natRuleProvider.update!(created.id, drifted, inputs)).outs).to.deep.equal(outs);
        expect(await postrouting()).to.deep.equal([tagged]);

        await natRuleProvider.delete!(created.id, outs);
        expect(await postrouting()).to.deep.equal([]);
        expect(await natRuleProvider.read!(created.id, outs)).to.deep.equal({});
        await natRuleProvider.delete!(created.id, outs);
    });

    it("never touches identical rules of others, and adopts an untagged twin in place when asked", async function () {
        const foreign = "-A POSTROUTING -o uplink0 -j MASQUERADE";
        const otherOwner = `-A POSTROUTING -o uplink0 -m comment --comment "someone else" -j MASQUERADE`;
        await nat(...foreign.split(" "));
        await nat("-A", "POSTROUTING", "-o", "uplink0", "-m", "comment", "--comment", "someone else", "-j", "MASQUERADE");
        const before = await natSave();

        const created = await natRuleProvider.create!(await inputsFor());
        expect(await postrouting()).to.deep.equal([foreign, otherOwner, ours]);
        expect(withoutOurs(await natSave())).to.equal(before);
        await natRuleProvider.delete!(created.id, created.outs);
        expect(await natSave()).to.equal(before);

        const adopted = await natRuleProvider.create!(await inputsFor({ adopt: true }));
        expect(await postrouting()).to.deep.equal([ours, otherOwner]);
        await natRuleProvider.delete!(adopted.id, adopted.outs);
        expect(await postrouting()).to.deep.equal([otherOwner]);
        await nat("-D", "POSTROUTING", "-o", "uplink0", "-m", "comment", "--comment", "someone else", "-j", "MASQUERADE");
        // The test's own rules made the table, so it was never ours to remove.
        expect(await natSave()).to.match(/^\*nat$/m);
        await removeTestTable(lab().host, "nat");
    });

    it("reuses the rule an interrupted run left instead of adding it again, and removes surplus copies", async function () {
        const addOurs = () => nat("-A", "POSTROUTING", "-o", "uplink0", "-m", "comment", "--comment", comment, "-j", "MASQUERADE");
        await addOurs();
        const created = await natRuleProvider.create!(await inputsFor());
        expect(await postrouting()).to.deep.equal([ours]);
        await natRuleProvider.create!(await inputsFor());
        expect(await postrouting()).to.deep.equal([ours]);
        await addOurs();
        await natRuleProvider.create!(await inputsFor());
        expect(await postrouting()).to.deep.equal([ours]);

        await addOurs();
        await natRuleProvider.delete!(created.id, created.outs);
        expect(await postrouting()).to.deep.equal([]);
        // The table was there before the first create (the test wrote the leftover), so it stays.
        expect(await natSave()).to.match(/^\*nat$/m);
        await removeTestTable(lab().host, "nat");
    });

    it("fails clearly in a missing namespace, where read finds nothing and delete has nothing to do", async function () {
        const inputs = await inputsFor({ netns: lab().netnsName("gone") });
        let failure: unknown;
        try {
            await natRuleProvider.create!(inputs);
        } catch (error) {
            failure = error;
        }
        expect(String(failure)).to.match(/NatRule test\/dev\/nat: network namespace exgone-\w+ does not exist/);
        const outs = { ...inputs, spec: [] };
        expect(await natRuleProvider.read!("id", outs)).to.deep.equal({});
        await natRuleProvider.delete!("id", outs);
    });

    it("masquerades a client's traffic: it reaches the server only while the rule exists", async function () {
        const client = await addLabClient(lab());
        const server = lab().serverAddress;
        expect(await client.ping(server), "without NAT the upstream cannot answer the client").to.equal(false);

        const created = await natRuleProvider.create!(await inputsFor({ sourceCidr: client.subnet }));
        const packets = async () => {
            const line = (await nat("-S", "POSTROUTING", "-v")).stdout.split("\n").find((l) => l.includes(comment));
            return Number(/ -c (\d+) \d+/.exec(line ?? "")?.[1]);
        };
        expect(await packets()).to.equal(0);
        expect(await client.ping(server)).to.equal(true);
        expect(await packets()).to.be.greaterThan(0);

        await natRuleProvider.delete!(created.id, created.outs);
        expect(await client.ping(server)).to.equal(false);
        await client.remove();
    });
});

describe("NatRule family 6 (kernel, ip6tables)", function () {
    const lab = useLab({ ipv6: true });
    const owner = "test/dev/nat6";
    const comment = `egress-xdp:${owner}`;
    const ours = `-A POSTROUTING -s fd00:e0::/64 -o uplink0 -m comment --comment "${comment}" -j MASQUERADE`;
    const inputsFor = async (extra: Record<string, unknown> = {}) => {
        const { inputs, failures } = await natRuleProvider.check!({}, {
            netns: lab().host, outInterface: "uplink0", sourceCidr: "fd00:e0::/64", family: 6, owner, ...extra,
        });
        expect(failures).to.deep.equal([]);
        return inputs as NatRuleInputs;
    };
    const nat6 = (...args: string[]) => inNs(lab().host, ["ip6tables", "-w", "-t", "nat", ...args]);
    const postrouting6 = async () => (await nat6("-S", "POSTROUTING")).stdout.split("\n").filter((line) => line.startsWith("-A "));
    const tables = async (family: "ip" | "ip6") => (await inNs(lab().host, ["nft", "list", "tables", family])).stdout.trim();

    it("checks that the source prefix is of the rule's family", async function () {
        const { failures } = await natRuleProvider.check!({}, {
            netns: "lab", outInterface: "uplink0", sourceCidr: "10.0.0.0/24", family: 6, owner,
        });
        expect(failures).to.deep.equal([{ property: "sourceCidr", reason: "10.0.0.0/24 is not an IPv6 prefix (family 6)" }]);
        const bad = await natRuleProvider.check!({}, { netns: "lab", outInterface: "uplink0", family: 5, owner });
        expect(bad.failures!.map((f) => f.property)).to.deep.equal(["family"]);
    });

    it("keeps its rule in ip6tables only: created, read, adopted from an untagged twin, deleted; iptables untouched", async function () {
        expect(await tables("ip6"), "the lab is made without tables").to.equal("");
        const created = await natRuleProvider.create!(await inputsFor());
        const outs = created.outs as NatRuleOutputs;
        expect(created.id).to.equal(`${lab().host}/ip6/nat/POSTROUTING/${comment}`);
        expect(await postrouting6()).to.deep.equal([ours]);
        expect(await natRuleProvider.read!(created.id, outs)).to.deep.equal({ id: created.id, props: outs });
        expect(await natRuleProvider.diff!(created.id, outs, await inputsFor({ family: 4, sourceCidr: "10.0.0.0/24" })))
            .to.deep.include({ changes: true, replaces: ["family", "sourceCidr"] });
        expect(await tables("ip"), "no iptables table made").to.equal("");
        await natRuleProvider.delete!(created.id, outs);
        expect(await tables("ip6"), "the ip6 nat table its rule made went with it").to.equal("");

        const twin = "-A POSTROUTING -s fd00:e0::/64 -o uplink0 -j MASQUERADE";
        await nat6(...twin.split(" "));
        const alongside = await natRuleProvider.create!(await inputsFor());
        expect(await postrouting6(), "a twin of someone else's is left alone").to.deep.equal([twin, ours]);
        await natRuleProvider.delete!(alongside.id, alongside.outs);
        expect(await postrouting6()).to.deep.equal([twin]);
        const adopted = await natRuleProvider.create!(await inputsFor({ adopt: true }));
        expect(await postrouting6(), "adopt: the twin becomes ours in place").to.deep.equal([ours]);
        await natRuleProvider.delete!(adopted.id, adopted.outs);
        expect(await postrouting6()).to.deep.equal([]);
        // The test's twin made the table, so it was never egress-xdp's to remove.
        expect(await tables("ip6")).to.equal("table ip6 nat");
        await removeTestTable(lab().host, "nat", "ip6");
    });
});
