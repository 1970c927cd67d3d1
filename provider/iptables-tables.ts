// The iptables and ip6tables tables egress-xdp's rules bring into being. On the nft backend a table
// (nft family ip for iptables, ip6 for ip6tables; with it its netfilter hooks: nat's keeps conntrack
// running for every packet) only exists once a rule or chain was written to it, and it stays after the
// last rule is deleted. So the first egress-xdp rule written to a table a namespace did not have
// records that in a ledger shared by every stack in the namespace (provider/ledger.ts), with each rule
// resource holding the table. When a holder's rules are gone (its delete, or a read that finds them
// gone, e.g. after a delete that was killed) and the table holds nothing but its built-in chains,
// empty, with policy ACCEPT, the table is deleted (`nft delete table ip TABLE`, `ip6` for ip6tables):
// no rule of any stack is left in it, so that holder was the last. A foreign rule, chain, set or
// policy keeps it, and so does every table that was there before. The ledger names an iptables table
// by its name ("nat") and an ip6tables one with its family ("ip6 nat"). The iptables-legacy backend
// cannot remove a table (its tables are kernel modules' and always there): there nothing is recorded
// and nothing removed. Limit: between the check and the delete another tool could write to the table
// (the window is one command).
import { changeLedgerFile, forgetNamespaceLedgers, namespaceLedgerPath } from "./ledger";
import { netnsExists } from "./netns";
import { RunContext, run } from "./runner";
import { IpFamily } from "./validate";

/** The command of a family: iptables or ip6tables (same options, same `-S` output). */
export function iptablesCommand(family: IpFamily): string {
    return family === 6 ? "ip6tables" : "iptables";
}

/** The nft family iptables-nft (ip) or ip6tables-nft (ip6) keeps its tables in. */
export function nftFamily(family: IpFamily): "ip" | "ip6" {
    return family === 6 ? "ip6" : "ip";
}

/** A table's name in the ledger: iptables tables by name (as before IPv6), ip6tables ones as "ip6 TABLE". */
export function ledgerTableKey(family: IpFamily, table: string): string {
    return family === 6 ? `ip6 ${table}` : table;
}

export const tableLedgerDir = "/run/egress-xdp/iptables-tables";

/** Per table: whether egress-xdp brought it into being, and the rule resources (owner comments) holding it. */
export type TableLedger = Record<string, { created: boolean; holders: string[] }>;

/** Adds a holder; the first one records whether the table had to be made (`exists` false). */
export function claimTable(ledger: TableLedger | undefined, table: string, holder: string, exists: boolean): TableLedger {
    const entry = ledger?.[table] ?? { created: !exists, holders: [] };
    const holders = entry.holders.includes(holder) ? entry.holders : [...entry.holders, holder].sort();
    return { ...ledger, [table]: { created: entry.created, holders } };
}

/** The ledger without the table's entry (undefined when nothing is left). */
export function forgetTable(ledger: TableLedger | undefined, table: string): TableLedger | undefined {
    const rest = Object.fromEntries(Object.entries(ledger ?? {}).filter(([name]) => name !== table));
    return Object.keys(rest).length > 0 ? rest : undefined;
}

/**
 * Removes a holder (the entry goes with the last one) and says whether egress-xdp made the table,
 * so that it is to be removed once it is pristine (then no holder has rules in it any more).
 */
export function releaseTable(ledger: TableLedger | undefined, table: string, holder: string):
    { ledger?: TableLedger; removeIfPristine: boolean } {
    const entry = ledger?.[table];
    if (!entry || !entry.holders.includes(holder)) return { ledger, removeIfPristine: false };
    const holders = entry.holders.filter((other) => other !== holder);
    return {
        ledger: holders.length > 0 ? { ...ledger, [table]: { ...entry, holders } } : forgetTable(ledger, table),
        removeIfPristine: entry.created,
    };
}

/** The built-in chains of the iptables tables, as iptables-nft names the base chains it makes. */
export const builtinChains: Record<string, string[]> = {
    filter: ["INPUT", "FORWARD", "OUTPUT"],
    nat: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
    mangle: ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
    raw: ["PREROUTING", "OUTPUT"],
};

/** The table names of an nft family (default ip) in `nft -j list tables`. */
export function parseNftTables(json: string, family: "ip" | "ip6" = "ip"): string[] {
    const items = (JSON.parse(json) as { nftables: Record<string, { family?: string; name?: string }>[] }).nftables;
    return items.flatMap((item) => (item.table && item.table.family === family ? [item.table.name ?? ""] : []));
}

/**
 * Whether `nft -j list table ip TABLE` shows a table as iptables-nft leaves it after its last rule
 * went: only built-in base chains, each with policy accept, and nothing else (no rule, user chain,
 * set, map or other object).
 */
export function tableIsPristine(json: string, table: string): boolean {
    const items = (JSON.parse(json) as { nftables: Record<string, Record<string, unknown>>[] }).nftables;
    return items.every((item) => {
        const [kind] = Object.keys(item);
        if (kind === "metainfo" || kind === "table") return true;
        if (kind !== "chain") return false;
        const chain = item.chain;
        return (builtinChains[table] ?? []).includes(String(chain.name)) && chain.hook !== undefined && chain.policy === "accept";
    });
}

async function nftBackend(ctx: RunContext, family: IpFamily): Promise<boolean> {
    return /nf_tables/.test((await run(ctx, [iptablesCommand(family), "-V"])).stdout);
}

async function tableExists(ctx: RunContext, family: IpFamily, table: string): Promise<boolean> {
    const listing = await run(ctx, ["nft", "-j", "list", "tables", nftFamily(family)]);
    return parseNftTables(listing.stdout, nftFamily(family)).includes(table);
}

/** Before a rule resource writes to `table` of `family`: joins the table's holders, recording whether the table is new. */
export async function holdTable(ctx: RunContext, family: IpFamily, table: string, holder: string): Promise<void> {
    if (!(await nftBackend(ctx, family))) return;
    const exists = await tableExists(ctx, family, table);
    changeLedgerFile<TableLedger>(namespaceLedgerPath(tableLedgerDir, ctx.netns),
        (ledger) => claimTable(ledger, ledgerTableKey(family, table), holder, exists));
}

/** Once a rule resource's rules are gone: leaves the holders, and removes a table egress-xdp made once it is pristine. */
export async function releaseTableHold(ctx: RunContext, family: IpFamily, table: string, holder: string): Promise<void> {
    if (!netnsExists(ctx.netns)) {
        forgetNamespaceLedgers(tableLedgerDir, ctx.netns!);
        return;
    }
    const file = namespaceLedgerPath(tableLedgerDir, ctx.netns);
    let removeIfPristine = false;
    const key = ledgerTableKey(family, table);
    const nft = nftFamily(family);
    changeLedgerFile<TableLedger>(file, (ledger) => {
        const release = releaseTable(ledger, key, holder);
        removeIfPristine = release.removeIfPristine;
        return release.ledger;
    });
    if (!removeIfPristine) return;
    // Another stack's delete in this namespace may remove the table at the same moment: gone is done.
    const listing = await run(ctx, ["nft", "-j", "list", "table", nft, table], { allowFailure: true });
    if (listing.exitCode !== 0 || !tableIsPristine(listing.stdout, table)) return;
    const removal = await run(ctx, ["nft", "delete", "table", nft, table], { allowFailure: true });
    if (removal.exitCode !== 0 && await tableExists(ctx, family, table)) {
        throw new Error(`${ctx.resource}: \`nft delete table ${nft} ${table}\` failed (${removal.stderr.trim()}); the table ` +
            `egress-xdp made holds nothing else. Remove it yourself (\`nft delete table ${nft} ${table}\`) or run \`pulumi destroy\` again`);
    }
    // Holders left without rules (their creates were killed) write the table into being again.
    changeLedgerFile<TableLedger>(file, (ledger) => forgetTable(ledger, key));
}
