// Issue 5, crashes: `pulumi up` and `pulumi destroy` SIGKILLed (with every plugin) inside the create
// and the delete of each of the stack's resources in turn, right after the operation's first change
// to the kernel (a create is then pending in the state, its object half made); each case requires
// that the kill landed there. The documented recovery (recoverStack in test/helpers/crash.ts) must
// converge: refresh finds no change, the outputs are what the kernel holds, traffic flows, the
// preview is empty, and after the final destroy the lab is exactly as before, with no forwarding
// ledger and no note of ours left in /run.
import { expect } from "chai";
import { existsSync, mkdirSync, readdirSync } from "fs";
import { forwardingLedgerDir } from "../../provider/ip-forwarding";
import { notesDir } from "../../provider/notes";
import { objectCacheDir } from "../../provider/object-cache";
import { recoverStack, runAndKill, watchKernel } from "../helpers/crash";
import { useFigures } from "../helpers/figures";
import { expectOutputsMatchKernel, labNamespaces, useLabStacks } from "../helpers/lab";
import { snapshotAll, snapshotDifferences } from "../helpers/snapshot";
import { LabStack } from "../../lab/stack";

/** A resource operation as the engine prints it, e.g. ` +  pulumi-nodejs:dynamic/egressxdp:Bridge crash-x-bridge creating (0s)`. */
const operationLine = /^\s*[-+~]+\s+(?:pulumi-nodejs:dynamic\/egressxdp:|command:local:)\w+\s+(\S+)\s+(creating|deleting)\b/;

/**
 * The custom resources of one EgressXdp stack, by the suffix of their names (components/egress-xdp.ts),
 * and whether their delete changes anything: deleting the build command does nothing (it has no
 * delete command), so no kill can land inside it after a change.
 */
const resources: { name: string; deleteChanges: boolean }[] = [
    "xdp-build", "namespace", "bridge", "tap", "veth", "ip-forward", "forward-accept", "nat-bridge", "nat-uplink",
    "default-route", "xdp",
].map((name) => ({ name, deleteChanges: name !== "xdp-build" }));

/** The names of the resources whose `verb` operation has started, in order. */
function operationsStarted(lines: string[], verb: "creating" | "deleting"): string[] {
    return lines.map((line) => operationLine.exec(line)).filter((m) => m?.[2] === verb).map((m) => m![1]);
}

describe("Crash: pulumi killed inside each resource operation of up and destroy, then recovered (faults)", function () {
    this.timeout(300000);
    const { lab, stack } = useLabStacks();
    const measured = useFigures("crash", "recovered");

    /**
     * Runs `command` one operation at a time; as the operation on `resource` starts, waits for its first
     * change to the kernel (or to the built object), then kills pulumi and its plugins. Requires the
     * kill to have landed there: during that operation, after its change.
     */
    async function killInside(s: LabStack, command: "up" | "destroy", resource: string, notes: Record<string, unknown>) {
        const verb = command === "up" ? "creating" : "deleting";
        const target = `${s.engine.stack}-${resource}`;
        const build = objectCacheDir();
        mkdirSync(build, { recursive: true });
        const watch = await watchKernel([lab().host, s.namespace], [build]);
        let changed = false;
        try {
            const result = await runAndKill(s.engine.command([command, "--yes", "--skip-preview", "--parallel", "1"]),
                (lines) => operationsStarted(lines, verb).includes(target),
                async (lines) => {
                    const movedOn = () => operationsStarted(lines, verb).slice(-1)[0] !== target ||
                        lines.some((line) => line.includes(` ${target} `) && / (created|deleted) /.test(line));
                    changed = await watch.nextChange(movedOn, 5000);
                });
            expect(result.killed, `${command} ended before it was killed inside ${target}:\n${result.output}`).to.equal(true);
            notes.killedDuring = operationsStarted(result.output.split("\n"), verb).slice(-1)[0];
            notes.afterKernelChange = changed;
            expect(notes.killedDuring, "the operation running at the kill").to.equal(target);
            expect(changed, `killed after a change made by ${target}`).to.equal(true);
        } finally {
            watch.stop();
        }
        return { verb, target };
    }

    /** The documented recovery, which must find the killed operation pending, then a clean refresh. */
    async function recover(s: LabStack, command: "up" | "destroy", killed: { verb: string; target: string },
        notes: Record<string, unknown>) {
        const found = await recoverStack(s.engine, command);
        Object.assign(notes, found);
        expect(found.pending.filter((op) => op.startsWith(`${killed.verb} `) && op.endsWith(` ${killed.target}`)),
            `${killed.target} pending in the state (${found.pending.join("; ") || "nothing pending"})`).to.have.length(1);
    }

    const ownFiles = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, { recursive: true }) as string[] : [])
        .filter((file) => file.includes(`-${lab().id}.`));

    for (const { name: resource, deleteChanges } of resources) {
        const title = deleteChanges ? `up killed inside the create of ${resource}, destroy inside its delete`
            : `up killed inside the create of ${resource} (its delete changes nothing), then destroy`;
        it(`${title}: both recover, nothing is left`, async function () {
            const before = await snapshotAll(await labNamespaces(lab()), lab().id);
            // forwardAccept always: the lab forwards without rules, and the kill points include their create.
            const s = await stack("crash", { xdpProgram: "bpf/xdp_droplist.c", dropPrefixes: ["198.19.1.0/24"], forwardAccept: "always" });
            await measured(`up killed inside the create of ${resource}`, async (notes) => {
                await recover(s, "up", await killInside(s, "up", resource, notes), notes);
                // Recovered means the state is the kernel's: a refresh finds nothing to change, and the outputs are what is there.
                await s.engine.pulumi(["refresh", "--yes", "--expect-no-changes"]);
                await expectOutputsMatchKernel(s);
                expect(await s.ping(lab().serverAddress), "traffic after recovery").to.equal(true);
                expect(await s.replies(lab().otherServerAddress), "the drop-list works after recovery").to.equal(0);
                await s.engine.pulumi(["preview", "--expect-no-changes"]);
            });
            const destroyed = async (notes: Record<string, unknown>) => {
                // Recorded first: what stayed behind, for the figures, when the comparison fails.
                notes.residue = snapshotDifferences(before, await snapshotAll(await labNamespaces(lab()), lab().id));
                expect(notes.residue, "lab after the final destroy: what differs from before").to.deep.equal([]);
                expect(ownFiles(forwardingLedgerDir), "forwarding ledgers left").to.deep.equal([]);
                expect(ownFiles(notesDir), "notes left").to.deep.equal([]);
            };
            if (!deleteChanges) {
                await s.engine.pulumi(["destroy", "--yes"]);
                return destroyed({});
            }
            await measured(`destroy killed inside the delete of ${resource}`, async (notes) => {
                await recover(s, "destroy", await killInside(s, "destroy", resource, notes), notes);
                await destroyed(notes);
            });
        });
    }
});
