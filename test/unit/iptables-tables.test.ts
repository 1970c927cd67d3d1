import { expect } from "chai";
import {
    claimTable, forgetTable, iptablesCommand, ledgerTableKey, nftFamily, parseNftTables, releaseTable, tableIsPristine,
} from "../../provider/iptables-tables";

const meta = { metainfo: { version: "1.0.6", release_name: "Lester Gooch #5", json_schema_version: 1 } };
const natTable = { table: { family: "ip", name: "nat", handle: 1 } };
const chain = (name: string, extra: Record<string, unknown> = {}) => ({
    chain: { family: "ip", table: "nat", name, handle: 1, type: "nat", hook: name.toLowerCase(), prio: 100, policy: "accept", ...extra },
});
// What `nft -j list table ip nat` printed (nftables 1.0.6) after iptables-nft added and deleted a rule.
const listing = (...items: object[]) => JSON.stringify({ nftables: [meta, natTable, ...items] });

describe("iptables tables ledger", function () {
    it("records that the first holder made the table, and keeps that for later holders", function () {
        const first = claimTable(undefined, "nat", "egress-xdp:p/a/nat", false);
        expect(first).to.deep.equal({ nat: { created: true, holders: ["egress-xdp:p/a/nat"] } });
        const second = claimTable(first, "nat", "egress-xdp:p/b/nat", true);
        expect(second).to.deep.equal({ nat: { created: true, holders: ["egress-xdp:p/a/nat", "egress-xdp:p/b/nat"] } });
        expect(claimTable(second, "nat", "egress-xdp:p/a/nat", true), "a repeated claim changes nothing").to.deep.equal(second);
        expect(claimTable(second, "filter", "egress-xdp:p/a/fwd", true).filter).to.deep.equal({ created: false, holders: ["egress-xdp:p/a/fwd"] });
    });

    it("lets a holder of a table egress-xdp made remove it once pristine, and never a table that was there", function () {
        const ledger = { nat: { created: true, holders: ["a", "b"] }, filter: { created: false, holders: ["c"] } };
        const afterA = releaseTable(ledger, "nat", "a");
        // Pristine means no rule of b is left either (b's create was killed): a may remove it then.
        expect(afterA).to.deep.equal({ ledger: { ...ledger, nat: { created: true, holders: ["b"] } }, removeIfPristine: true });
        expect(releaseTable(afterA.ledger, "nat", "b")).to.deep.equal({ ledger: { filter: ledger.filter }, removeIfPristine: true });
        expect(forgetTable(afterA.ledger, "nat")).to.deep.equal({ filter: ledger.filter });
        expect(releaseTable({ filter: ledger.filter }, "filter", "c"), "a table that was there stays")
            .to.deep.equal({ ledger: undefined, removeIfPristine: false });
        expect(releaseTable(ledger, "nat", "stranger"), "not a holder").to.deep.equal({ ledger, removeIfPristine: false });
        expect(releaseTable(undefined, "nat", "a"), "no ledger (e.g. /run cleared)").to.deep.equal({ ledger: undefined, removeIfPristine: false });
    });

    it("finds the ip (iptables) or ip6 (ip6tables) family's tables in `nft -j list tables`", function () {
        const json = JSON.stringify({ nftables: [meta, natTable, { table: { family: "ip6", name: "filter", handle: 2 } },
            { table: { family: "ip", name: "filter", handle: 3 } }] });
        expect(parseNftTables(json)).to.deep.equal(["nat", "filter"]);
        expect(parseNftTables(json, "ip6")).to.deep.equal(["filter"]);
        // One ledger for both: an ip6tables table is named with its family, an iptables one as before IPv6.
        expect([ledgerTableKey(4, "nat"), ledgerTableKey(6, "nat")]).to.deep.equal(["nat", "ip6 nat"]);
        expect([nftFamily(4), nftFamily(6), iptablesCommand(6)]).to.deep.equal(["ip", "ip6", "ip6tables"]);
        expect(parseNftTables(JSON.stringify({ nftables: [meta] }))).to.deep.equal([]);
    });

    it("calls a table pristine only with nothing but empty built-in chains of policy accept", function () {
        expect(tableIsPristine(listing(chain("POSTROUTING")), "nat")).to.equal(true);
        expect(tableIsPristine(listing(chain("PREROUTING"), chain("POSTROUTING")), "nat")).to.equal(true);
        expect(tableIsPristine(listing(), "nat"), "no chain at all").to.equal(true);
        const rule = { rule: { family: "ip", table: "nat", chain: "POSTROUTING", handle: 4, expr: [{ masquerade: null }] } };
        expect(tableIsPristine(listing(chain("POSTROUTING"), rule), "nat"), "a foreign rule").to.equal(false);
        expect(tableIsPristine(listing(chain("POSTROUTING", { policy: "drop" })), "nat"), "a policy").to.equal(false);
        expect(tableIsPristine(listing({ chain: { family: "ip", table: "nat", name: "DOCKER", handle: 5 } }), "nat"), "a user chain")
            .to.equal(false);
        expect(tableIsPristine(listing(chain("FORWARD")), "nat"), "not a built-in chain of nat").to.equal(false);
        expect(tableIsPristine(listing({ set: { family: "ip", name: "s", table: "nat" } }), "nat"), "a set").to.equal(false);
    });
});
