// docs/BENCHMARKS.md from one run's results: the machine, every measurement next to its baseline,
// and whether each goal was met.
import { Timings } from "./control-plane";
import { Family, familyName, ofFamily, pairedByFamily, rowFamily } from "./family";
import { PathLatency, PingSeries } from "./latency";
import { Machine } from "./machine";
import { ProgramCost, verdictName } from "./program-cost";
import { ScaleRow } from "./scale";
import { median, pairedDifference } from "./stats";
import { ThroughputResult, iperf3ClientArgv } from "./throughput";
import type { OffloadChange } from "../provider/offload";

export interface BenchSettings {
    latency: { interval: number; count: number; rounds: number };
    spacedLatency: { interval: number; count: number; rounds: number };
    throughput: { seconds: number; rounds: number };
    programCost: { repeat: number; runs: number };
    controlPlaneRuns: number;
    scaleCounts: number[];
    /** Whether to repeat the largest scale row with per-step checkpoints off. */
    scaleDiagnostic: boolean;
}

export interface BenchResults {
    quick: boolean;
    settings: BenchSettings;
    command: string;
    startedAt: string;
    durationSeconds: number;
    loadBefore: number;
    loadAfter: number;
    machine: Machine;
    defaultMode: string;
    otherMode: string;
    /** The native-mode stack's offload outputs: what its program sees and what it changed on veth_1a. */
    nativeOffloads?: { programView?: string; offloads?: Record<string, string>; offloadChanges?: OffloadChange[] };
    latency: PingSeries;
    spacedLatency: PingSeries;
    throughput: ThroughputResult[];
    programCost: ProgramCost;
    controlPlane: { stack: Timings; floor: Timings; recipe: Timings };
    scale: ScaleRow[];
    /** The largest scale row again with the engine's per-step checkpoints off: where its time goes. */
    scaleWithoutCheckpoints?: ScaleRow;
    /** The IPv6 lines added by hand to the recipe for the IPv6 baseline, as run: on the lab host or in the recipe's namespace. */
    recipe6: { inNamespace: boolean; argv: string[] }[];
    /** The dual-stack stacks' IPv6 addresses (the recipe's too) and the uplink's, which NAT66 makes them leave from. */
    addresses6: { outer: string; inner: string; uplink: string };
}

const ms = (value: number) => value.toFixed(4);
const signedMs = (value: number) => `${value >= 0 ? "+" : "−"}${Math.abs(value).toFixed(4)} ms`;
const seconds = (value: number) => `${value.toFixed(2)} s`;
const gbit = (bps: number) => (bps / 1e9).toFixed(2);
const met = (ok: boolean) => (ok ? "met" : "**not met**");

function table(header: string[], rows: (string | number)[][]): string {
    return [`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`,
        ...rows.map((row) => `| ${row.join(" | ")} |`)].join("\n");
}

/**
 * "No worse": egress-xdp's mean RTT is not above the other path's by more than the noise, which is
 * the difference between two identical labs (the A/A control) plus two standard errors of the
 * per-round differences.
 */
function noWorse(what: string, series: PingSeries, egress: PathLatency, other: PathLatency): Goal {
    const { mean, standardError } = pairedDifference(egress.roundMeans, other.roundMeans);
    const control = series.paths.find((p) => p.path.copyOf);
    const copied = series.paths.find((p) => p.path.label === control?.path.copyOf);
    const labToLab = control && copied ? Math.abs(control.summary.mean - copied.summary.mean) : 0;
    const noise = labToLab + 2 * standardError;
    return {
        what, goal: "no worse (difference ≤ noise: A/A lab difference + 2 standard errors over rounds)",
        measured: `${ms(egress.summary.mean)} vs ${ms(other.summary.mean)} ms: ${signedMs(mean)} (noise ${ms(noise)})`,
        ok: mean <= noise,
    };
}

/** The median over rounds of a case's throughput divided by the baseline's in the same round. */
export function ratioToBaseline(row: ThroughputResult, baseline: ThroughputResult): number {
    return median(row.bitsPerSecond.map((bps, round) => bps / baseline.bitsPerSecond[round]));
}

/** The labels of the native-mode rows the goals of issue 11 compare. */
export const recipeNativeLabel = "hand-built recipe + XDP, native";
export const recipeNativeGroLabel = "hand-built recipe + XDP, native, GRO on veth_1a by hand";
export const recipeNativeGroRpsLabel = "hand-built recipe + XDP, native, GRO and RPS on veth_1a by hand";
const isEgressNative = (t: ThroughputResult) => t.label.startsWith("egress-xdp, native");

/** Bytes per program call of a row, when its program's TCP counters were read. */
export function bytesPerCall(row: ThroughputResult | undefined): number | undefined {
    const v = row?.programView;
    return v && v.packets > 0 ? v.bytes / v.packets : undefined;
}

interface Goal {
    what: string;
    goal: string;
    measured: string;
    ok: boolean;
}

/** Native mode's goals (issue 11): throughput next to the baseline and the recipe, with wire-size calls. */
function nativeGoals(r: BenchResults): Goal[] {
    const baseline = r.throughput[0];
    const native = r.throughput.find(isEgressNative);
    const recipeNative = r.throughput.find((t) => t.label === recipeNativeLabel);
    if (!native || !recipeNative) return [];
    const ratio = ratioToBaseline(native, baseline);
    const overRecipe = ratioToBaseline(native, recipeNative);
    const perCall = bytesPerCall(native);
    return [
        {
            what: "throughput: egress-xdp native vs no XDP", goal: "≥ 0.40× (median of per-round ratios; stretch ≥ 0.6×)",
            measured: `${ratio.toFixed(2)}× (medians ${gbit(native.median)} and ${gbit(baseline.median)} Gbit/s)` +
                (ratio >= 0.6 ? ", stretch met" : ", stretch not met"),
            ok: ratio >= 0.4,
        },
        {
            what: "throughput: egress-xdp native vs the hand-built recipe in native mode", goal: "≥ 2.5× (median of per-round ratios)",
            measured: `${overRecipe.toFixed(2)}× (medians ${gbit(native.median)} and ${gbit(recipeNative.median)} Gbit/s)`,
            ok: overRecipe >= 2.5,
        },
        {
            what: "native: the program still sees wire-size frames (TCP)", goal: "≤ 1,514 bytes per call on average",
            measured: perCall === undefined ? "no calls counted" : `${Math.round(perCall).toLocaleString("en-US")} bytes per call`,
            ok: perCall !== undefined && perCall <= 1514,
        },
    ];
}

/**
 * The results with their IPv4 rows only: the goals and the prose about the modes are about IPv4 (the
 * tables show the IPv6 rows beside them).
 */
export function ipv4View(r: BenchResults): BenchResults {
    const only = (series: PingSeries): PingSeries => ({ ...series, paths: series.paths.filter((p) => rowFamily(p.path) === 4) });
    return { ...r, latency: only(r.latency), spacedLatency: only(r.spacedLatency), throughput: ofFamily(r.throughput, 4) };
}

/** The goals of issues 6 and 11, evaluated on the IPv4 results. */
export function evaluateGoals(results: BenchResults): Goal[] {
    const r = ipv4View(results);
    const [direct, egress] = r.latency.paths.map((p) => p.summary);
    const added = egress.mean - direct.mean;
    const baseline = r.throughput[0];
    const defaultRow = r.throughput.find((t) => t.label.includes("(default)"))!;
    const defaultRatio = ratioToBaseline(defaultRow, baseline);
    const statsCost = Math.max(...r.programCost.rows.filter((row) => row.program === "xdp_stats.c").map((row) => row.nsPerPacket));
    const cp = r.controlPlane;
    const up1 = r.scale[0].up;
    const upMax = r.scale[r.scale.length - 1];
    return [
        { what: "latency: added per ping (egress-xdp − direct, mean)", goal: "≤ 0.010 ms", measured: `${ms(added)} ms`, ok: added <= 0.010 },
        noWorse("latency: egress-xdp vs the hand-built recipe as the seed wrote it", r.latency, r.latency.paths[1], r.latency.paths[2]),
        {
            what: `throughput: egress-xdp in its default mode (${r.defaultMode}) vs no XDP`, goal: "≥ 0.9× (median of per-round ratios)",
            measured: `${defaultRatio.toFixed(2)}× (medians ${gbit(defaultRow.median)} and ${gbit(baseline.median)} Gbit/s)`,
            ok: defaultRatio >= 0.9,
        },
        ...nativeGoals(r),
        { what: "program cost: xdp_stats (worst frame)", goal: "≤ 30 ns", measured: `${statsCost} ns`, ok: statsCost <= 30 },
        {
            what: "control plane: preview of an unchanged stack", goal: "≤ floor + 1 s",
            measured: `${seconds(median(cp.stack.preview))} (floor ${seconds(median(cp.floor.preview))})`,
            ok: median(cp.stack.preview) <= median(cp.floor.preview) + 1,
        },
        {
            what: "control plane: fresh up", goal: "≤ floor + 2 s",
            measured: `${seconds(median(cp.stack.up))} (floor ${seconds(median(cp.floor.up))})`,
            ok: median(cp.stack.up) <= median(cp.floor.up) + 2,
        },
        {
            what: `scale: up of ${upMax.instances} instances vs 1`, goal: `≤ 5×`,
            measured: `${(upMax.up / up1).toFixed(2)}× (${seconds(upMax.up)} vs ${seconds(up1)})`, ok: upMax.up <= 5 * up1,
        },
        {
            what: `scale: destroy of ${upMax.instances} instances vs 1`, goal: `≤ 5×`,
            measured: `${(upMax.destroy / r.scale[0].destroy).toFixed(2)}× (${seconds(upMax.destroy)} vs ${seconds(r.scale[0].destroy)})`,
            ok: upMax.destroy <= 5 * r.scale[0].destroy,
        },
    ];
}

/** Each path's row, its IPv6 twin under it; "added" is over the direct path (each family's first) of the same family. */
export function latencyTable(series: PingSeries): string {
    const direct = (family: Family) => series.paths.find((p) => rowFamily(p.path) === family)!.summary;
    return table(["path", "family", "pings", "lost", "mean ms", "p50 ms", "p99 ms", "max ms", "added mean ms", "added p50 ms", "added p99 ms"],
        pairedByFamily(series.paths, (p) => p.path).map(({ path, summary: s, lost }) => {
            const d = direct(rowFamily(path));
            return [path.label, familyName(path), s.count, lost, ms(s.mean), ms(s.p50), ms(s.p99), ms(s.max),
                ms(s.mean - d.mean), ms(s.p50 - d.p50), ms(s.p99 - d.p99)];
        }));
}

/** Each case's row, its IPv6 twin under it; "× baseline" is over the baseline (each family's first case) of the same family. */
export function throughputTable(rows: ThroughputResult[]): string {
    const baseline = (family: Family) => ofFamily(rows, family)[0];
    return table(["path", "family", "Gbit/s (median)", "runs", "× baseline", "program calls (TCP)", "bytes per call"],
        pairedByFamily(rows, (t) => t).map((t) => {
            const perCall = bytesPerCall(t);
            return [t.label, familyName(t), gbit(t.median), t.bitsPerSecond.map(gbit).join(", "),
                ratioToBaseline(t, baseline(rowFamily(t))).toFixed(2), t.programView ? t.programView.packets.toLocaleString("en-US") : "—",
                perCall === undefined ? "—" : Math.round(perCall).toLocaleString("en-US")];
        }));
}

function controlPlaneTable(cp: BenchResults["controlPlane"]): string {
    const cell = (values: number[] | undefined) =>
        (values && values.length > 0 ? `${seconds(median(values))} (${values.map((v) => v.toFixed(2)).join(", ")})` : "—");
    const difference = (stack: number[] | undefined, floor: number[] | undefined) =>
        (stack?.length && floor?.length ? seconds(median(stack) - median(floor)) : "—");
    const row = (label: string, stack: Timings, floor: Timings, key: string, recipe?: number[]) =>
        [label, cell(stack[key]), cell(floor[key]), difference(stack[key], floor[key]), cell(recipe)];
    return table(["", "egress-xdp stack", "engine floor (empty program)", "difference", "recipe as a plain script"], [
        row("up / apply", cp.stack, cp.floor, "up", cp.recipe.apply),
        row("preview (unchanged)", cp.stack, cp.floor, "preview"),
        row("destroy / teardown", cp.stack, cp.floor, "destroy", cp.recipe.teardown),
    ]);
}

/**
 * A warning for a run on a busy machine: when CPU time is scarce every path waits for it alike, so the
 * ratios between paths shrink toward 1 and a path that costs more CPU per byte looks less costly.
 */
function busyNote(r: BenchResults): string {
    const load = Math.max(r.loadBefore, r.loadAfter);
    if (load <= 2 * r.machine.cpus) return "";
    return ` **This run shared the machine with heavy other work (load average up to ${load.toFixed(1)} on ${r.machine.cpus}
CPUs)**: every path then waits for CPU time alike, so the ratios between paths shrink toward 1; a path that costs
more CPU per byte (native mode, the recipe's native mode most) looks less costly than on a quiet machine.`;
}

/** An IPv4 row's "× baseline" by the start of its label, for the prose. */
function ratioOf(results: BenchResults, labelStart: string): string {
    const r = ipv4View(results);
    const row = r.throughput.find((t) => t.label.startsWith(labelStart));
    return row ? `${ratioToBaseline(row, r.throughput[0]).toFixed(2)}×` : "n/a";
}

export function renderReport(r: BenchResults, plotFile: string): string {
    const m = r.machine;
    const goals = evaluateGoals(r);
    const s = r.settings;
    return `# Benchmarks

Measured by \`${r.command}\` on ${r.startedAt.slice(0, 16).replace("T", " ")} UTC in ${Math.round(r.durationSeconds)} s
(1-minute load average ${r.loadBefore.toFixed(2)} before, ${r.loadAfter.toFixed(2)} after: other work on the machine
shows in every number).${r.quick ? "\n\n**This is a `--quick` smoke run: small counts, numbers are not representative.**" : ""}
Everything runs inside throwaway lab hosts (a namespace playing the host, its veth uplink to a namespace playing the
internet, servers on that namespace's loopback), made and removed by the benchmark; the egress-xdp topology is built
by the real engine (\`scripts/pulumi\`, the root program with a lab stack config), the seed's recipe by its own
commands run one by one. Nothing touches the machine's own interfaces.

## Machine

${table(["", ""], [
        ["CPU", `${m.cpus} × ${m.cpuModel}`], ["memory", `${m.memoryGiB} GiB`], ["kernel", m.kernel], ["distribution", m.distribution],
        ...Object.entries(m.tools).map(([tool, version]) => [tool, version]),
    ])}

## Goals

${table(["what", "goal", "measured", ""], goals.map((g) => [g.what, g.goal, g.measured, met(g.ok)]))}

What the benchmark changed in egress-xdp: in native mode the XDP attachment turns GRO on on the outer veth (and puts it
back on destroy or a switch to generic), which takes native mode from the recipe's
${ratioOf(r, recipeNativeLabel)} to ${ratioOf(r, "egress-xdp, native")} of the no-XDP throughput while the program still
sees wire-size frames (section 2); the default \`xdpMode\` stays **generic**, which keeps the full throughput; the FORWARD accept
rules are added only where the host's FORWARD chain would drop (\`forwardAccept: auto\`; section 1: they cost
every forwarded packet the filter table's hook, which is what made egress-xdp slower than the recipe before); and
the program runs compiled with its dynamic providers named by package instead of serialized (section 4: the
previous report, under heavy load, measured 13.2 s for a preview and 26.7 s for an up).

## 1. Latency

\`${r.latency.argv[4].join(" ")}\` from each path's namespace to the upstream server, ${r.latency.count.toLocaleString("en-US")} pings
per path in ${r.latency.rounds} interleaved rounds (every path takes its turn in every round, so background load falls
on all alike). *direct* pings from the lab host itself (no extra hop); *egress-xdp* from the stack's inner namespace
(veth → XDP → bridge → NAT → uplink); the *hand-built recipe* is the seed's commands in a second lab with the same
program (bpf/xdp_stats.c) attached in the same mode; *+ FORWARD accept* is that recipe in a third lab plus the two
filter/FORWARD rules egress-xdp adds on hosts whose FORWARD chain would drop (Docker's policy DROP): they make
every forwarded packet (the echo and its reply) pass the filter table's forward hook, which is what such a host
costs. The labs' FORWARD chains are open, so the stacks here leave those rules out (\`forwardAccept: auto\`).
The stack in the other mode has a lab of its own, and the *A/A control* is a
second copy of the recipe with FORWARD accept in yet another lab: how far it lies from the first copy is how far two
identical labs differ. At this interval iputils sends each echo as soon as the previous reply is in, so the path is
warm; ping prints RTTs to 0.001 ms (means over many pings resolve finer). "No worse" in the goals: egress-xdp's mean
exceeds the other path's by no more than the A/A difference plus two standard errors of the per-round differences.

${ipv6LatencyText(r)}

${latencyTable(r.latency)}

Egress-xdp and the recipe differ only in what a forwarded echo does not touch per packet: the order and source match of the NAT rules (consulted for a flow's first packet
only; conntrack handles the rest), the rules' comments and the links' aliases (annotations). What remains between
them is of the order of the lab-to-lab difference, a few tenths of a microsecond.

![RTT histogram and CDF per IPv4 path](${plotFile})

The same with echoes 1 ms apart (\`-i ${r.spacedLatency.interval}\`, ${r.spacedLatency.count.toLocaleString("en-US")} pings per path), where
each echo finds a colder path, closer to the seed's setting:

${latencyTable(r.spacedLatency)}

## 2. Throughput

\`${iperf3ClientArgv("SERVER", s.throughput.seconds).join(" ")}\` (one TCP stream) from the path's namespace to an
\`iperf3 -s\` bound to the server address in the upstream namespace, ${s.throughput.rounds} round(s): every round runs each
case once, in the order of the table. The baseline is the hand-built recipe without an XDP program: the same veth →
bridge → NAT → uplink path. Other work on the machine moves the numbers a lot between rounds, so "× baseline" is the
median over rounds of the case divided by the baseline *of the same round* (the default mode runs right after it).${busyNote(r)}

${ipv6ThroughputText(r)}

${throughputTable(r.throughput)}

${modesText(r)}

## 3. Program cost

Every program in \`bpf/\` under BPF_PROG_TEST_RUN: \`${r.programCost.argv.join(" ")}\`, the median of
${s.programCost.runs} run(s) of bpftool's mean per run. The programs and maps are pinned in a bpffs of a private
mount namespace made for the measurement only. The ISN pair has one flow in \`isn_offsets\` (ingress gets the reversed frames). Drop-list programs have ${r.programCost.prefixes.length} prefixes loaded
(${r.programCost.prefixes.join(", ")}); *listed* frames go to 198.19.1.1, the others to 198.19.0.1.

${table(["program", "frame", "verdict", "ns per packet (median)", "fastest run", "runs (ns)"],
        r.programCost.rows.map((row) => [row.program, row.frame, verdictName(row.returnValue), row.nsPerPacket,
            Math.min(...row.runs), row.runs.join(", ")]))}

## 4. Control plane

Wall-clock seconds, median of ${s.controlPlaneRuns} run(s) (each run in parentheses): \`scripts/pulumi up --yes\` (a
preview, then the update) of a fresh stack, \`preview --expect-no-changes\` of the unchanged stack, \`destroy --yes\`.
The floor is the same commands on \`bench/fixtures/empty\`, a program that imports @pulumi/pulumi (as every Pulumi
program does) and declares no resource, run like the root program; the stack is the root program with the default
config (IPv4 only; sections 1 and 2 then measure it brought up dual stack) in a lab whose FORWARD chain is open, so
\`forwardAccept: auto\` leaves its two rules out (12 resources);
the recipe is the seed's commands (and a by-hand teardown) run one by one through the runner.

${controlPlaneTable(r.controlPlane)}

${controlPlaneWhy}

## 5. Scale

\`bench/fixtures/scale\`: N EgressXdp instances in one stack (each with its own namespace, bridge, tap, veth pair, /24,
program and pin directory, all in one bpffs that the first create mounts and the last delete unmounts), fresh \`up --yes\` and \`destroy --yes\`, in one lab host. The last row repeats the largest N with
\`PULUMI_SKIP_CHECKPOINTS=true\` as a diagnostic only (the tool never sets it: an interrupted run would then leave
a state that does not know what was already made).

${scaleTable(r)}

${r.scaleWithoutCheckpoints ? `${scaleWhy(r, r.scaleWithoutCheckpoints)}\n\n` : ""}## Reproduce

\`\`\`
scripts/bench           # the full run: writes this file and ${plotFile}
scripts/bench --quick   # a smoke run with small counts (< 2 minutes); writes to $TMPDIR/egress-xdp-bench-quick
\`\`\`
`;
}

function scaleTable(r: BenchResults): string {
    const one = r.scale[0];
    const row = (label: string | number, x: ScaleRow) => [label, x.instances * 13, seconds(x.up), seconds(x.destroy),
        (x.up / one.up).toFixed(2), (x.destroy / one.destroy).toFixed(2)];
    const diagnostic = r.scaleWithoutCheckpoints;
    return table(["instances", "resources", "up", "destroy", "up × one", "destroy × one"], [
        ...r.scale.map((x) => row(x.instances, x)),
        ...(diagnostic ? [row(`${diagnostic.instances}, checkpoints skipped (diagnostic)`, diagnostic)] : []),
    ]);
}

/** What the checkpoints cost at the largest N: the diagnostic row next to the real one. */
function scaleWhy(r: BenchResults, withoutCheckpoints: ScaleRow): string {
    const largest = r.scale[r.scale.length - 1];
    return `### What grows with N

After every step the engine writes the whole state (the DIY backend: serialize, back up the old file, write,
check integrity), so the cost of a step grows with the size of the stack and the total with N². With the per-step
checkpoints skipped, ${largest.instances} instances come up in ${seconds(withoutCheckpoints.up)} instead of
${seconds(largest.up)} and are destroyed in ${seconds(withoutCheckpoints.destroy)} instead of ${seconds(largest.destroy)}.
Each dynamic resource's state holds only a few-line provider module (section 4), not a serialized copy of the
provider (20–46 kB each, twice per resource, before): that is what keeps the checkpoints cheap.`;
}

/** Where the control plane's time goes, found with the engine's trace (--tracing) and CPU profiles. */
const controlPlaneWhy = `### Where the time goes

Measured by hand on this machine with \`pulumi --tracing\` and CPU profiles of the program and the plugin
(\`up --yes\` runs the program twice, for its preview and for the update, and starts the plugins twice):

| cost | per | about | the floor pays it too |
| --- | --- | --- | --- |
| CLI and language host; Node.js with @pulumi/pulumi (whose runtime loads npm's arborist and typescript, which only serializing closures needs: about 0.7 s, which the floor pays and egress-xdp's program no longer does, see below) | program run | 0.9 s (egress-xdp: 0.2 s) | yes |
| the program's own modules, the config checks (\`ip\`, \`iptables -S FORWARD\`, the C source's sections), the registrations (each formats a stack trace through the source maps) | program run | 0.25 s | no |
| Pulumi's dynamic-provider plugin starting: a second Node.js process that loads @pulumi/pulumi (0.6 s with the SDK's own shim; egress-xdp's shim defers arborist and typescript); it now starts before the program loads its modules (\`egress-xdp/start\`), not at the first child's registration | engine run | 0.45 s, mostly hidden | no |
| the creates along the dependency chain (namespace and bridge, veth, route and program) | up | 0.4–0.8 s | no |
| the checks and diffs of the unchanged resources | preview | 0.1 s | no |

What got it here: the program runs compiled (\`Pulumi.yaml\` main \`dist/program.js\`; \`scripts/pulumi\` runs \`tsc\`
when a source changed) instead of through ts-node, which type-checked and transpiled it on every run (0.5–4 s);
and each dynamic resource carries a few-line provider module that finds its provider in the package egress-xdp by
type (\`provider/dynamic.ts\`) instead of a copy made by Pulumi's closure serializer, which loaded the TypeScript
compiler and walked every provider's closure on every run (about 0.9 s); and the dynamic-provider plugin is
started by a shim of the project's own that loads npm's arborist (which only serializing closures needs) at its
first use, not at start (\`scripts/toolchain/dynamic-provider\`; typescript too since 2026-12-01, about 0.2 s of CPU
per plugin start); and EgressXdp asks the engine for the plugin with a throwaway invoke before its checks
(\`provider/plugin-start.ts\`), so the plugin's start overlaps them (preview floor + 1.05 s before, on 2026-12-01
17:30). Fewer commands on the create path: a bridge given its MAC is pinned once, offloads already as wanted are not
read twice, an attachment's maps are read once. And the root program sends that request before it loads its modules
(\`egress-xdp/start\`: it yields to the event loop so the request leaves, then loads @pulumi/pulumi and egress-xdp):
in 10 previews and 5 ups interleaved with the request sent by EgressXdp, medians 2.58 s against 2.74 s and 4.39 s
against 4.78 s (faster in 9 of 10 and 4 of 5 pairs; floor 1.94 s and 2.80 s). Since 2026-12-01 22:40
\`egress-xdp/start\` also has arborist and typescript load at their first use in the program itself
(\`provider/defer-closure-modules.ts\`, which the plugin's shim preloads too): @pulumi/pulumi's index then loads
without them, and a program that serializes no closure never loads them. With it, in 5 interleaved cycles, up
was floor + 0.82 s and an unchanged preview floor − 0.12 s (before it, floor + 2.14 s and + 0.58 s in 3 cycles the
same hour). What is left is the creates along the dependency chain, the program's own modules and checks,
and the plugin's start where it still shows; the plugin belongs to Pulumi's Node.js dynamic providers, and only a
provider plugin of the project's own would remove it. A destroy does not run the program, so it gains nothing
from this: it waits for the plugin's start and then deletes.`;

/** How the IPv6 latency rows are measured. */
function ipv6LatencyText(r: BenchResults): string {
    const a = r.addresses6;
    const argv = r.latency.argv[6];
    if (!argv) return "";
    return `The rows of family IPv6 are the same paths over IPv6, in the same rounds: \`${argv.join(" ")}\` to the
upstream's IPv6 server. The egress-xdp stacks are dual stack (\`outerAddress6: ${a.outer}\`, \`innerAddress6: ${a.inner}\`,
NAT66 out of the uplink); the upstream has no route to that ULA subnet, so an echo is answered only when NAT66 made it
leave from the uplink's ${a.uplink}. *direct* over IPv6 takes the lab host's default route, learnt from the upstream's
router advertisements. Their *added* columns are over direct of the same family. The labs of the measured stacks and of
the recipe carry IPv6 beside IPv4 for this; the recipe with FORWARD accept and its A/A control are IPv4 labs, measured
over IPv4 only. The goals are IPv4's.`;
}

/** How the IPv6 throughput rows are measured, and their baseline. */
function ipv6ThroughputText(r: BenchResults): string {
    if (!r.throughput.some((t) => rowFamily(t) === 6)) return "";
    return `The rows of family IPv6 are their IPv4 twins' paths over IPv6, in the same rounds (after the IPv4 cases, the IPv6
baseline first and the default right after it): \`${iperf3ClientArgv("SERVER6", r.settings.throughput.seconds, 6).join(" ")}\`
to a second \`iperf3 -s\` bound to the upstream's IPv6 server address. Their baseline is the hand-built recipe with the
IPv6 lines one would add by hand (the seed has none), and no XDP program:
${r.recipe6.map(({ inNamespace, argv }) => `${inNamespace ? "in the namespace " : ""}\`${argv.join(" ")}\``).join("; ")}.
"× baseline" of an IPv6 row is over that baseline in the same round; its program
calls are the program's IPv6 TCP counter.`;
}

/** What native and generic mode mean for throughput and for what a program sees. */
function modesText(results: BenchResults): string {
    const r = ipv4View(results);
    const baseline = r.throughput[0];
    const row = (match: (t: ThroughputResult) => boolean) => r.throughput.find(match);
    const ratio = (t: ThroughputResult | undefined, to = baseline) => (t ? `${ratioToBaseline(t, to).toFixed(2)}×` : "n/a");
    const perCall = (mode: string) => {
        const bytes = bytesPerCall(row((t) => t.label.startsWith(`egress-xdp, ${mode}`)));
        return bytes === undefined ? "n/a" : `${Math.round(bytes).toLocaleString("en-US")} bytes`;
    };
    const native = row(isEgressNative);
    const recipeNative = row((t) => t.label === recipeNativeLabel);
    const changes = r.nativeOffloads?.offloadChanges ?? [];
    const changed = changes.length > 0
        ? changes.map((c) => `\`${c.feature}\` ${c.set ? "on" : "off"} (found ${c.found ? "on" : "off"})`).join(", ")
        : "nothing (already as wanted)";
    return `### What each mode means

- **native** (\`xdpdrv\`, the veth driver's XDP): the program runs once per frame of at most one MTU, as if it came
  from a wire (here ${perCall("native")} per call on average). To hand it such frames the kernel turns TSO off on the
  *peer* of the veth the program is attached to (the inner end; \`ethtool -k veth_1b\` shows
  \`tcp-segmentation-offload: off\` while a native program is attached), and the veth copies each locally built
  segment into a page of its own before the program runs. The recipe stops there: every 1.5 kB segment then crosses
  the bridge, NAT and the uplink on its own, ${ratio(recipeNative)} of the baseline. egress-xdp turns GRO on on the
  outer veth while a native program runs (\`xdpAttachment\` outputs \`offloads\`, \`offloadChanges\`; here it set
  ${changed}): GRO re-aggregates the segments *after* the program, so the program's view is unchanged and the
  rest of the path handles one super-packet per ~64 kB again: ${ratio(native)} of the baseline,
  ${ratio(native, recipeNative)} the recipe in native mode (the recipe with GRO set by hand:
  ${ratio(row((t) => t.label === recipeNativeGroLabel))}; with RPS on veth_1a too, which moves the bridge, NAT and uplink
  to the CPU the flow hashes to: ${ratio(row((t) => t.label === recipeNativeGroRpsLabel))}). A switch to generic mode and \`destroy\` put GRO back as
  it was found; a host where it was on already is left alone. What stays is the per-segment cost before GRO: the
  sender's software segmentation, the copy and one program call per segment.
- **generic** (\`xdpgeneric\`, XDP on the socket buffer; **the default**): TSO stays on, so the program runs once
  per GSO super-packet of up to 64 kB (here ${perCall("generic")} per call on average) and the path keeps
  ${ratio(row((t) => t.label === "hand-built recipe + XDP, generic"))} of the baseline. Its packet and byte *totals* are right (bytes per
  protocol are exact), but a packet count is a count of super-packets, and a program that reads past the headers
  sees a linearised super-packet, not a wire frame. The same program as \`xdp.frags\` (reading
  its length with \`bpf_xdp_get_buff_len\`) was slower here, measured by hand in one lab: 9.3–10.6 Gbit/s against
  11.5–12.5 without frags and 12.8–14.4 without a program. Verdicts apply to the whole super-packet; every segment in it
  shares its headers, so a drop-list by destination drops exactly what it would in native mode.

Choose \`xdpMode: native\` when the program must see wire-size frames one by one (per-packet sampling, rewriting
headers, per-packet counts): a bulk TCP sender in the namespace now keeps ${ratio(native)} of its throughput (the
recipe's native mode: ${ratio(recipeNative)}). Keep the default, generic, when per-byte and per-protocol totals or
drop-lists are what you need: it keeps ${ratio(row((t) => t.label.startsWith("egress-xdp, generic")))}. The default
stays generic because native still gives up the difference; \`auto\` stays "native where the driver has it, else
generic" (libxdp's order), because whoever picks \`auto\` asks for the driver mode, and native with managed GRO is
the better native.

### Native mode: what else was tried

Measured by hand in throwaway namespaces (recipe topology, native xdp_stats.c on veth_1a, GRO on, one iperf3
stream of 2 s, A/B interleaved with a no-XDP run each round; the machine was shared, so compare within a round):

| setting on top of GRO on veth_1a | Gbit/s, rounds | GRO alone, same rounds | kept |
| --- | --- | --- | --- |
| \`rx-gro-list\` on veth_1a (fraglist GRO) | 4.09, 5.43, 5.68, 6.97 | 5.92, 7.12, 6.86, 6.21 | no |
| threaded NAPI on veth_1a (\`/sys/class/net/veth_1a/threaded\`) | 4.10, 3.07, 4.32, 4.53 | 5.92, 7.12, 6.86, 6.21 | no: on 2 cores the NAPI thread competes with sender and receiver |
| threaded NAPI on veth_1a and a qdisc on veth_1b (\`pfifo limit 1000\`: a full ring stops the queue instead of dropping; threaded NAPI alone dropped enough for 28,000–62,000 retransmissions in 3 s, with the qdisc 60–141), 2026-12-02, load 0.3–0.8 | 4.83, 4.84, 6.22, 5.51 | 6.38, 6.12, 5.95, 5.62 | no |
| scatter-gather off on veth_1b (linear segments) | 6.99, 3.58, 2.56, 3.42 | 5.92, 7.12, 6.86, 6.21 | no |
| GRO on veth_1b too (the ACKs through NAPI) | 7.21, 6.87, 3.04, 3.02 | 5.92, 7.12, 6.86, 6.21 | no |
| \`gro_flush_timeout\` 50 µs, \`napi_defer_hard_irqs\` 2 on veth_1a | 4.89, 3.40, 1.97 | 8.07, 4.82, 3.45 | no (and it holds packets back) |

Later, the same way but in pairs: the setting against GRO alone back to back, 2 s each, in ABBA order (the
machine was busier still, load average 2–9, so only the ratio within a pair means anything; an A/A pair of GRO
alone against itself shows the noise). RPS can only pay where a core is free, which a busy machine never has: it has
a row of its own in the table above, measured with the rest on the benchmark's machine. Once the machine was quieter
(load 1.4–2.0), 12 rounds of the recipe's native mode, GRO, GRO with RPS on all CPUs and GRO again, 3 s each, gave RPS
1.015× the mean of its round's two GRO runs (0.92–1.08; the two GRO runs 1.002× each other), GRO 2.33× the
recipe's native mode and GRO with RPS 2.38×: within the noise, and short of 2.5× either way.

| setting on top of GRO on veth_1a | pairs | ratio to GRO alone, median (range) | median Gbit/s per set of pairs (GRO alone) | kept |
| --- | --- | --- | --- | --- |
| nothing (A/A control: GRO alone twice) | 12 | 1.02 (0.79–1.40) | 4.41 (4.20) | — |
| RPS on veth_1a, all CPUs (\`queues/rx-0/rps_cpus\` 3): bridge, NAT and uplink on the CPU the flow hashes to | 12 + 20 + 24 | 1.00 (0.60–1.33) | 4.27, 3.20, 4.38 (3.77, 3.30, 5.48) | no |
| RPS to CPU 1 with the sender pinned to CPU 0 (the best case RPS could have; egress-xdp cannot pin a sender) | 16 | 0.99 (0.65–1.60) | 5.96 (5.71) | no |
| \`net.ipv4.tcp_limit_output_bytes\` (TSQ) 1 MiB in the inner namespace (default 4 MiB) | 12 + 20 | 0.95 (0.78–1.49) | 3.76, 2.80 (3.45, 3.25) | no |
| TSQ 256 KiB in the inner namespace | 12 | 0.98 (0.72–1.31) | 4.00 (4.30) | no |
| RPS on all CPUs and TSQ 1 MiB | 20 | 0.97 (0.73–1.32) | 2.87 (2.94) | no |
| a qdisc on veth_1b (\`pfifo limit 1000\`): a full veth ring stops the queue instead of dropping (Linux 6.16+) | 12 | 0.99 (0.77–1.21) | 3.33 (3.33) | no: without it the ring rarely overflows (8,645 drops in 133 million segments over all runs, none in a 3 s check) |
| GSO off on veth_1b (TCP builds one skb per segment, no software segmentation) | 12 | 1.00 (0.77–1.38) | 4.68 (4.65) | no |

What stays per segment cannot be configured away. The veth copies a frame for a native program unless the skb is
unshared, its head is not locked (not a clone, a page-fragment head), it is linear and it has 256 bytes of headroom
(\`veth_convert_skb_to_xdp_buff\` in drivers/net/veth.c). TCP transmits clones of the skbs it keeps for
retransmission, and software GSO gives each segment a freshly allocated head with the payload in page fragments, so
every TCP segment fails two of those tests whatever headroom veth_1b has (\`needed_headroom\`, which only a bridge
port's needs raise) and whether scatter-gather is on or off.

Where the time goes, on a quiet machine (2026-12-01 22:00, just booted, load 0.1; no XDP 20–22 Gbit/s): a system-wide
\`perf record -a -g\` of 3 s of the recipe's native mode with GRO on veth_1a (6.3–7.9 Gbit/s) has one CPU busy all
the time and the other idle a fifth of it. The busy one runs the sender and, in the softirqs its transmits raise,
the whole path: TCP's software segmentation (\`skb_segment\`), the veth's copy of each segment
(\`skb_pp_cow_data\`, then freeing the original), the program, GRO, the bridge, NAT, the uplink and, as the lab's
upstream is a namespace on the same machine, the receiver's TCP; the other CPU copies the data to the receiving
iperf3. Threaded NAPI on veth_1a, which lets the scheduler move the copy, program, GRO and forwarding to the other
CPU, measured in the same rounds 5.3–6.3 Gbit/s against 6.3–7.9 for GRO alone (the wake-ups cost more than the
spare CPU gives). On such a machine the no-XDP path, which hands one 64 kB super-packet to every step, gains far more
than the per-segment one: native is then 0.3× of no XDP and 2.8× the recipe's native mode, where a busier machine
gave 0.6–0.9× and 2.0–2.6×.

What the CPU budget allows, from /proc/stat over 4 s iperf3 runs in the same rounds (2026-12-02, load 0.4–0.8): no XDP
took 0.088–0.098 CPU-seconds per Gbit (16.4–20.3 Gbit/s, both CPUs 0.76–1.0 busy), native with GRO 0.225–0.268
(5.2–6.3 Gbit/s, 1.4–1.5 CPUs busy) and the recipe's native mode 0.54–0.58 (2.3–2.4 Gbit/s). Native needs about 2.5×
the CPU of the no-XDP path per byte, so even both CPUs busy all the time at that cost give 2 / 0.235 = 8.5 Gbit/s,
0.43× of a no-XDP path at 19.5 Gbit/s, and only a perfectly parallel path gets there. The idle part is on the
receiver's CPU while the sender's CPU runs the per-segment work inline, and both ways to hand that work over cost more
than they free: threaded NAPI with the qdisc above (0.30–0.33 CPU-seconds per Gbit, 5.0–5.6 Gbit/s) and RPS on
veth_1a (0.23–0.25, 5.8–6.4 Gbit/s, the same as GRO alone). On this two-core machine the 0.40× goal is met only when
load from elsewhere slows the no-XDP path more than the native one (0.64× at 19:25 on 2026-12-01, where generic fell
to 0.84×).

### Generic mode: what else was tried

Generic XDP copies too: \`netif_receive_generic_xdp\` reallocates and linearises every skb that is cloned,
non-linear or has less than 256 bytes of headroom, and a TCP super-packet is all three, so a larger headroom on veth_1b
would not avoid it either; the recipe's generic mode pays it alike. Measured in pairs like the table above, the
setting against generic alone:

| setting, generic xdp_stats.c on veth_1a | pairs | ratio to generic alone, median (range) | median Gbit/s (generic alone) | kept |
| --- | --- | --- | --- | --- |
| \`gso_max_size\` 60000 on veth_1b (aimed at a linearised copy that fits in 64 kB) | 16 | 0.92 (0.64–1.15) | 5.25 (5.71) | no |
| \`gso_max_size\` 32000 on veth_1b | 16 | 0.55 (0.49–0.85) | 3.78 (6.59) | no: throughput follows the super-packet size, the cost is per packet |
| \`gso_max_size\` 16000 on veth_1b | 16 | 0.29 (0.20–0.61) | 1.84 (6.77) | no |
| GRO on veth_1a | 12 | 1.01 (0.86–1.24) | 7.19 (6.88) | no |
| RPS on veth_1a, all CPUs | 12 | 0.99 (0.79–1.13) | 6.37 (6.63) | no |

Not applicable or not available here: BIG TCP for IPv4 (\`gro_ipv4_max_size\`, \`gso_ipv4_max_size\`) needs
iproute2 ≥ 6.3, Debian 12 ships 6.1; more veth queues (\`numrxqueues\`, \`ethtool -L\`) spread several flows over
NAPI instances, one TCP stream stays on one; an \`xdp.frags\` program with a larger MTU only helps flows that stay
local (the upstream's MSS follows the uplink's 1,500-byte MTU, and TSO stays off on the peer); a bridge has no NAPI
and never runs GRO, and the uplink is the host's own interface, which egress-xdp does not touch;
\`rx-udp-gro-forwarding\` concerns UDP only and busy polling the receiving socket, not this path; RFS steers a flow
to the CPU of the socket that reads it, and forwarded traffic has none on the host (its table,
\`net.core.rps_sock_flow_entries\`, exists only in the root namespace).`;
}
