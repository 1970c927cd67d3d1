import { expect } from "chai";
import { ForwardAcceptInputs, ForwardAcceptOutputs, forwardAcceptProvider } from "../../provider/forward-accept";
import { natRuleProvider } from "../../provider/nat-rule";
import { useLab } from "../helpers/kernel-suite";
import { addLabClient, inNs, removeTestTable } from "../helpers/lab";
import { chainRules, iptablesTableSave } from "../helpers/snapshot";

describe("ForwardAccept (kernel)", function () {
    const lab = useLab();
    const owner = "test/dev/forward accept";
    const comment = `egress-xdp:${owner}`;
    const inputsFor = async (extra: Record<string, unknown> = {}) => {
        const { inputs, failures } = await forwardAcceptProvider.check!({}, { netns: lab().host, interface: "br_t", owner, ...extra });
        expect(failures).to.deep.equal([]);
        return inputs as ForwardAcceptInputs;
    };
    const filter = (...args: string[]) => inNs(lab().host, ["iptables", "-w", "-t", "filter", ...args]);
    const forward = () => chainRules(lab().host, "filter", "FORWARD");
    const filterSave = () => iptablesTableSave(lab().host, "filter");
    const withoutOurs = (save: string) => save.split("\n").filter((line) => !line.includes(comment)).join("\n");
    const acceptIn = `-A FORWARD -i br_t -m comment --comment "${comment}" -j ACCEPT`;
    const acceptReplies = `-A FORWARD -o br_t -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "${comment}" -j ACCEPT`;
    const foreign = "-A FORWARD -i br_t -j ACCEPT";

    it("inserts both tagged rules at the top, reads them back, classifies diffs, deletes only them", async function () {
        await filter(...foreign.split(" "));
        const before = await filterSave();
        const inputs = await inputsFor();
        const created = await forwardAcceptProvider.create!(inputs);
        const outs = created.outs as ForwardAcceptOutputs;
        expect(outs).to.deep.include({
            table: "filter", chain: "FORWARD", comment, specs: [
                ["-i", "br_t", "-m", "comment", "--comment", comment, "-j", "ACCEPT"],
                ["-o", "br_t", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-m", "comment", "--comment", comment, "-j", "ACCEPT"],
            ],
        });
        expect(await forward()).to.deep.equal([acceptIn, acceptReplies, foreign]);
        expect(withoutOurs(await filterSave())).to.equal(before);
        expect(await forwardAcceptProvider.read!(created.id, outs)).to.deep.equal({ id: created.id, props: outs });

        expect(await forwardAcceptProvider.diff!(created.id, outs, inputs)).to.include({ changes: false });
        expect(await forwardAcceptProvider.diff!(created.id, outs, await inputsFor({ interface: "br_u" })))
            .to.deep.include({ changes: true, replaces: ["interface"], deleteBeforeReplace: true });
        expect(await forwardAcceptProvider.diff!(created.id, outs, await inputsFor({ netns: lab().upstream })))
            .to.deep.include({ changes: true, replaces: ["netns"], deleteBeforeReplace: true });

        await forwardAcceptProvider.delete!(created.id, outs);
        expect(await filterSave()).to.equal(before);
        expect(await forwardAcceptProvider.read!(created.id, outs)).to.deep.equal({});
        await forwardAcceptProvider.delete!(created.id, outs);
        await filter(...foreign.replace("-A", "-D").split(" "));
        await removeTestTable(lab().host, "filter"); // made by the test's foreign rule
    });

    it("completes what an interrupted run left without duplicates, and adopts an untagged twin when asked", async function () {
        await filter("-I", "FORWARD", "1", "-i", "br_t", "-m", "comment", "--comment", comment, "-j", "ACCEPT");
        const created = await forwardAcceptProvider.create!(await inputsFor());
        expect(await forward()).to.deep.equal([acceptReplies, acceptIn]);
        expect((await forwardAcceptProvider.read!(created.id, created.outs)).props).to.deep.equal(created.outs);
        await forwardAcceptProvider.create!(await inputsFor());
        expect(await forward()).to.have.length(2);
        await forwardAcceptProvider.delete!(created.id, created.outs);
        expect(await forward()).to.deep.equal([]);

        const docker = "-A FORWARD -j DOCKER-USER";
        await filter("-N", "DOCKER-USER");
        await filter(...docker.split(" "));
        await filter(...foreign.split(" "));
        const adopted = await forwardAcceptProvider.create!(await inputsFor({ adopt: true }));
        expect(await forward()).to.deep.equal([acceptReplies, docker, acceptIn]);
        await forwardAcceptProvider.delete!(adopted.id, adopted.outs);
        expect(await forward()).to.deep.equal([docker]);
        await filter(...docker.replace("-A", "-D").split(" "));
        await filter("-X", "DOCKER-USER");
        await removeTestTable(lab().host, "filter"); // made by the test's leftover rule
    });

    it("lets forwarded traffic through a Docker-like DROP setup only while it exists, leaving that setup intact", async function () {
        const client = await addLabClient(lab());
        const server = lab().serverAddress;
        const nat = await natRuleProvider.create!((await natRuleProvider.check!({}, {
            netns: lab().host, outInterface: lab().uplink, sourceCidr: client.subnet, owner: "test/dev/nat",
        })).inputs);
        expect(await client.ping(server), "forwarding and NAT work before the DROP setup").to.equal(true);

        const dockerSetup = [
            ["-N", "DOCKER-USER"], ["-A", "DOCKER-USER", "-j", "RETURN"], ["-A", "FORWARD", "-j", "DOCKER-USER"],
            ["-A", "FORWARD", "-j", "DROP"], ["-P", "FORWARD", "DROP"],
        ];
        for (const args of dockerSetup) await filter(...args);
        const before = await filterSave();
        expect(await client.ping(server), "the DROP setup blocks forwarding").to.equal(false);

        const created = await forwardAcceptProvider.create!(await inputsFor({ interface: client.hostInterface }));
        expect((await forward()).slice(0, 2).every((line) => line.includes(comment))).to.equal(true);
        expect(withoutOurs(await filterSave())).to.equal(before);
        expect(await client.ping(server)).to.equal(true);

        await forwardAcceptProvider.delete!(created.id, created.outs);
        expect(await filterSave()).to.equal(before);
        expect(await client.ping(server)).to.equal(false);

        const undo = [
            ["-P", "FORWARD", "ACCEPT"], ["-D", "FORWARD", "-j", "DROP"], ["-D", "FORWARD", "-j", "DOCKER-USER"],
            ["-D", "DOCKER-USER", "-j", "RETURN"], ["-X", "DOCKER-USER"],
        ];
        for (const args of undo) await filter(...args);
        await removeTestTable(lab().host, "filter"); // made by the Docker-like setup
        await natRuleProvider.delete!(nat.id, nat.outs);
        await client.remove();
    });
});
