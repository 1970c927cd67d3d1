import { expect } from "chai";
import { LinkState, areVethPeers } from "../../provider/parse";
import {
    CheckFailure, checkListProperty, interfaceCidrProblem, interfaceNameClashProblem, sortedListInput,
} from "../../provider/validate";
import { checkVethPair } from "../../provider/veth-pair";
import { unknownValue } from "../helpers/diff-classes";

const veth = (link: Partial<LinkState>) => ({ kind: "veth", peerInOtherNetns: false, ...link }) as LinkState;

describe("VethPair checks and peers", function () {
    it("defaults peerNetns to netns, up and peerUp to true, and sorts addresses", function () {
        const { inputs, failures } = checkVethPair({
            name: "v_a", netns: "lab", peerName: "v_b", addresses: ["10.0.0.9/24", "10.0.0.1/24"], owner: "o",
        });
        expect(failures).to.deep.equal([]);
        expect(inputs).to.deep.equal({
            name: "v_a", netns: "lab", peerName: "v_b", peerNetns: "lab", addresses: ["10.0.0.1/24", "10.0.0.9/24"],
            peerAddresses: [], up: true, peerUp: true, owner: "o",
        });
    });

    it("refuses the same name for both ends in one namespace, naming peerName", function () {
        expect(checkVethPair({ name: "v", peerName: "v", owner: "o" }).failures)
            .to.deep.equal([{ property: "peerName", reason: interfaceNameClashProblem("v", undefined, "v", undefined) }]);
        expect(checkVethPair({ name: "v", netns: "a", peerName: "v", owner: "o" }).failures.map((f) => f.property))
            .to.deep.equal(["peerName"]);
        expect(checkVethPair({ name: "v", netns: "a", peerName: "v", peerNetns: "b", owner: "o" }).failures).to.deep.equal([]);
        expect(interfaceNameClashProblem("v", unknownValue, "v", undefined)).to.equal(undefined);
    });

    it("names every bad property, and keeps unknown lists unknown", function () {
        const { failures } = checkVethPair({
            name: "v_a", peerName: "a b", peerNetns: "/x", peerUp: 1, master: "", addresses: "10.0.0.1/24",
            peerAddresses: ["10.0.0.2/24", "10.0.0.0/24"], owner: "o",
        });
        expect(failures.map((f) => f.property))
            .to.deep.equal(["peerName", "peerNetns", "peerUp", "master", "addresses", "peerAddresses[1]"]);
        const { inputs } = checkVethPair({ name: "v_a", peerName: "v_b", peerAddresses: unknownValue, owner: "o" });
        expect(inputs.peerAddresses).to.equal(unknownValue);
    });

    it("checks list items one by one and records lists sorted", function () {
        const failures: CheckFailure[] = [];
        checkListProperty(failures, { a: ["10.0.0.1/24", null, unknownValue, "x"] }, "a", interfaceCidrProblem);
        expect(failures.map((f) => f.property)).to.deep.equal(["a[1]", "a[3]"]);
        expect(sortedListInput(undefined)).to.deep.equal([]);
        expect(sortedListInput(["b", "a"])).to.deep.equal(["a", "b"]);
    });

    it("recognises peers by name in one namespace and by ifindex across namespaces", function () {
        const a = veth({ ifname: "a", ifindex: 3, peerName: "b" });
        const b = veth({ ifname: "b", ifindex: 2, peerName: "a" });
        expect(areVethPeers(a, b)).to.equal(true);
        expect(areVethPeers(a, veth({ ifname: "b", ifindex: 2, peerName: "c" }))).to.equal(false);
        const outer = veth({ ifname: "a", ifindex: 5, peerIfindex: 2, peerInOtherNetns: true });
        const inner = veth({ ifname: "b", ifindex: 2, peerIfindex: 5, peerInOtherNetns: true });
        expect(areVethPeers(outer, inner)).to.equal(true);
        expect(areVethPeers(outer, { ...inner, peerIfindex: 6 })).to.equal(false);
        expect(areVethPeers(outer, b)).to.equal(false);
        expect(areVethPeers(a, { ...b, kind: "bridge" })).to.equal(false);
    });
});
