import { expect } from "chai";
import { parseRoutes } from "../../provider/parse";
import { RouteOutputs, checkRoute, routeProvider } from "../../provider/route";
import { run } from "../../provider/runner";
import { expectDiffClasses } from "../helpers/diff-classes";
import { eventually, failureOf, useLab } from "../helpers/kernel-suite";
import { inNs } from "../helpers/lab";
import { routeDetails } from "../helpers/snapshot";

describe("Route (kernel)", function () {
    const lab = useLab();
    const inner = () => lab().netnsName("in");
    const inputsFor = (extra: Record<string, unknown> = {}) => {
        const { inputs, failures } = checkRoute({
            netns: inner(), destination: "default", via: "10.0.0.1", owner: "test/route", ...extra,
        });
        expect(failures).to.deep.equal([]);
        return inputs;
    };
    const routes = async (destination = "default") =>
        parseRoutes((await inNs(inner(), ["ip", "-json", "route", "show", destination])).stdout);

    /**
     * Runs `test` with an inner namespace whose veth_i (10.0.0.2/24) and veth_j (10.0.1.2/24) lead to
     * the lab host, so gateways 10.0.0.x and 10.0.1.x are on-link; removes it all afterwards.
     */
    async function withInner(test: () => Promise<void>): Promise<void> {
        await run({ resource: "t" }, ["ip", "netns", "add", inner()]);
        try {
            for (const [dev, subnet] of [["veth_i", "10.0.0"], ["veth_j", "10.0.1"]]) {
                await inNs(lab().host,
                    ["ip", "link", "add", `o_${dev}`, "type", "veth", "peer", "name", dev, "netns", inner()]);
                await inNs(inner(), ["ip", "addr", "add", `${subnet}.2/24`, "dev", dev]);
                await inNs(inner(), ["ip", "link", "set", dev, "up"]);
            }
            await test();
        } finally {
            await run({ resource: "t" }, ["ip", "netns", "del", inner()]);
            expect(await eventually(async () =>
                !(await inNs(lab().host, ["ip", "-o", "link", "show"])).stdout.includes("o_veth"))).to.equal(true);
        }
    }

    it("creates, reads back identical outputs, updates in place, sees drift, deletes idempotently", async function () {
        await withInner(async () => {
            const created = await routeProvider.create!(inputsFor());
            const outs = created.outs as RouteOutputs;
            expect(outs).to.deep.equal({ ...inputsFor(), dev: "veth_i" });
            expect(await routes()).to.deep.equal([{ dst: "default", gateway: "10.0.0.1", dev: "veth_i" }]);
            expect(await routeProvider.read!(created.id, outs)).to.deep.equal({ id: created.id, props: outs });

            const moved = inputsFor({ via: "10.0.1.1", dev: "veth_j" });
            // A replacement never collides with the old route, so it is created before the old one goes.
            await expectDiffClasses(routeProvider, created.id, outs, inputsFor, {
                inPlace: { via: "10.0.1.1", dev: "veth_j" },
                replace: { destination: "10.9.0.0/24", metric: 100, netns: lab().host },
            }, { deleteBeforeReplace: false });
            expect(await routeProvider.diff!(created.id, outs, inputsFor({ dev: "veth_i" })), "dev as observed")
                .to.deep.include({ changes: false });

            const updated = (await routeProvider.update!(created.id, outs, moved)).outs as RouteOutputs;
            expect(updated).to.deep.equal({ ...moved, dev: "veth_j" });
            expect(await routes()).to.deep.equal([{ dst: "default", gateway: "10.0.1.1", dev: "veth_j" }]);

            await inNs(inner(), ["ip", "route", "replace", "default", "via", "10.0.0.3", "dev", "veth_i"]);
            const drifted = (await routeProvider.read!(created.id, updated)).props as RouteOutputs;
            expect(drifted).to.include({ via: "10.0.0.3", dev: "veth_i" });
            expect(await routeProvider.diff!(created.id, drifted, moved)).to.deep.include({ changes: true, replaces: [] });
            await routeProvider.update!(created.id, drifted, moved);
            expect(await routes()).to.deep.equal([{ dst: "default", gateway: "10.0.1.1", dev: "veth_j" }]);

            await routeProvider.delete!(created.id, updated);
            expect(await routes()).to.deep.equal([]);
            expect(await routeProvider.read!(created.id, updated)).to.deep.equal({});
            await routeProvider.delete!(created.id, updated);
        });
    });

    it("matches a /32 destination as the kernel prints it", async function () {
        await withInner(async () => {
            const created = await routeProvider.create!(inputsFor({ destination: "10.9.0.5/32" }));
            expect(await routes("10.9.0.5/32")).to.deep.equal([{ dst: "10.9.0.5", gateway: "10.0.0.1", dev: "veth_i" }]);
            expect(await routeProvider.read!(created.id, created.outs))
                .to.deep.equal({ id: created.id, props: created.outs });
            await routeProvider.delete!(created.id, created.outs);
            expect(await routes("10.9.0.5/32")).to.deep.equal([]);
        });
    });

    it("refuses an existing route for the destination and leaves it intact, adopts only an identical one", async function () {
        await withInner(async () => {
            await inNs(inner(), ["ip", "route", "add", "default", "via", "10.0.0.1"]);
            const foreign = await routeDetails(inner(), "default");
            expect(await failureOf(routeProvider.create!(inputsFor())))
                .to.match(/already exists \(default via 10\.0\.0\.1 dev veth_i\).*left untouched.*adopt: true/s);
            expect(await failureOf(routeProvider.create!(inputsFor({ via: "10.0.1.1", adopt: true }))))
                .to.match(/already exists/);
            expect(await routeDetails(inner(), "default"), "the foreign route exactly as it was").to.deep.equal(foreign);

            const otherMetric = await routeProvider.create!(inputsFor({ metric: 100 }));
            await routeProvider.delete!(otherMetric.id, otherMetric.outs);
            expect(await routeDetails(inner(), "default"), "after ours of another metric came and went").to.deep.equal(foreign);

            const adopted = await routeProvider.create!(inputsFor({ adopt: true }));
            expect(adopted.outs).to.deep.equal({ ...inputsFor({ adopt: true }), dev: "veth_i" });
            await routeProvider.delete!(adopted.id, adopted.outs);
            expect(await routes()).to.deep.equal([]);
        });
    });

    it("leaves a route alone on delete when it no longer matches ours", async function () {
        await withInner(async () => {
            const created = await routeProvider.create!(inputsFor());
            await inNs(inner(), ["ip", "route", "replace", "default", "via", "10.0.0.3"]);
            const foreign = await routeDetails(inner(), "default");
            expect(JSON.stringify(foreign), "replaced without our protocol").to.not.match(/"protocol":"?77"?/);
            await routeProvider.delete!(created.id, created.outs);
            // Checked here, before withInner deletes the namespace (and the route with it).
            expect(await routes()).to.deep.equal([{ dst: "default", gateway: "10.0.0.3", dev: "veth_i" }]);
            expect(await routeDetails(inner(), "default"), "the foreign route exactly as it was, unmarked").to.deep.equal(foreign);
        });
    });
});
