import { expect } from "chai";
import { Layout, checkMapFills, decodeEntry, encodeEntry, observedFill, parseLayout } from "../../provider/map-fill";

describe("map fills from config (pure)", function () {
    it("parses layouts: one type, or named fields with their total size", function () {
        expect(parseLayout("u32")).to.deep.equal({ fields: [{ name: undefined, type: "u32" }], size: 4 });
        expect(parseLayout("addr:ipv4, port:be16")).to.deep.include({ size: 6 });
        expect(parseLayout("u24")).to.match(/"u24" is not one of/);
        expect(parseLayout("addr:ipv4,be16")).to.match(/is not NAME:TYPE/);
    });

    it("encodes keys and values in the map's byte order and decodes them back", function () {
        const lpm = parseLayout("lpm4") as Layout;
        expect((encodeEntry(lpm, "198.51.100.0/24") as Buffer).toString("hex")).to.equal("18000000c6336400");
        expect(decodeEntry(lpm, Buffer.from("18000000c6336400", "hex"))).to.equal("198.51.100.0/24");
        const flow = parseLayout("addr:ipv4,port:be16,weight:u64") as Layout;
        const bytes = encodeEntry(flow, { addr: "192.0.2.1", port: 443, weight: "9007199254740993" }) as Buffer;
        expect(bytes.toString("hex")).to.equal("c000020101bb0100000000002000");
        expect(decodeEntry(flow, bytes)).to.deep.equal({ addr: "192.0.2.1", port: 443, weight: "9007199254740993" });
        expect(encodeEntry(parseLayout("u8") as Layout, 256)).to.match(/not a u8/);
        expect(encodeEntry(flow, { addr: "192.0.2.1", port: -1, weight: 0 })).to.match(/^port: /);
        expect(encodeEntry(lpm, "198.51.100.1/24")).to.match(/host bits/);
    });

    it("encodes lpm6 keys like struct ipv6_lpm_key and takes only IPv6 prefixes in the kernel's form", function () {
        const lpm6 = parseLayout("lpm6") as Layout;
        expect(lpm6.size).to.equal(20);
        const key = encodeEntry(lpm6, "2001:db8:0:3::/64") as Buffer;
        expect(key.toString("hex")).to.equal("4000000020010db8000000030000000000000000");
        expect(decodeEntry(lpm6, key)).to.equal("2001:db8:0:3::/64");
        expect(decodeEntry(lpm6, encodeEntry(lpm6, "::/0") as Buffer)).to.equal("::/0");
        expect(encodeEntry(lpm6, "2001:db8::1/32")).to.match(/host bits/);
        expect(encodeEntry(lpm6, "2001:0db8::/32")).to.match(/RFC 5952/);
        expect(encodeEntry(lpm6, "198.51.100.0/24")).to.match(/not an IPv6 prefix/);
        expect(encodeEntry(parseLayout("lpm4") as Layout, "2001:db8::/32")).to.match(/not an IPv4 prefix/);
        const { fills, problems } = checkMapFills([{
            map: "drop_prefixes6", key: "lpm6", entries: [{ key: "2001:db8:1::/48" }, { key: "2001:db8::/32" }, { key: "2001:db8::/32" }],
        }]);
        expect(problems).to.deep.equal([]);
        // One entry per key, in the order of the key bytes (the prefix length comes first).
        expect(fills?.[0].entries).to.deep.equal([{ key: "2001:db8::/32" }, { key: "2001:db8:1::/48" }]);
    });

    it("checks fills: canonical entries, one per key; names the bad fill and entry", function () {
        const { fills, problems } = checkMapFills([{
            map: "ports", key: "be16", value: "u32", entries: [{ key: "443", value: 2 }, { key: 80, value: 1 }, { key: 443, value: 3 }],
        }]);
        expect(problems).to.deep.equal([]);
        expect(fills).to.deep.equal([{ map: "ports", key: "be16", value: "u32", entries: [{ key: 80, value: 1 }, { key: 443, value: 3 }] }]);
        expect(checkMapFills([{ map: "ports", key: "be16", entries: [{ key: "http" }] }]).problems)
            .to.deep.equal([{ property: "maps[0]", reason: 'entries[0].key "http" is not a be16' }]);
        expect(checkMapFills([{ map: "a", key: "u32", entries: [] }, { map: "a", key: "u32", entries: [] }]).problems)
            .to.deep.equal([{ property: "maps", reason: "map a is listed twice" }]);
        expect(checkMapFills({ map: "a" }).problems[0].property).to.equal("maps");
    });

    it("reads a map back in the fill's form; without a value layout only keys", function () {
        const entries = [{ key: Buffer.from("01bb", "hex"), values: [Buffer.from("07000000", "hex")] }];
        expect(observedFill({ map: "ports", key: "be16", value: "u32", entries: [] }, entries).entries)
            .to.deep.equal([{ key: 443, value: 7 }]);
        expect(observedFill({ map: "ports", key: "be16", entries: [] }, entries).entries).to.deep.equal([{ key: 443 }]);
    });
});
