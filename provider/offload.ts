// The offload features XdpAttachment manages on its interface while a native program runs there.
// A native program on a veth makes the kernel turn segmentation offload off on the peer
// (drivers/net/veth.c, veth_fix_features), so a TCP sender's segments arrive one by one, each copied
// for the program (veth_convert_skb_to_xdp_buff). GRO on the receiving veth re-aggregates them *after*
// the program, which still sees one wire-size frame per call, so the bridge, NAT and uplink handle one
// super-packet per ~64 kB again. Since kernel 6.9 an XDP attach no longer turns GRO on by itself.
// What else was tried and did not pay is in docs/BENCHMARKS.md.
// Pure parsing and planning first; the ethtool calls (through the runner) at the end.
import { RunContext, run } from "./runner";

/** One feature as `ethtool --json -k` reports it. */
export interface FeatureState {
    active: boolean;
    requested: boolean;
    fixed: boolean;
}

/** Features by their `ethtool -k` name, e.g. "generic-receive-offload". */
export type Features = Record<string, FeatureState>;

/** One feature this resource changed: the requested value it found, and the one it set. */
export interface OffloadChange {
    feature: string;
    found: boolean;
    set: boolean;
}

/** What native mode wants on the interface: GRO (measured: the one setting that pays on this path). */
export const nativeOffloads: Readonly<Record<string, boolean>> = { "generic-receive-offload": true };

/** What the program is called with. */
export type ProgramView = "wire frames" | "super-packets";

/**
 * Native mode runs the program on each frame as the wire would carry it (at most one MTU); generic
 * mode runs it on the socket buffer, a GSO super-packet of up to 64 kB from a local TCP sender.
 */
export function programViewOf(mode: string): ProgramView {
    return mode === "generic" ? "super-packets" : "wire frames";
}

/** Parses `ethtool --json -k DEV`: one object per device, features with active/fixed/requested. */
export function parseEthtoolFeatures(json: string): Features {
    const devices = JSON.parse(json) as Record<string, unknown>[];
    const features: Features = {};
    for (const [name, value] of Object.entries(devices[0] ?? {})) {
        if (typeof value !== "object" || value === null) continue;
        const { active, requested, fixed } = value as Record<string, unknown>;
        // Group headings ("tx-checksumming") carry null for fixed and requested; they are not settable.
        features[name] = { active: active === true, requested: requested === true, fixed: fixed !== false };
    }
    return features;
}

/** A feature as ethtool prints it: "on", "off", "off [fixed]"; "absent" when the device lacks it. */
export function describeFeature(feature: FeatureState | undefined): string {
    if (!feature) return "absent";
    return `${feature.active ? "on" : "off"}${feature.fixed ? " [fixed]" : ""}`;
}

/** The effective state of the managed features, for the outputs and the status view. */
export function effectiveOffloads(features: Features, names: string[] = Object.keys(nativeOffloads)): Record<string, string> {
    return Object.fromEntries(names.map((name) => [name, describeFeature(features[name])]));
}

/**
 * Whether recorded effective offloads differ from what the mode wants (drift a refresh found): a
 * fixed or absent feature cannot be changed, so it never counts.
 */
export function offloadsDrifted(mode: string, offloads: Record<string, string> | undefined): boolean {
    if (mode !== "native") return false;
    if (!offloads) return true;
    return Object.entries(nativeOffloads).some(([name, wanted]) => {
        const state = offloads[name];
        return state !== undefined && (state === "on" || state === "off") && state !== (wanted ? "on" : "off");
    });
}

/**
 * The settings that bring `features` to `wanted`, and the record of changes afterwards. A feature
 * already active as wanted is left alone and not recorded (nothing to restore); one recorded before
 * keeps what was first found; a fixed or absent one cannot be changed and is skipped.
 */
export function planOffloads(wanted: Readonly<Record<string, boolean>>, features: Features, recorded: OffloadChange[]):
    { settings: [string, boolean][]; changes: OffloadChange[] } {
    const settings: [string, boolean][] = [];
    const changes = [...recorded];
    for (const [name, value] of Object.entries(wanted)) {
        const feature = features[name];
        if (!feature || feature.active === value || feature.fixed) continue;
        settings.push([name, value]);
        if (!changes.some((c) => c.feature === name)) changes.push({ feature: name, found: feature.requested, set: value });
    }
    return { settings, changes };
}

/** The settings that put every recorded feature back to what was found; those already so are left alone. */
export function planRestore(recorded: OffloadChange[], features: Features): [string, boolean][] {
    return recorded
        .filter((c) => features[c.feature] && !features[c.feature].fixed && features[c.feature].requested !== c.found)
        .map((c): [string, boolean] => [c.feature, c.found]);
}

export function ethtoolFeaturesArgv(dev: string): string[] {
    return ["ethtool", "--json", "-k", dev];
}

export function ethtoolSetArgv(dev: string, settings: [string, boolean][]): string[] {
    return ["ethtool", "-K", dev, ...settings.flatMap(([name, on]) => [name, on ? "on" : "off"])];
}

// Against the kernel.

export async function readFeatures(ctx: RunContext, dev: string): Promise<Features> {
    return parseEthtoolFeatures((await run(ctx, ethtoolFeaturesArgv(dev))).stdout);
}

async function applySettings(ctx: RunContext, dev: string, settings: [string, boolean][], features: Features): Promise<Features> {
    if (settings.length === 0) return features;
    await run(ctx, ethtoolSetArgv(dev, settings));
    return readFeatures(ctx, dev);
}

/** The managed offload state of an interface: what it is now, and what this resource changed. */
export interface OffloadState {
    offloads: Record<string, string>;
    offloadChanges: OffloadChange[];
}

/**
 * Brings the interface's offloads to what `mode` wants: native mode's settings on, generic mode's
 * recorded changes undone. `record` is called with the changes before any is made, so an interrupted
 * run leaves a record the next one restores from.
 */
export async function manageOffloads(
    ctx: RunContext, dev: string, mode: string, recorded: OffloadChange[], record: (changes: OffloadChange[]) => void,
): Promise<OffloadState> {
    const features = await readFeatures(ctx, dev);
    if (mode === "native") {
        const plan = planOffloads(nativeOffloads, features, recorded);
        record(plan.changes);
        return { offloads: effectiveOffloads(await applySettings(ctx, dev, plan.settings, features)), offloadChanges: plan.changes };
    }
    const after = await applySettings(ctx, dev, planRestore(recorded, features), features);
    record([]);
    return { offloads: effectiveOffloads(after), offloadChanges: [] };
}

/** Puts back what this resource changed (on delete). */
export async function restoreOffloads(ctx: RunContext, dev: string, recorded: OffloadChange[]): Promise<void> {
    if (recorded.length === 0) return;
    const settings = planRestore(recorded, await readFeatures(ctx, dev));
    if (settings.length > 0) await run(ctx, ethtoolSetArgv(dev, settings));
}
