// scripts/bench: builds egress-xdp through the engine in throwaway lab hosts, measures latency,
// throughput, program cost, control plane and scale side by side with their baselines, and writes
// docs/BENCHMARKS.md and a latency plot. Everything it makes (labs, stacks, processes, pins, files)
// is removed at the end, also when it fails or is interrupted.
//   node dist/bench/run.js [--quick] [--out DIR]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { Lab, LabOptions, createLab, destroyLab } from "../lab/host";
import { readCounters } from "../components/counters";
import { clangArgv } from "../provider/bpf";
import { AttachMode } from "../provider/validate";
import { run } from "../provider/runner";
import { Engine, newEngine, projectRoot } from "../lab/engine";
import { LabStack, StackOutputs, newLabStack } from "../lab/stack";
import { engineCycle, timed } from "./control-plane";
import { Family } from "./family";
import { PingPath, measureLatency } from "./latency";
import { describeMachine, loadAverage } from "./machine";
import { stopAll, startInNetns } from "./processes";
import { measureProgramCost } from "./program-cost";
import {
    Recipe, allCpusMask, attachRecipeXdp, detachRecipeXdp, forwardAcceptCommands, recipe6Commands, recipeAddresses6, recipeCommands, recipeOf,
    recipeTeardownCommands, runCommands, setRecipeGro, setRecipeRps,
} from "./recipe";
import {
    BenchResults, BenchSettings, recipeNativeGroLabel, recipeNativeGroRpsLabel, recipeNativeLabel, renderReport,
} from "./report";
import { renderLatencyPlot } from "./plot";
import { measureScale, newScaleStack } from "./scale";
import { ThroughputCase, measureThroughput } from "./throughput";

const fullSettings: BenchSettings = {
    latency: { interval: 0.0002, count: 100000, rounds: 10 },
    spacedLatency: { interval: 0.001, count: 10000, rounds: 5 },
    throughput: { seconds: 5, rounds: 5 },
    programCost: { repeat: 1000000, runs: 5 },
    controlPlaneRuns: 5,
    scaleCounts: [1, 5, 20],
    scaleDiagnostic: true,
};

const quickSettings: BenchSettings = {
    latency: { interval: 0.0002, count: 2000, rounds: 2 },
    spacedLatency: { interval: 0.001, count: 200, rounds: 1 },
    throughput: { seconds: 1, rounds: 1 },
    programCost: { repeat: 100000, runs: 1 },
    controlPlaneRuns: 1,
    scaleCounts: [1, 2],
    scaleDiagnostic: false,
};

/**
 * Undo actions, run last-in first-out, once: runAll() returns the same promise to every caller, and
 * an action added while or after it runs is still run.
 */
class Cleanup {
    private actions: [string, () => Promise<unknown>][] = [];
    private finished?: Promise<void>;
    private closed = false;

    add(what: string, action: () => Promise<unknown>): void {
        this.actions.push([what, action]);
        if (this.closed) void this.runEach();
    }

    runAll(): Promise<void> {
        this.finished ??= this.runEach().then(() => {
            this.closed = true;
        });
        return this.finished;
    }

    private async runEach(): Promise<void> {
        for (let next = this.actions.pop(); next; next = this.actions.pop()) {
            const [what, action] = next;
            try {
                await action();
            } catch (error) {
                console.error(`bench: cleanup of ${what} failed: ${(error as Error).message}`);
            }
        }
    }
}

/** Set by SIGINT/SIGTERM: the run stops at its next step and cleans up. */
let interruptedBy: NodeJS.Signals | undefined;

/** Announces a step of the run; an interrupt ends the run here (its `finally` then cleans up). */
function step(message: string): void {
    if (interruptedBy) throw new Error(`interrupted by ${interruptedBy}`);
    console.log(`bench: ${message}`);
}

function parseArgs(argv: string[]): { quick: boolean; out?: string } {
    let quick = false;
    let out: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--quick") quick = true;
        else if (argv[i] === "--out" && argv[i + 1]) out = argv[++i];
        else throw new Error(`usage: scripts/bench [--quick] [--out DIR] (unknown argument ${argv[i]})`);
    }
    return { quick, out };
}

async function tcpCountersOf(outputs: StackOutputs, family: Family = 4) {
    const counters = await readCounters(outputs.hostNetns, outputs.xdpMapIds);
    return counters.stats![family === 6 ? "tcp6" : "tcp"];
}

async function startIperfServer(lab: Lab, seconds: number, address = lab.serverAddress) {
    return startInNetns(lab.upstream, ["iperf3", "-s", "-B", address, "--forceflush"], seconds, /Server listening/);
}

/** The dual-stack part of the measured stacks' config: the recipe's IPv6 addresses (NAT66 out of the uplink). */
const dualStack = { outerAddress6: recipeAddresses6.outer, innerAddress6: recipeAddresses6.inner };

/** The IPv6 address of a lab made with `ipv6: true`. */
function server6(lab: Lab): string {
    if (!lab.ipv6) throw new Error(`lab ${lab.id} has no IPv6`);
    return lab.ipv6.serverAddress;
}

/**
 * The IPv6 twins of IPv4 latency paths (same labels; the tables pair them): `ping -6` from the same
 * namespaces to the upstream's IPv6 server.
 */
function ipv6PingPaths(twins: PingPath[]): PingPath[] {
    return twins.map(({ label, netns }) => ({ label, netns, family: 6 }));
}

/**
 * The IPv6 twins of IPv4 throughput cases (same labels, client and state; the tables pair them):
 * iperf3 -6 to the IPv6 server of the twin's lab, with the stack's IPv6 TCP counters.
 */
function ipv6ThroughputCases(twins: { twin: ThroughputCase; lab: Lab; outputs?: StackOutputs }[]): ThroughputCase[] {
    return twins.map(({ twin, lab, outputs }) => ({
        label: twin.label, clientNetns: twin.clientNetns, server: server6(lab), family: 6, before: twin.before,
        tcpCounters: outputs ? () => tcpCountersOf(outputs, 6) : undefined,
    }));
}

/** Labs, stacks and engines made during a run, each registered for cleanup as it is made. */
function resources(cleanup: Cleanup) {
    return {
        lab: async (role: string, options: LabOptions = {}): Promise<Lab> => {
            const lab = await createLab(undefined, options);
            cleanup.add(`lab ${lab.id} (${role})`, () => destroyLab(lab));
            step(`lab ${lab.id} (namespaces *-${lab.id}): ${role}`);
            return lab;
        },
        stack: async (lab: Lab, name: string, config: Record<string, string> = {}): Promise<LabStack> => {
            const created = await newLabStack(lab, name, config);
            cleanup.add(`stack ${created.engine.stack}`, () => created.dispose());
            return created;
        },
        floor: async (name: string): Promise<Engine> => {
            const engine = await newEngine(path.join(projectRoot, "bench", "fixtures", "empty"), name);
            cleanup.add(`stack ${name}`, async () => engine.dispose());
            return engine;
        },
    };
}

/**
 * Control plane, interleaved run by run (background load changes over minutes): the stack (IPv4
 * only, the default config), the floor, the recipe script (its IPv4 commands, as the seed wrote it).
 */
async function measureControlPlane(settings: BenchSettings, make: ReturnType<typeof resources>, stackLab: Lab, recipeLab: Lab) {
    const timings: BenchResults["controlPlane"] = { stack: {}, floor: {}, recipe: {} };
    const main = await make.stack(stackLab, "main");
    const floor = await make.floor(`empty-${stackLab.id}`);
    const recipe = recipeOf(recipeLab);
    for (let i = 0; i < settings.controlPlaneRuns; i++) {
        step(`control plane: run ${i + 1} of ${settings.controlPlaneRuns}`);
        await engineCycle(floor, timings.floor);
        await timed(timings.recipe, "apply", () => runCommands(recipeCommands(recipeLab, recipe)));
        await timed(timings.recipe, "teardown", () => runCommands(recipeTeardownCommands(recipeLab, recipe)));
        await engineCycle(main.engine, timings.stack);
    }
    return { timings, main };
}

/** The recipe's veth_1a: no program, or the program in a mode, optionally with GRO (and RPS) on. */
type RecipeState = { mode: AttachMode | "none"; gro: boolean; rps?: boolean };

function recipeSwitch(lab: Lab, recipe: Recipe, objectPath: string) {
    let state: RecipeState = { mode: "none", gro: false };
    return async (wanted: RecipeState) => {
        if (wanted.mode !== state.mode) {
            if (state.mode !== "none") await detachRecipeXdp(lab, recipe, state.mode);
            state = { ...state, mode: "none" };
            if (wanted.mode !== "none") await attachRecipeXdp(lab, recipe, wanted.mode, objectPath);
        }
        if (wanted.gro !== state.gro) await setRecipeGro(lab, recipe, wanted.gro);
        if (!!wanted.rps !== !!state.rps) await setRecipeRps(lab, recipe, wanted.rps ? allCpusMask() : "0");
        state = wanted;
    };
}

async function benchmark(settings: BenchSettings, cleanup: Cleanup, command: string): Promise<BenchResults> {
    const startedAt = new Date();
    const loadBefore = loadAverage();
    const machine = await describeMachine();

    step("program cost (BPF_PROG_TEST_RUN)");
    const programCost = await measureProgramCost(projectRoot, settings.programCost);

    const make = resources(cleanup);
    // Dual-stack labs (the upstream answers on 2001:db8::/32 too) for the paths measured over both families.
    const stackLab = await make.lab("the egress-xdp stack", { ipv6: true });
    const recipeLab = await make.lab("the hand-built recipe", { ipv6: true });
    const { timings: controlPlane, main } = await measureControlPlane(settings, make, stackLab, recipeLab);
    step("the measured stack: dual stack (IPv6 addresses, NAT66)");
    main.edit({ ...main.config, ...dualStack });
    await main.engine.pulumi(["up", "--yes", "--skip-preview"]);
    const mainOut = await main.outputs();
    const defaultMode = mainOut.effectiveXdpMode as AttachMode;
    const otherMode: AttachMode = defaultMode === "native" ? "generic" : "native";

    step(`the other measured paths: the recipe, the recipe with FORWARD accept rules, a stack in ${otherMode} mode`);
    const recipe = recipeOf(recipeLab);
    await runCommands([...recipeCommands(recipeLab, recipe), ...recipe6Commands(recipeLab, recipe)]);
    const work = mkdtempSync(path.join(tmpdir(), "egress-xdp-bench-"));
    cleanup.add("build directory", async () => rmSync(work, { recursive: true, force: true }));
    const recipeObject = path.join(work, "xdp_stats.o");
    await run({ resource: "bench build" }, clangArgv(path.join(projectRoot, "bpf", "xdp_stats.c"), recipeObject));
    const setRecipe = recipeSwitch(recipeLab, recipe, recipeObject);
    // Twice, in two labs: the second copy measures how far two identical labs differ (an A/A control).
    const recipeForwards: Recipe[] = [];
    for (const copy of ["", " (A/A control)"]) {
        const lab = await make.lab(`the hand-built recipe with egress-xdp's FORWARD accept rules${copy}`);
        const built = recipeOf(lab);
        await runCommands([...recipeCommands(lab, built), ...forwardAcceptCommands(lab)]);
        await attachRecipeXdp(lab, built, defaultMode, recipeObject);
        recipeForwards.push(built);
    }
    const otherLab = await make.lab(`an egress-xdp stack in ${otherMode} mode`, { ipv6: true });
    const other = await make.stack(otherLab, otherMode, { xdpMode: otherMode, ...dualStack });
    await other.engine.pulumi(["up", "--yes", "--skip-preview"]);
    const otherOut = await other.outputs();
    const isnLab = await make.lab(`an egress-xdp stack with the ISN pair in ${defaultMode} mode`);
    const isn = await make.stack(isnLab, "isn", { xdpProgram: "bpf/xdp_isn_egress.c", xdpIngressProgram: "bpf/xdp_isn_ingress.c" });
    await isn.engine.pulumi(["up", "--yes", "--skip-preview"]);

    const nativeOut = defaultMode === "native" ? mainOut : otherOut;

    step("latency");
    await setRecipe({ mode: defaultMode, gro: false });
    const direct: PingPath = { label: "direct (lab host)", netns: stackLab.host };
    const egressDefault: PingPath = { label: `egress-xdp (${defaultMode}, default)`, netns: main.namespace };
    const egressOther: PingPath = { label: `egress-xdp (${otherMode})`, netns: other.namespace };
    const paths: PingPath[] = [
        direct,
        egressDefault,
        { label: `hand-built recipe (${defaultMode})`, netns: recipe.namespace },
        { label: `hand-built recipe + FORWARD accept (${defaultMode})`, netns: recipeForwards[0].namespace },
        egressOther,
        {
            label: `hand-built recipe + FORWARD accept, another lab (A/A control)`, netns: recipeForwards[1].namespace,
            copyOf: `hand-built recipe + FORWARD accept (${defaultMode})`,
        },
        // In the same rounds: the same paths over IPv6.
        ...ipv6PingPaths([direct, egressDefault, egressOther]),
    ];
    // Every lab's upstream has the same server addresses.
    const targets = { 4: stackLab.serverAddress, 6: server6(stackLab) };
    const latency = await measureLatency(paths, targets, settings.latency);
    const spacedLatency = await measureLatency(paths, targets, settings.spacedLatency);

    step("throughput");
    const recipeCase = (label: string, state: RecipeState): ThroughputCase => ({
        label, clientNetns: recipe.namespace, server: recipeLab.serverAddress, before: () => setRecipe(state),
    });
    const baseline = recipeCase("hand-built recipe, no XDP (baseline)", { mode: "none", gro: false });
    const egressDefaultCase: ThroughputCase = {
        label: `egress-xdp, ${defaultMode} (default)`, clientNetns: main.namespace, server: stackLab.serverAddress,
        tcpCounters: () => tcpCountersOf(mainOut),
    };
    const egressOtherCase: ThroughputCase = {
        label: otherMode === "native" ? "egress-xdp, native (GRO managed)" : `egress-xdp, ${otherMode}`, clientNetns: other.namespace,
        server: otherLab.serverAddress, tcpCounters: () => tcpCountersOf(otherOut),
    };
    // The baseline first and the default right after it: each round compares them back to back.
    const cases: ThroughputCase[] = [
        baseline,
        egressDefaultCase,
        // Next to the default: the same stack with the ISN pair instead of xdp_stats.
        {
            label: `egress-xdp + ISN pair (xdp_isn_egress/ingress), ${defaultMode}`, clientNetns: isn.namespace,
            server: isnLab.serverAddress,
        },
        recipeCase("hand-built recipe + XDP, generic", { mode: "generic", gro: false }),
        recipeCase(recipeNativeLabel, { mode: "native", gro: false }),
        recipeCase(recipeNativeGroLabel, { mode: "native", gro: true }),
        recipeCase(recipeNativeGroRpsLabel, { mode: "native", gro: true, rps: true }),
        egressOtherCase,
        { label: "direct (lab host, no extra hop)", clientNetns: stackLab.host, server: stackLab.serverAddress },
        // In the same rounds: IPv6, its baseline (the recipe with its IPv6 lines) first again.
        ...ipv6ThroughputCases([
            { twin: baseline, lab: recipeLab },
            { twin: egressDefaultCase, lab: stackLab, outputs: mainOut },
            { twin: egressOtherCase, lab: otherLab, outputs: otherOut },
        ]),
    ];
    // Servers live as long as every case could take, then `timeout` ends them even if this process died.
    const serverSeconds = cases.length * settings.throughput.rounds * (settings.throughput.seconds + 10) + 60;
    const servers = [];
    for (const lab of [stackLab, recipeLab, otherLab, isnLab]) servers.push(await startIperfServer(lab, serverSeconds));
    for (const lab of [stackLab, recipeLab, otherLab]) servers.push(await startIperfServer(lab, serverSeconds, server6(lab)));
    const throughput = await measureThroughput(cases, settings.throughput);
    for (const server of servers) await server.stop();

    step(`scale: ${settings.scaleCounts.join(", ")} EgressXdp instances in one stack`);
    const scaleLab = await make.lab("scale");
    const scaleStack = await newScaleStack(scaleLab);
    cleanup.add("scale stack", () => scaleStack.dispose());
    const scale = await measureScale(scaleStack, settings.scaleCounts);
    let scaleWithoutCheckpoints: BenchResults["scaleWithoutCheckpoints"];
    if (settings.scaleDiagnostic) {
        const largest = settings.scaleCounts[settings.scaleCounts.length - 1];
        step(`scale: ${largest} instances again with PULUMI_SKIP_CHECKPOINTS=true (diagnostic)`);
        const withoutCheckpoints = await newScaleStack(scaleLab, "scale-nockpt", { PULUMI_SKIP_CHECKPOINTS: "true" });
        cleanup.add("scale stack without checkpoints", () => withoutCheckpoints.dispose());
        scaleWithoutCheckpoints = (await measureScale(withoutCheckpoints, [largest]))[0];
    }

    return {
        quick: settings === quickSettings, settings, command, startedAt: startedAt.toISOString(),
        durationSeconds: (Date.now() - startedAt.getTime()) / 1000, loadBefore, loadAfter: loadAverage(), machine,
        defaultMode, otherMode, nativeOffloads: {
            programView: nativeOut.xdpProgramView, offloads: nativeOut.xdpOffloads, offloadChanges: nativeOut.xdpOffloadChanges,
        },
        latency, spacedLatency, throughput, programCost, controlPlane, scale, scaleWithoutCheckpoints,
        recipe6: recipe6Commands(recipeLab, recipe).map(([netns, argv]) => ({ inNamespace: netns === recipe.namespace, argv })),
        addresses6: { ...recipeAddresses6, uplink: stackLab.ipv6!.uplinkAddress },
    };
}

async function main(): Promise<void> {
    const args = parseArgs(process.argv.slice(2));
    const settings = args.quick ? quickSettings : fullSettings;
    const outDir = path.resolve(args.out ?? (args.quick ? path.join(tmpdir(), "egress-xdp-bench-quick") : path.join(projectRoot, "docs")));
    const command = `scripts/bench${process.argv.slice(2).map((a) => ` ${a}`).join("")}`;
    if (process.getuid?.() !== 0) throw new Error("scripts/bench must run as root (namespaces, XDP, bpffs)");

    const cleanup = new Cleanup();
    cleanup.add("background processes", stopAll);
    // First signal: stop the servers (so a running measurement fails fast) and end at the next step.
    // Second signal: clean up now and leave.
    const onSignal = (signal: NodeJS.Signals) => {
        if (interruptedBy) {
            void cleanup.runAll().finally(() => process.exit(130));
            return;
        }
        interruptedBy = signal;
        console.error(`bench: ${signal}: stopping after the current step, then cleaning up (again to clean up now)`);
        void stopAll();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);

    let results: BenchResults;
    try {
        results = await benchmark(settings, cleanup, command);
    } finally {
        await cleanup.runAll();
    }
    mkdirSync(outDir, { recursive: true });
    const plotName = "benchmarks-latency.svg";
    writeFileSync(path.join(outDir, plotName), renderLatencyPlot(results.latency));
    writeFileSync(path.join(outDir, "BENCHMARKS.md"), renderReport(results, plotName));
    console.log(`bench: wrote ${path.join(outDir, "BENCHMARKS.md")} and ${plotName} (${Math.round(results.durationSeconds)} s)`);
}

main().catch((error: Error) => {
    console.error(interruptedBy ? `bench: ${error.message}; cleaned up` : `bench: failed: ${error.stack ?? error.message}`);
    process.exit(interruptedBy ? 130 : 1);
});
