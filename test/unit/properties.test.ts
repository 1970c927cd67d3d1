import { expect } from "chai";
import { Properties, describeProperties, unorderedList } from "../../provider/properties";
import { interfaceCidrProblem, interfaceNameProblem, mtuProblem } from "../../provider/validate";
import { unknownValue } from "../helpers/diff-classes";

interface ThingInputs {
    name: string;
    mtu?: number;
    addresses: string[];
    up: boolean;
    adopt?: boolean;
    owner: string;
}

interface ThingOutputs extends ThingInputs {
    mtu: number;
    ifindex: number;
}

const thingProperties: Properties<ThingInputs, ThingOutputs> = {
    name: { change: "replace", check: interfaceNameProblem, required: true },
    mtu: { change: "update", check: mtuProblem, observed: true },
    addresses: { change: "update", check: unorderedList(interfaceCidrProblem) },
    up: { change: "update", default: true },
    adopt: {},
    owner: {},
    ifindex: { output: true },
};
const thing = describeProperties<ThingInputs, ThingOutputs>(thingProperties, { deleteBeforeReplace: true });

describe("Property descriptions (check, diff and constructor keys from one description)", function () {
    it("checks in the description's order, naming each bad property and list item", function () {
        const { failures } = thing.check({ mtu: 10, addresses: ["10.0.0.1/24", "x"], owner: "o" });
        expect(failures.map((f) => f.property)).to.deep.equal(["name", "mtu", "addresses[1]"]);
        expect(failures[0].reason).to.equal("is required");
        expect(thing.check({ name: unknownValue, mtu: unknownValue, owner: "o" }).failures).to.deep.equal([]);
    });

    it("applies defaults, records lists sorted (absent as empty, unknown as unknown) and adds nothing else", function () {
        expect(thing.check({ name: "a", addresses: ["10.0.0.9/24", "10.0.0.1/24"], owner: "o" }).inputs)
            .to.deep.equal({ name: "a", addresses: ["10.0.0.1/24", "10.0.0.9/24"], up: true, owner: "o" });
        expect(thing.check({ name: "a", up: false, owner: "o" }).inputs)
            .to.deep.equal({ name: "a", addresses: [], up: false, owner: "o" });
        expect(thing.check({ name: "a", addresses: unknownValue, owner: "o" }).inputs.addresses).to.equal(unknownValue);
    });

    it("diffs replaces and in-place updates, unknowns as changes, an unset observed input as no change", function () {
        const olds: ThingOutputs = { name: "a", mtu: 1500, addresses: [], up: true, owner: "o", ifindex: 3 };
        const news: ThingInputs = { name: "a", addresses: [], up: true, owner: "o" };
        expect(thing.diff(olds, news)).to.deep.equal({ changes: false, replaces: [], deleteBeforeReplace: false });
        expect(thing.diff(olds, { ...news, adopt: true })).to.include({ changes: false });
        expect(thing.diff(olds, { ...news, mtu: 1400 }))
            .to.deep.equal({ changes: true, replaces: [], deleteBeforeReplace: false });
        expect(thing.diff(olds, { ...news, up: unknownValue as never })).to.include({ changes: true });
        expect(thing.diff(olds, { ...news, name: "b", mtu: 1400 }))
            .to.deep.equal({ changes: true, replaces: ["name"], deleteBeforeReplace: true });
    });

    it("gives the constructor a key for every property, the args over them, and the owner", function () {
        const props = thing.resourceProps("res", { name: "a", mtu: 1400 });
        expect(Object.keys(props).sort()).to.deep.equal(["addresses", "adopt", "ifindex", "mtu", "name", "owner", "up"]);
        expect(props).to.include({ name: "a", mtu: 1400, up: undefined, ifindex: undefined });
        expect(props.owner).to.be.a("string").and.include("res");
    });

    it("makes a misspelt, missing or extra property a compile error", function () {
        // Each line below fails to compile without its @ts-expect-error; tsc fails when one compiles.
        // @ts-expect-error misspelt property
        const misspelt: Properties<ThingInputs, ThingOutputs> = { ...thingProperties, adress: {} };
        // @ts-expect-error missing property
        const missing: Properties<ThingInputs, ThingOutputs> = { name: thingProperties.name };
        const outputReplaces: Properties<ThingInputs, ThingOutputs> = {
            ...thingProperties,
            // @ts-expect-error an output with a replacement rule
            ifindex: { output: true, change: "replace" },
        };
        const listOnScalar: Properties<ThingInputs, ThingOutputs> = {
            ...thingProperties,
            // @ts-expect-error a list rule on a property that is no list
            name: { check: unorderedList(interfaceNameProblem) },
        };
        const args: { name: string; adress: string[] } = { name: "a", adress: [] };
        // @ts-expect-error an arg that is no input
        expect(thing.resourceProps("res", args)).to.include({ name: "a" });
        expect([misspelt, missing, outputReplaces, listOnScalar]).to.have.length(4);
    });
});
