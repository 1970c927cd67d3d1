// iptables and ip6tables rules a resource owns, shared by NatRule and ForwardAccept (each of either
// family: `family: 6` runs ip6tables with the same rules, marks and steps). Every rule carries the owner
// mark as its comment (`-m comment --comment egress-xdp:<owner>`), so read and delete find exactly our
// rules, a re-run never duplicates them, and a look-alike rule of someone else (same match, no or
// another comment) is never touched. Nothing here flushes a chain or sets a policy; a table the rules
// brought into being goes with the last of them (provider/iptables-tables.ts).
import * as pulumi from "@pulumi/pulumi";
import { holdTable, iptablesCommand, releaseTableHold } from "./iptables-tables";
import { netnsExists } from "./netns";
import { ownerMark, qualifiedId } from "./owner";
import { IptablesRule, parseIptablesRules } from "./parse";
import { Description, Properties } from "./properties";
import { RunContext, run } from "./runner";
import { CheckFailure, IpFamily, booleanProblem, netnsNameProblem } from "./validate";

/** The matches this project's rules use. */
export interface RuleMatch {
    source?: string;
    inInterface?: string;
    outInterface?: string;
    /** conntrack states, e.g. "RELATED,ESTABLISHED". */
    ctstate?: string;
    target: string;
}

/** A rule's words in the order `iptables -S` prints them, so they compare with its output. */
export function ruleSpec(match: RuleMatch, comment?: string): string[] {
    return [
        ...(match.source ? ["-s", match.source] : []),
        ...(match.inInterface ? ["-i", match.inInterface] : []),
        ...(match.outInterface ? ["-o", match.outInterface] : []),
        ...(match.ctstate ? ["-m", "conntrack", "--ctstate", match.ctstate] : []),
        ...(comment === undefined ? [] : ["-m", "comment", "--comment", comment]),
        "-j", match.target,
    ];
}

/** The same rule without its comment match: what an untagged twin of it looks like. */
export function withoutComment(spec: string[]): string[] {
    const at = spec.findIndex((word, i) => word === "-m" && spec[i + 1] === "comment" && spec[i + 2] === "--comment");
    return at < 0 ? spec : [...spec.slice(0, at), ...spec.slice(at + 4)];
}

function sameSpec(a: string[], b: string[]): boolean {
    return a.length === b.length && a.every((word, i) => word === b[i]);
}

/** iptables keeps at most 255 bytes of comment, and `-S` output is read line by line. */
export function ownerCommentProblem(owner: unknown): string | undefined {
    if (typeof owner !== "string" || owner === "") return "must be a non-empty string";
    const comment = ownerMark(owner);
    const bytes = Buffer.byteLength(comment);
    // Longer comments are cut silently, and a cut comment would no longer find our rule.
    if (bytes > 255) {
        return `gives the ${bytes}-byte iptables comment "${comment}"; iptables keeps 255: use a shorter resource name`;
    }
    if (/[\x00-\x1f\x7f]/.test(comment)) return "may not hold control characters (the iptables comment must stay on one line)";
    return undefined;
}

export function familyProblem(family: unknown): string | undefined {
    return family === 4 || family === 6 ? undefined : "must be 4 (iptables) or 6 (ip6tables)";
}

/** What create or update must do to a chain so it holds each wanted rule exactly once. */
export interface RulePlan {
    /** Untagged twins to replace by our tagged rule at the twin's position (1-based), when adopting. */
    adopt: { spec: string[]; twin: string[]; position: number }[];
    /** Rules with our comment that are not wanted: other specs, or copies an interrupted run left. */
    remove: string[][];
    add: string[][];
}

export function planRules(rules: IptablesRule[], chain: string, comment: string, wanted: string[][], adopt: boolean): RulePlan {
    const inChain = rules.filter((rule) => rule.chain === chain);
    const claimed = new Set<IptablesRule>();
    const unclaimed = (spec: string[], ruleComment?: string) => inChain.find((rule) =>
        !claimed.has(rule) && rule.comment === ruleComment && sameSpec(rule.spec, spec));
    const plan: RulePlan = { adopt: [], remove: [], add: [] };
    for (const spec of wanted) {
        const ours = unclaimed(spec, comment);
        const twin = !ours && adopt ? unclaimed(withoutComment(spec)) : undefined;
        if (ours) claimed.add(ours);
        else if (twin) {
            claimed.add(twin);
            plan.adopt.push({ spec, twin: twin.spec, position: inChain.indexOf(twin) + 1 });
        } else plan.add.push(spec);
    }
    plan.remove = inChain.filter((rule) => rule.comment === comment && !claimed.has(rule)).map((rule) => rule.spec);
    return plan;
}

/** The rules one resource owns in one chain. */
export interface RuleSet {
    family: IpFamily;
    table: string;
    chain: string;
    comment: string;
    /** The wanted rules' words, comment included. */
    specs: string[][];
    /** New rules go to the top of the chain (ahead of others' DROP or REJECT) instead of the end. */
    atTop: boolean;
}

export { iptablesCommand };

function iptables(ctx: RunContext, set: RuleSet, args: string[], allowFailure = false) {
    return run(ctx, [iptablesCommand(set.family), "-w", "-t", set.table, ...args], { allowFailure });
}

async function listRules(ctx: RunContext, set: RuleSet): Promise<IptablesRule[]> {
    return parseIptablesRules((await iptables(ctx, set, ["-S", set.chain])).stdout).rules;
}

/** The words of our rules in the chain, in chain order; none when they (or the namespace) are gone. */
export async function readOwnedSpecs(ctx: RunContext, set: RuleSet): Promise<string[][]> {
    if (!netnsExists(ctx.netns)) return [];
    return (await listRules(ctx, set))
        .filter((rule) => rule.chain === set.chain && rule.comment === set.comment).map((rule) => rule.spec);
}

/** Brings the chain to holding each wanted rule once, verifies with -C, and returns our rules' words. */
export async function ensureRules(ctx: RunContext, set: RuleSet, adopt: boolean): Promise<string[][]> {
    const { table, chain } = set;
    if (!netnsExists(ctx.netns)) {
        throw new Error(`${ctx.resource}: network namespace ${ctx.netns} does not exist; create it first ` +
            "(make this resource depend on it) or correct the `netns` input");
    }
    // Before the first write: a table this writes into being is recorded, so the last delete removes it.
    await holdTable(ctx, set.family, table, set.comment);
    const plan = planRules(await listRules(ctx, set), chain, set.comment, set.specs, adopt);
    for (const { spec, twin, position } of plan.adopt) {
        // Insert, then delete the first untagged twin (the one just below): positions of others stay.
        await iptables(ctx, set, ["-I", chain, String(position), ...spec]);
        await iptables(ctx, set, ["-D", chain, ...twin]);
    }
    for (const spec of plan.remove) await iptables(ctx, set, ["-D", chain, ...spec]);
    // At the top, inserting the last rule first keeps the wanted order.
    for (const spec of set.atTop ? [...plan.add].reverse() : plan.add) {
        await iptables(ctx, set, [...(set.atTop ? ["-I", chain, "1"] : ["-A", chain]), ...spec]);
    }
    for (const spec of set.specs) {
        const check = await iptables(ctx, set, ["-C", chain, ...spec], true);
        if (check.exitCode !== 0) {
            throw new Error(`${ctx.resource}: \`${iptablesCommand(set.family)} -t ${table} -C ${chain} ${spec.join(" ")}\` does not find ` +
                `the rule just written (${check.stderr.trim()}); another tool may be rewriting ${table}/${chain}: ` +
                "check it and run `pulumi up` again");
        }
    }
    return readOwnedSpecs(ctx, set);
}

/**
 * Deletes every rule with our comment in the chain (all copies); gone already is success. Then leaves
 * the table's holders, which removes a table egress-xdp made once nothing else is in it.
 */
export async function deleteOwnedRules(ctx: RunContext, set: RuleSet): Promise<void> {
    for (const spec of await readOwnedSpecs(ctx, set)) await iptables(ctx, set, ["-D", set.chain, ...spec]);
    await releaseTableHold(ctx, set.family, set.table, set.comment);
}

/** Inputs every rule resource has. */
export interface RuleInputs {
    netns?: string;
    /** 4 (iptables, the default) or 6 (ip6tables). */
    family?: IpFamily;
    adopt?: boolean;
    owner: string;
}

/** Outputs every rule resource has besides its inputs. */
export interface RuleOutputs {
    table: string;
    chain: string;
    comment: string;
}

/** The properties every rule resource has: the owner mark is the rule's comment, so a new owner is a new rule. */
export const ruleProperties: Properties<RuleInputs, RuleInputs & RuleOutputs> = {
    netns: { change: "replace", check: netnsNameProblem },
    adopt: { check: booleanProblem },
    owner: { change: "replace", check: ownerCommentProblem, required: true },
    family: { change: "replace", check: familyProblem },
    table: { output: true },
    chain: { output: true },
    comment: { output: true },
};

/** What distinguishes one rule resource from another; ruleProvider does the rest. */
export interface RuleKind<I extends RuleInputs, O extends I & RuleOutputs> {
    typeName: string;
    table: string;
    chain: string;
    atTop: boolean;
    /** ruleProperties and the resource's own, described with deleteBeforeReplace (see ruleProvider). */
    properties: Description<I, O>;
    /** Checks across properties, after the properties' own. */
    crossCheck?(news: Record<string, unknown>): CheckFailure[];
    matches(inputs: I): RuleMatch[];
    /** The outputs that show the rules' words, and where to find them again in recorded outputs. */
    present(specs: string[][]): Record<string, unknown>;
    recorded(outputs: O): string[][];
}

/**
 * A provider for rules tagged with the owner comment. Replacement deletes first: old and new carry the
 * same comment, so a new rule made first would be taken for the old one's leftover, and vice versa.
 */
export function ruleProvider<I extends RuleInputs, O extends I & RuleOutputs>(
    kind: RuleKind<I, O>,
): pulumi.dynamic.ResourceProvider {
    const ruleSet = (inputs: I): RuleSet => {
        const comment = ownerMark(inputs.owner);
        const specs = kind.matches(inputs).map((match) => ruleSpec(match, comment));
        return { family: inputs.family ?? 4, table: kind.table, chain: kind.chain, comment, specs, atTop: kind.atTop };
    };
    const context = (inputs: I): RunContext => ({ resource: `${kind.typeName} ${inputs.owner}`, netns: inputs.netns });
    const outputsOf = (inputs: I, specs: string[][]) => {
        const { table, chain, comment } = ruleSet(inputs);
        return { ...inputs, table, chain, comment, ...kind.present(specs) };
    };
    const sorted = (specs: string[][]) => JSON.stringify(specs.map((spec) => spec.join(" ")).sort());
    const ensure = async (inputs: I) => outputsOf(inputs, await ensureRules(context(inputs), ruleSet(inputs), !!inputs.adopt));
    return {
        async check(_olds: I, news: Record<string, unknown>) {
            const { inputs, failures } = kind.properties.check(news);
            return { inputs, failures: [...failures, ...kind.crossCheck?.(news) ?? []] };
        },

        async diff(_id: string, olds: O, news: I) {
            const outcome = kind.properties.diff(olds, news);
            // Rules changed or removed behind our back (seen by refresh) are put back by update.
            const drifted = !outcome.changes && sorted(kind.recorded(olds)) !== sorted(ruleSet(news).specs);
            return { ...outcome, changes: outcome.changes || drifted };
        },

        async create(inputs: I) {
            const set = ruleSet(inputs);
            const table = set.family === 6 ? `ip6/${set.table}` : set.table;
            return { id: qualifiedId(inputs.netns, `${table}/${set.chain}/${set.comment}`), outs: await ensure(inputs) };
        },

        async read(id: string, props: I) {
            const set = ruleSet(props);
            const specs = await readOwnedSpecs(context(props), set);
            if (specs.length > 0) return { id, props: outputsOf(props, specs) };
            // Gone (by hand, or a delete killed before it let the table go): as after a delete.
            await releaseTableHold(context(props), set.family, set.table, set.comment);
            return {};
        },

        async update(_id: string, _olds: I, news: I) {
            return { outs: await ensure(news) };
        },

        async delete(_id: string, props: I) {
            await deleteOwnedRules(context(props), ruleSet(props));
        },
    };
}
