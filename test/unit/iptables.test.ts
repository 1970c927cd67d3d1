import { expect } from "chai";
import { forwardAcceptProvider } from "../../provider/forward-accept";
import { ownerCommentProblem, planRules, ruleSpec, withoutComment } from "../../provider/iptables";
import { natRuleProvider } from "../../provider/nat-rule";
import { parseIptablesRules, splitRuleWords } from "../../provider/parse";

const comment = "egress-xdp:proj/dev/nat";
const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

// What `iptables -S` printed for rules like the ones the resources write (iptables 1.8.9, nft).
const forwardChain = [
    "-P FORWARD DROP",
    "-N DOCKER-USER",
    "-A FORWARD -i br_1 -m comment --comment \"egress-xdp:proj/dev/fwd one\" -j ACCEPT",
    "-A FORWARD -o br_1 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment \"egress-xdp:proj/dev/fwd one\" -j ACCEPT",
    "-A FORWARD -j DOCKER-USER",
    "-A DOCKER-USER -j RETURN",
].join("\n");

describe("iptables -S parsing", function () {
    it("splits words, keeping quoted comments with spaces, quotes and backslashes whole", function () {
        expect(splitRuleWords("-A POSTROUTING -o uplink0 -j MASQUERADE"))
            .to.deep.equal(["-A", "POSTROUTING", "-o", "uplink0", "-j", "MASQUERADE"]);
        expect(splitRuleWords("-A X -m comment --comment \"egress-xdp:p/s/nat one\" -j ACCEPT"))
            .to.deep.equal(["-A", "X", "-m", "comment", "--comment", "egress-xdp:p/s/nat one", "-j", "ACCEPT"]);
        expect(splitRuleWords("--comment \"a\\\\b \\\"c\\\" d\" -j X")).to.deep.equal(["--comment", "a\\b \"c\" d", "-j", "X"]);
        expect(splitRuleWords("")).to.deep.equal([]);
    });

    it("reads policies and rules with their chain, matches, comment and target", function () {
        const { rules, policies } = parseIptablesRules(forwardChain);
        expect(policies).to.deep.equal({ FORWARD: "DROP" });
        expect(rules.map((rule) => rule.chain)).to.deep.equal(["FORWARD", "FORWARD", "FORWARD", "DOCKER-USER"]);
        expect(rules[0]).to.deep.equal({
            chain: "FORWARD", spec: ["-i", "br_1", "-m", "comment", "--comment", "egress-xdp:proj/dev/fwd one", "-j", "ACCEPT"],
            comment: "egress-xdp:proj/dev/fwd one", inInterface: "br_1", outInterface: undefined, source: undefined, target: "ACCEPT",
        });
        expect(rules[1]).to.include({ outInterface: "br_1", target: "ACCEPT" });
        expect(rules[2]).to.include({ comment: undefined, target: "DOCKER-USER" });
        expect(parseIptablesRules("-A POSTROUTING -s 10.0.0.0/24 -o uplink0 -j MASQUERADE").rules[0])
            .to.include({ source: "10.0.0.0/24", outInterface: "uplink0", target: "MASQUERADE" });
    });
});

describe("iptables rule specs", function () {
    it("builds the words in the order iptables -S prints them", function () {
        expect(ruleSpec({ source: "10.0.0.0/24", outInterface: "uplink0", target: "MASQUERADE" }, comment)).to.deep.equal(
            ["-s", "10.0.0.0/24", "-o", "uplink0", "-m", "comment", "--comment", comment, "-j", "MASQUERADE"]);
        expect(ruleSpec({ outInterface: "br_1", target: "MASQUERADE" })).to.deep.equal(["-o", "br_1", "-j", "MASQUERADE"]);
        const printed = parseIptablesRules(forwardChain).rules.slice(0, 2).map((rule) => rule.spec);
        expect([
            ruleSpec({ inInterface: "br_1", target: "ACCEPT" }, "egress-xdp:proj/dev/fwd one"),
            ruleSpec({ outInterface: "br_1", ctstate: "RELATED,ESTABLISHED", target: "ACCEPT" }, "egress-xdp:proj/dev/fwd one"),
        ]).to.deep.equal(printed);
    });

    it("strips only the comment match", function () {
        const tagged = ruleSpec({ outInterface: "br_1", ctstate: "RELATED,ESTABLISHED", target: "ACCEPT" }, comment);
        expect(withoutComment(tagged)).to.deep.equal(ruleSpec({ outInterface: "br_1", ctstate: "RELATED,ESTABLISHED", target: "ACCEPT" }));
        expect(withoutComment(["-o", "x", "-j", "ACCEPT"])).to.deep.equal(["-o", "x", "-j", "ACCEPT"]);
    });

    it("accepts owner comments iptables keeps on one line and within 255 bytes", function () {
        expect(ownerCommentProblem("proj/dev/nat uplink")).to.equal(undefined);
        expect(ownerCommentProblem("x".repeat(244))).to.equal(undefined);
        expect(ownerCommentProblem("x".repeat(245))).to.match(/256-byte.*255/);
        expect(ownerCommentProblem("proj/dev/a\nb")).to.match(/control characters/);
        expect(ownerCommentProblem("")).to.be.a("string");
    });
});

describe("iptables rule plans", function () {
    const wanted = [ruleSpec({ outInterface: "uplink0", target: "MASQUERADE" }, comment)];
    const chainOf = (...lines: string[]) => parseIptablesRules(lines.map((line) => `-A POSTROUTING ${line}`).join("\n")).rules;
    const ours = `-o uplink0 -m comment --comment "${comment}" -j MASQUERADE`;
    const foreign = "-o uplink0 -j MASQUERADE";

    it("adds a missing rule, and reuses ours instead of adding it again", function () {
        expect(planRules([], "POSTROUTING", comment, wanted, false)).to.deep.equal({ adopt: [], remove: [], add: wanted });
        expect(planRules(chainOf(foreign, ours), "POSTROUTING", comment, wanted, false))
            .to.deep.equal({ adopt: [], remove: [], add: [] });
    });

    it("removes surplus copies and other specs with our comment, never rules without it", function () {
        const stale = `-o br_1 -m comment --comment "${comment}" -j MASQUERADE`;
        const plan = planRules(chainOf(ours, foreign, stale, ours), "POSTROUTING", comment, wanted, false);
        expect(plan.add).to.deep.equal([]);
        expect(plan.remove).to.deep.equal([splitRuleWords(stale), wanted[0]]);
    });

    it("adds next to an identical untagged rule unless adopting, then replaces it in place", function () {
        const rules = chainOf("-o br_1 -j MASQUERADE", `-o uplink0 -m comment --comment "other" -j MASQUERADE`, foreign);
        expect(planRules(rules, "POSTROUTING", comment, wanted, false)).to.deep.equal({ adopt: [], remove: [], add: wanted });
        expect(planRules(rules, "POSTROUTING", comment, wanted, true)).to.deep.equal({
            adopt: [{ spec: wanted[0], twin: splitRuleWords(foreign), position: 3 }], remove: [], add: [],
        });
    });

    it("looks only at its own chain", function () {
        const elsewhere = parseIptablesRules(`-A OTHER ${ours}\n-A OTHER ${foreign}`).rules;
        expect(planRules(elsewhere, "POSTROUTING", comment, wanted, true)).to.deep.equal({ adopt: [], remove: [], add: wanted });
    });
});

describe("NatRule and ForwardAccept checks and diffs", function () {
    const nat = { outInterface: "uplink0", sourceCidr: "10.0.0.0/24", owner: "proj/dev/nat" };

    it("names each bad input", async function () {
        const failuresOf = async (news: Record<string, unknown>) =>
            ((await natRuleProvider.check!({}, news)).failures ?? []).map((f) => f.property);
        expect(await failuresOf(nat)).to.deep.equal([]);
        expect(await failuresOf({ ...nat, outInterface: undefined })).to.deep.equal(["outInterface"]);
        expect(await failuresOf({ ...nat, outInterface: "eth0; reboot", sourceCidr: "10.0.0.1/24" }))
            .to.deep.equal(["outInterface", "sourceCidr"]);
        expect(await failuresOf({ ...nat, sourceCidr: "0.0.0.0/0", netns: "../x", adopt: "yes", owner: "x".repeat(300) }))
            .to.deep.equal(["netns", "adopt", "owner", "sourceCidr"]);
        expect(await failuresOf({ ...nat, outInterface: unknown, sourceCidr: unknown })).to.deep.equal([]);
        const forward = await forwardAcceptProvider.check!({}, { owner: "proj/dev/fwd", interface: "a-very-long-bridge-name" });
        expect(forward.failures?.map((f) => f.property)).to.deep.equal(["interface"]);
    });

    it("replaces (deleting first) on a changed match, updates on drifted rules, treats unknowns as changes", async function () {
        const outputs = { ...nat, spec: ruleSpec({ source: "10.0.0.0/24", outInterface: "uplink0", target: "MASQUERADE" }, comment) };
        expect(await natRuleProvider.diff!("id", outputs, nat)).to.deep.equal({ changes: false, replaces: [], deleteBeforeReplace: false });
        for (const [key, value] of [["outInterface", "br_1"], ["sourceCidr", undefined], ["netns", "other"], ["outInterface", unknown]]) {
            expect(await natRuleProvider.diff!("id", outputs, { ...nat, [key as string]: value }), String(key))
                .to.deep.equal({ changes: true, replaces: [key], deleteBeforeReplace: true });
        }
        const drifted = { ...outputs, spec: ["-o", "uplink0", "-m", "comment", "--comment", comment, "-j", "MASQUERADE"] };
        expect(await natRuleProvider.diff!("id", drifted, nat)).to.deep.equal({ changes: true, replaces: [], deleteBeforeReplace: false });
    });

    it("compares ForwardAccept's rules regardless of their order in the chain", async function () {
        const inputs = { interface: "br_1", owner: "proj/dev/fwd one" };
        const specs = parseIptablesRules(forwardChain).rules.slice(0, 2).map((rule) => rule.spec);
        expect(await forwardAcceptProvider.diff!("id", { ...inputs, specs: [specs[1], specs[0]] }, inputs)).to.include({ changes: false });
        expect(await forwardAcceptProvider.diff!("id", { ...inputs, specs: [specs[1]] }, inputs)).to.include({ changes: true });
    });
});
