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
