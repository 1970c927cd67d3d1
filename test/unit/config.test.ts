import { expect } from "chai";
import * as path from "path";
import { configProblems, programMaps } from "../../components/config";
import { projectRoot } from "../helpers/engine";

describe("stack config checks (no host needed)", function () {
    const good = { sendDev: "uplink0", hostNetns: "lab" };

    it("finds the maps a C source declares with SEC(\".maps\")", function () {
        expect(programMaps(path.join(projectRoot, "bpf", "xdp_droplist.c"))).to.deep.equal(["drop_prefixes", "verdicts"]);
        expect(programMaps(path.join(projectRoot, "bpf", "xdp_stats.c"))).to.deep.equal(["stats"]);
    });

    it("refuses dropPrefixes for a program without the drop-list map, naming dropPrefixes", function () {
        expect(configProblems({ ...good, dropPrefixes: ["198.19.1.0/24"] }, projectRoot).map((f) => f.property))
            .to.deep.equal(["dropPrefixes"]);
        expect(configProblems({ ...good, xdpProgram: "bpf/xdp_droplist.c", dropPrefixes: ["198.19.1.0/24"] }, projectRoot))
            .to.deep.equal([]);
    });
});
