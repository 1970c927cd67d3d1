// Issue 5, crashes: `pulumi up` and `pulumi destroy` SIGKILLed (with every plugin) inside the create
// and the delete of each of the stack's resources in turn, right after the operation's first change
// to the kernel (a create is then pending in the state, its object half made). The documented
// recovery (recoverStack in test/helpers/crash.ts) must converge: traffic flows, the preview is
// empty, and after the final destroy the lab is exactly as before, with no forwarding ledger and no
// note of ours left in /run.
import { expect } from "chai";
import { existsSync, mkdirSync, readdirSync } from "fs";
import { forwardingLedgerDir } from "../../provider/ip-forwarding";
import { notesDir } from "../../provider/notes";
import { objectCacheDir } from "../../provider/object-cache";
import { recoverStack, runAndKill, watchKernel } from "../helpers/crash";
import { useFigures } from "../helpers/figures";
import { labNamespaces, useLabStacks } from "../helpers/lab";
import { snapshotAll } from "../helpers/snapshot";
import { LabStack } from "../../lab/stack";

/** A resource operation as the engine prints it, e.g. ` +  pulumi-nodejs:dynamic/egressxdp:Bridge crash-x-bridge creating (0s)`. */
const operationLine = /^\s*[-+~]+\s+(?:pulumi-nodejs:dynamic\/egressxdp:|command:local:)\w+\s+(\S+)\s+(creating|deleting)\b/;

/** The custom resources of one EgressXdp stack, by the suffix of their names (components/egress-xdp.ts). */
const resources = [
    "xdp-build", "namespace", "bridge", "tap", "veth", "ip-forward", "forward-accept", "nat-bridge", "nat-uplink",
    "default-route", "xdp",
];

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
     * change to the kernel (or to the built object), then kills pulumi and its plugins. An operation
     * that changes nothing (deleting the build command) is killed as soon as it is over.
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
        } finally {
            watch.stop();
        }
    }

    const ownFiles = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, { recursive: true }) as string[] : [])
        .filter((file) => file.includes(`-${lab().id}.`));

    for (const resource of resources) {
        it(`up killed inside the create of ${resource}, destroy inside its delete: both recover, nothing is left`, async function () {
            const before = await snapshotAll(await labNamespaces(lab()));
            // forwardAccept always: the lab forwards without rules, and the kill points include their create.
            const s = await stack("crash", { xdpProgram: "bpf/xdp_droplist.c", dropPrefixes: ["198.19.1.0/24"], forwardAccept: "always" });
            await measured(`up killed inside the create of ${resource}`, async (notes) => {
                await killInside(s, "up", resource, notes);
                Object.assign(notes, await recoverStack(s.engine, "up"));
                expect(await s.ping(lab().serverAddress), "traffic after recovery").to.equal(true);
                expect(await s.ping(lab().otherServerAddress), "the drop-list works after recovery").to.equal(false);
                await s.engine.pulumi(["preview", "--expect-no-changes"]);
            });
            await measured(`destroy killed inside the delete of ${resource}`, async (notes) => {
                await killInside(s, "destroy", resource, notes);
                Object.assign(notes, await recoverStack(s.engine, "destroy"));
                expect(await snapshotAll(await labNamespaces(lab())), "lab after the final destroy").to.deep.equal(before);
                expect(ownFiles(forwardingLedgerDir), "forwarding ledgers left").to.deep.equal([]);
                expect(ownFiles(notesDir), "notes left").to.deep.equal([]);
            });
        });
    }
});
