// XdpAttachment: one program of a BPF object file attached to an interface with iproute2
// (`ip link set dev IF xdpdrv|xdpgeneric obj FILE sec SEC`), optionally with an IPv4 drop-list map
// filled from `prefixes`. There is no ownership mark on an XDP program: the program id recorded at
// attach time is what makes a program ours, and an attach note (see below) recognises the program an
// interrupted create attached before its id was recorded.
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import {
    MapEntry, MapInfo, attachModes, cidrOfLpmKey, hexArgs, kernelObjectName, lpmKey, parseMapDump,
    parseMapInfo, parseProgInfo, readBpfObject, resolveSection, xdpAttachArgv, xdpDetachArgv,
} from "./bpf";
import { DynamicResource } from "./dynamic";
import { readLink } from "./link";
import { requireNetns } from "./netns";
import { NoteKey, readNote, removeNote, writeNote } from "./notes";
import { cachedObjectPath, ensureObject, objectKey } from "./object-cache";
import {
    OffloadChange, OffloadState, ProgramView, effectiveOffloads, manageOffloads, offloadsDrifted, programViewOf, readFeatures,
    restoreOffloads,
} from "./offload";
import { qualifiedId } from "./owner";
import { LinkState, XdpState } from "./parse";
import { ResourceOutputs, describeProperties } from "./properties";
import { RunContext, run } from "./runner";
import {
    AttachMode, CheckFailure, XdpMode, booleanProblem, checkListProperty, checkProperty, interfaceNameProblem, isUnknown,
    netnsNameProblem, networkCidrProblem, sortedListInput, xdpModeProblem,
} from "./validate";

/** IPv4 destination prefixes to fill into an LPM trie map of the program, e.g. xdp_droplist's drop_prefixes. */
export interface PrefixList {
    map: string;
    prefixes: string[];
}

export interface XdpAttachmentArgs {
    /** The interface to attach to, e.g. the recipe's veth_1a (it receives the namespace's egress). */
    interface: pulumi.Input<string>;
    /** The namespace the interface lives in; default: the one `pulumi` runs in. */
    netns?: pulumi.Input<string>;
    /**
     * A prebuilt BPF object (see clangArgv in provider/bpf.ts); a relative path is relative to the
     * directory the program runs in (the engine starts the providers there). Give this or `source`.
     */
    objectPath?: pulumi.Input<string>;
    /**
     * A C source, built with clang into the object cache (provider/object-cache.ts) whenever its object
     * is missing there; a relative path is relative to the directory the program runs in.
     */
    source?: pulumi.Input<string>;
    /** The ELF section to attach, e.g. "xdp"; default: the section of `program`. */
    section?: pulumi.Input<string>;
    /** The program (C function) to attach; it must be alone in its section. */
    program?: pulumi.Input<string>;
    /** native (driver), generic (skb), or auto: native, falling back to generic. Default auto. */
    mode?: pulumi.Input<XdpMode>;
    /** Drop-list prefixes; changing them updates the map in place, without re-attaching. */
    prefixes?: pulumi.Input<{ map: pulumi.Input<string>; prefixes: pulumi.Input<pulumi.Input<string>[]> }>;
    /** Replace a program that is already attached instead of failing. */
    adopt?: pulumi.Input<boolean>;
}

export interface XdpAttachmentInputs {
    interface: string;
    netns?: string;
    objectPath?: string;
    source?: string;
    section: string;
    program?: string;
    mode: XdpMode;
    /** sha256 of the object file (of a source: its object-cache key), computed by check, so a new object re-attaches. */
    objectHash: string;
    prefixes?: PrefixList;
    adopt?: boolean;
    owner: string;
}

export interface XdpAttachmentOutputs extends XdpAttachmentInputs {
    progId: number;
    tag: string;
    progName: string;
    /** native or generic for our programs; a foreign program found by read may be in another mode. */
    effectiveMode: XdpState["mode"];
    /** Set by read when another program replaced ours: it is left alone, and the next up attaches ours again. */
    foreignProgram?: { progId: number; name: string };
    /** The program's maps by (kernel, 15-character) name. */
    mapIds: Record<string, number>;
    /** What the program is called with: wire frames (native) or GSO super-packets (generic). */
    programView: ProgramView;
    /** The interface's managed offload features as the kernel has them, e.g. generic-receive-offload: "on". */
    offloads: Record<string, string>;
    /** What this resource changed on the interface (provider/offload.ts); put back on delete and in generic mode. */
    offloadChanges: OffloadChange[];
}

const sectionNameProblem = (name: unknown): string | undefined =>
    typeof name === "string" && /^[A-Za-z0-9_.\/-]{1,64}$/.test(name)
        ? undefined : `"${String(name)}" is not an ELF section name like "xdp"`;

const identifierProblem = (name: unknown): string | undefined =>
    typeof name === "string" && /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)
        ? undefined : `"${String(name)}" is not a C identifier`;

const pathProblem = (value: unknown): string | undefined =>
    typeof value === "string" && value.length > 0 ? undefined : "must be the path of a file";

// objectHash (computed by check) and section (resolved by check from `program`) make a new object or
// program re-attach; `prefixes` only refills the map. foreignProgram, recorded by read, makes up attach ours again.
export const xdpAttachmentProperties = describeProperties<XdpAttachmentInputs, XdpAttachmentOutputs>({
    interface: { change: "replace", check: interfaceNameProblem, required: true },
    netns: { change: "replace", check: netnsNameProblem },
    objectPath: { change: "update", check: pathProblem },
    source: { change: "update", check: pathProblem },
    section: { change: "update", check: sectionNameProblem },
    program: { change: "update", check: identifierProblem },
    mode: { change: "update", check: xdpModeProblem, default: "auto" },
    adopt: { check: booleanProblem },
    objectHash: { change: "update" },
    prefixes: { change: "update" }, // checked by checkPrefixes: its problems are named prefixes.map and prefixes.prefixes[i]
    owner: {},
    progId: { output: true },
    tag: { output: true },
    progName: { output: true },
    effectiveMode: { output: true },
    foreignProgram: { output: true, change: "update" },
    mapIds: { output: true },
    programView: { output: true },
    offloads: { output: true }, // drift in them is found by offloadsDrifted
    offloadChanges: { output: true },
}, { deleteBeforeReplace: true });

/** The object file of the inputs: `objectPath`, or where the object cache keeps the build of `source`. */
function objectFileOf(inputs: { objectPath?: string; source?: string }): string {
    return inputs.source === undefined ? inputs.objectPath! : cachedObjectPath(objectKey(fs.readFileSync(inputs.source)));
}

function checkPrefixes(failures: CheckFailure[], value: unknown): PrefixList | undefined {
    if (value === undefined || value === null) return undefined;
    if (isUnknown(value)) return value as never; // diff counts it as a change
    if (typeof value !== "object") {
        failures.push({ property: "prefixes", reason: 'must be { map: "drop_prefixes", prefixes: ["192.0.2.0/24"] }' });
        return undefined;
    }
    const { map, prefixes } = value as Record<string, unknown>;
    checkProperty(failures, { "prefixes.map": map }, "prefixes.map", identifierProblem, true);
    checkListProperty(failures, { "prefixes.prefixes": prefixes }, "prefixes.prefixes", networkCidrProblem);
    return { map: map as string, prefixes: sortedListInput(Array.isArray(prefixes) ? [...new Set(prefixes)] : prefixes) };
}

/** Hashes the object and checks it holds the wanted program and map; returns the hash and the section to attach. */
function inspectObject(failures: CheckFailure[], news: Record<string, unknown>, prefixes: PrefixList | undefined):
    { objectHash?: string; section?: string } {
    const { section, program } = news;
    const given = news.source === undefined ? "objectPath" : "source";
    // An unknown path (preview) leaves the hash unknown too, so diff counts it as a change.
    if (isUnknown(news[given])) return { objectHash: news[given] as string };
    if (typeof news[given] !== "string") return {};
    let objectPath: string;
    let content: Buffer;
    try {
        objectPath = objectFileOf(news as { objectPath?: string; source?: string });
        content = fs.readFileSync(objectPath);
    } catch (error) {
        const reason = `cannot be read (${(error as Error).message})${given === "objectPath" ? "; build the object first" : ""}`;
        failures.push({ property: given, reason });
        return {};
    }
    // A source's object is named by its key (the source's hash); a rebuild in another directory
    // differs in its debug info only, and must not re-attach.
    const objectHash = given === "source" ? path.basename(objectPath, ".o")
        : crypto.createHash("sha256").update(content).digest("hex");
    const badName = failures.some((f) => f.property === "section" || f.property === "program");
    if (isUnknown(section) || isUnknown(program) || badName) return { objectHash };
    let info;
    try {
        info = readBpfObject(content);
    } catch (error) {
        failures.push({ property: "objectPath", reason: `${objectPath} ${(error as Error).message}` });
        return { objectHash };
    }
    const resolved = resolveSection(info, section as string | undefined, program as string | undefined);
    if ("problem" in resolved) {
        failures.push({ property: program === undefined ? "section" : "program", reason: `${objectPath} ${resolved.problem}` });
    }
    if (typeof prefixes?.map === "string" && !isUnknown(prefixes.map) && !info.maps.includes(prefixes.map)) {
        const reason = `${objectPath} has no map ${prefixes.map}; its maps: ${info.maps.join(", ") || "none"}`;
        failures.push({ property: "prefixes.map", reason });
    }
    return "section" in resolved ? { objectHash, section: resolved.section } : { objectHash };
}

/** The properties' checks, one of objectPath and source, section or program, the prefixes, and the object itself. */
export function checkXdpAttachment(news: Record<string, unknown>): { inputs: XdpAttachmentInputs; failures: CheckFailure[] } {
    const { inputs, failures } = xdpAttachmentProperties.check(news);
    if ((news.objectPath === undefined) === (news.source === undefined)) {
        failures.push({ property: "objectPath", reason: "give either objectPath (a BPF object) or source (a C file)" });
    }
    if ((news.section ?? news.program) === undefined) {
        failures.push({ property: "section", reason: "section or program is required" });
    }
    const prefixes = checkPrefixes(failures, news.prefixes);
    const object = inspectObject(failures, news, prefixes);
    return { inputs: { ...inputs, prefixes, ...object }, failures };
}

function context(inputs: { interface: string; netns?: string }): RunContext {
    return { resource: `XdpAttachment ${inputs.interface}`, netns: inputs.netns };
}

async function requireLink(ctx: RunContext, name: string): Promise<LinkState> {
    const link = await readLink(ctx, name);
    if (!link) {
        throw new Error(`${ctx.resource}: interface ${name} does not exist${ctx.netns ? ` in netns ${ctx.netns}` : ""}; ` +
            "create it first (e.g. with a VethPair) or fix `interface`");
    }
    return link;
}

function attachModeOf(ctx: RunContext, xdp: XdpState): AttachMode {
    if (xdp.mode === "native" || xdp.mode === "generic") return xdp.mode;
    throw new Error(`${ctx.resource}: program ${xdp.progId} (${xdp.name}) is attached in ${xdp.mode} mode, which this ` +
        "resource does not replace; detach it yourself (`ip link set dev IF xdp off`) and run `pulumi up` again");
}

/** Runs `action` with an empty directory for iproute2's throwaway bpffs (see xdpAttachArgv), removed afterwards. */
async function withThrowawayBpffs<T>(action: (dir: string) => Promise<T>): Promise<T> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "egress-xdp-bpffs-"));
    try {
        return await action(dir);
    } finally {
        fs.rmdirSync(dir);
    }
}

/**
 * Attaches the inputs' program, replacing `current` (ours or adopted) in one step when the mode stays
 * the same. An explicit mode change detaches first: the kernel never holds native and generic
 * programs at once, so that change has a short gap.
 */
async function attach(ctx: RunContext, inputs: XdpAttachmentInputs, current: XdpState | undefined): Promise<void> {
    const objectPath = inputs.source === undefined ? inputs.objectPath! : await ensureObject(ctx, inputs.source);
    const currentMode = current && attachModeOf(ctx, current);
    const modes = attachModes(inputs.mode, currentMode);
    for (const [i, mode] of modes.entries()) {
        if (currentMode && currentMode !== mode) await run(ctx, xdpDetachArgv(inputs.interface, currentMode));
        const argv = (bpffsDir: string) => xdpAttachArgv({
            dev: inputs.interface, mode, objectPath, section: inputs.section,
            replace: currentMode === mode, bpffsDir,
        });
        // With "auto" on a free interface, a native failure falls through to generic; the last failure throws.
        const result = await withThrowawayBpffs((dir) => run(ctx, argv(dir), { allowFailure: i < modes.length - 1 }));
        if (result.exitCode === 0) return;
    }
}

async function programMaps(ctx: RunContext, progId: number): Promise<MapInfo[]> {
    const prog = parseProgInfo((await run(ctx, ["bpftool", "-j", "prog", "show", "id", String(progId)])).stdout);
    const maps: MapInfo[] = [];
    for (const id of prog.mapIds) {
        maps.push(parseMapInfo((await run(ctx, ["bpftool", "-j", "map", "show", "id", String(id)])).stdout));
    }
    return maps;
}

/** Reads every entry of a map by id (ids are global, not per namespace); for counters see provider/bpf.ts. */
export async function dumpMap(ctx: RunContext, mapId: number): Promise<MapEntry[]> {
    return parseMapDump((await run(ctx, ["bpftool", "-j", "map", "dump", "id", String(mapId)])).stdout);
}

function prefixMapOf(ctx: RunContext, prefixes: PrefixList, maps: MapInfo[]): MapInfo {
    const map = maps.find((m) => m.name === kernelObjectName(prefixes.map));
    if (!map || map.type !== "lpm_trie" || map.keySize !== 8) {
        throw new Error(`${ctx.resource}: the attached program has no IPv4 LPM trie map named ${prefixes.map} ` +
            `(its maps: ${maps.map((m) => `${m.name} (${m.type})`).join(", ") || "none"}); fix \`prefixes.map\``);
    }
    return map;
}

async function readPrefixes(ctx: RunContext, map: MapInfo): Promise<string[]> {
    return (await dumpMap(ctx, map.id)).map((entry) => cidrOfLpmKey(entry.key)).sort();
}

/** Makes the map hold exactly the wanted prefixes; entries that stay keep their drop counters. */
async function applyPrefixes(ctx: RunContext, prefixes: PrefixList, maps: MapInfo[]): Promise<void> {
    const map = prefixMapOf(ctx, prefixes, maps);
    const present = await readPrefixes(ctx, map);
    const mapId = String(map.id);
    for (const cidr of present.filter((p) => !prefixes.prefixes.includes(p))) {
        await run(ctx, ["bpftool", "map", "delete", "id", mapId, "key", "hex", ...hexArgs(lpmKey(cidr))]);
    }
    const zeroCounter = ["value", "hex", ...hexArgs(Buffer.alloc(map.valueSize))];
    for (const cidr of prefixes.prefixes.filter((p) => !present.includes(p))) {
        await run(ctx, ["bpftool", "map", "update", "id", mapId, "key", "hex", ...hexArgs(lpmKey(cidr)), ...zeroCounter]);
    }
}

/** The outputs for our program as the kernel reports it. */
async function observe(ctx: RunContext, inputs: XdpAttachmentInputs, xdp: XdpState, offload: OffloadState):
    Promise<XdpAttachmentOutputs> {
    const maps = await programMaps(ctx, xdp.progId);
    return {
        ...inputs, progId: xdp.progId, tag: xdp.tag, progName: xdp.name, effectiveMode: xdp.mode,
        programView: programViewOf(xdp.mode), ...offload,
        mapIds: Object.fromEntries(maps.map((m): [string, number] => [m.name, m.id]).sort()),
        prefixes: inputs.prefixes && {
            map: inputs.prefixes.map, prefixes: await readPrefixes(ctx, prefixMapOf(ctx, inputs.prefixes, maps)),
        },
    };
}

/**
 * After an attach: read the program back, bring the offloads to what its mode wants (recording the
 * changes in the attach note first), fill its drop-list, return the outputs.
 */
async function settle(ctx: RunContext, inputs: XdpAttachmentInputs, recorded: OffloadChange[]): Promise<XdpAttachmentOutputs> {
    const xdp = (await requireLink(ctx, inputs.interface)).xdp;
    if (!xdp) {
        throw new Error(`${ctx.resource}: ip reported success but no XDP program is attached to ${inputs.interface}; ` +
            "run `pulumi up` again");
    }
    const offload = await manageOffloads(ctx, inputs.interface, xdp.mode, recorded,
        (offloadChanges) => writeNote(attachNote(inputs), { owner: inputs.owner, progId: xdp.progId, offloadChanges }));
    if (inputs.prefixes) await applyPrefixes(ctx, inputs.prefixes, await programMaps(ctx, xdp.progId));
    return observe(ctx, inputs, xdp, offload);
}

/** The offload state as it is now, with the changes recorded earlier; read and refresh change nothing. */
async function currentOffloads(ctx: RunContext, props: XdpAttachmentOutputs): Promise<OffloadState> {
    return { offloads: effectiveOffloads(await readFeatures(ctx, props.interface)), offloadChanges: props.offloadChanges ?? [] };
}

// What read records when another program replaced ours: its identity in foreignProgram, which no
// input has, so `pulumi refresh` shows the drift and the next `pulumi up` attaches ours again.
function foreignOutputs(props: XdpAttachmentOutputs, xdp: XdpState, offload: OffloadState): XdpAttachmentOutputs {
    return {
        ...props, foreignProgram: { progId: xdp.progId, name: xdp.name }, progId: xdp.progId, tag: xdp.tag,
        progName: xdp.name, effectiveMode: xdp.mode, mapIds: {}, prefixes: undefined, programView: programViewOf(xdp.mode),
        ...offload,
    };
}

// The attach note (provider/notes.ts) of an interface names the owner from before the attach, and
// the program id once known; delete removes it. A program found at create is this resource's own when
// the note names its owner and either no id (killed during the attach) or that program's id (killed
// before pulumi recorded it).
const attachNote = (inputs: { interface: string; netns?: string }): NoteKey =>
    ({ kind: "xdp", netns: inputs.netns, name: inputs.interface });

/** Whether `xdp` was attached by an interrupted create of this resource. */
function attachedByUs(inputs: XdpAttachmentInputs, xdp: XdpState): boolean {
    const note = readNote(attachNote(inputs));
    return note?.owner === inputs.owner && (note.progId === undefined || note.progId === xdp.progId);
}

export const xdpAttachmentProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: XdpAttachmentInputs, news: Record<string, unknown>) {
        // A source's object is built into the cache here when it is missing (a wiped cache, another
        // machine), so preview and up see the object its source makes.
        if (typeof news.source === "string" && !isUnknown(news.source) && fs.existsSync(news.source)) {
            try {
                await ensureObject({ resource: `XdpAttachment ${String(news.interface)}` }, news.source);
            } catch (error) {
                return { inputs: news, failures: [{ property: "source", reason: (error as Error).message }] };
            }
        }
        return checkXdpAttachment(news);
    },

    async diff(_id: string, olds: XdpAttachmentOutputs, news: XdpAttachmentInputs) {
        const outcome = xdpAttachmentProperties.diff(olds, news);
        // Offloads a refresh found changed behind our back: the update sets them again.
        return { ...outcome, changes: outcome.changes || offloadsDrifted(olds.effectiveMode, olds.offloads) };
    },

    async create(inputs: XdpAttachmentInputs) {
        const ctx = context(inputs);
        requireNetns(ctx.resource, "netns", inputs.netns);
        const current = (await requireLink(ctx, inputs.interface)).xdp;
        if (current && !inputs.adopt && !attachedByUs(inputs, current)) {
            throw new Error(`${ctx.resource}: ${inputs.interface} already has XDP program ${current.progId} ` +
                `(${current.name}, ${current.mode} mode) that this resource did not attach; it was left attached. Detach it ` +
                `(\`ip link set dev ${inputs.interface} xdp off\`) or set \`adopt: true\` to replace it with this program.`);
        }
        // Offload changes an interrupted run of ours recorded are still ours to put back.
        const note = readNote(attachNote(inputs));
        const recorded = note?.owner === inputs.owner ? note.offloadChanges ?? [] : [];
        writeNote(attachNote(inputs), { owner: inputs.owner, offloadChanges: recorded });
        await attach(ctx, inputs, current);
        const outs = await settle(ctx, inputs, recorded);
        return { id: qualifiedId(inputs.netns, inputs.interface), outs };
    },

    async read(id: string, props: XdpAttachmentOutputs) {
        const ctx = context(props);
        const xdp = (await readLink(ctx, props.interface))?.xdp;
        if (!xdp) return {};
        const offload = await currentOffloads(ctx, props);
        return {
            id, props: xdp.progId === props.progId ? await observe(ctx, props, xdp, offload) : foreignOutputs(props, xdp, offload),
        };
    },

    async update(_id: string, olds: XdpAttachmentOutputs, news: XdpAttachmentInputs) {
        const ctx = context(news);
        const current = (await requireLink(ctx, news.interface)).xdp;
        if (current && current.progId !== olds.progId) {
            throw new Error(`${ctx.resource}: the XDP program on ${news.interface} is now program ${current.progId} ` +
                `(${current.name}), not program ${olds.progId} that this resource attached; someone replaced it and it was ` +
                "left in place. Run `pulumi refresh` to record it (the next `pulumi up` then replaces it with this " +
                "resource's program), or detach it yourself.");
        }
        if (!current || xdpAttachmentProperties.changed(olds, news, ["objectHash", "section", "mode", "foreignProgram"]).length > 0) {
            await attach(ctx, news, current);
        }
        return { outs: await settle(ctx, news, olds.offloadChanges ?? []) };
    },

    async delete(_id: string, props: XdpAttachmentOutputs) {
        const ctx = context(props);
        // The note first: a delete killed after the detach would leave it behind, as the next refresh
        // finds no program and forgets this resource; one killed before the detach is retried by id.
        removeNote(attachNote(props));
        const link = await readLink(ctx, props.interface);
        if (!link) return;
        // What we changed is ours to put back, whoever's program is attached now; before the detach, so
        // a refresh after a delete killed in between (which forgets this resource) finds nothing left to undo.
        await restoreOffloads(ctx, props.interface, props.offloadChanges ?? []);
        // Only the program we attached; a foreign one recorded by refresh is not ours to remove.
        const xdp = link.xdp;
        if (!xdp || xdp.progId !== props.progId || props.foreignProgram) return;
        await run(ctx, xdpDetachArgv(props.interface, attachModeOf(ctx, xdp)));
    },
};

export interface XdpAttachment extends ResourceOutputs<XdpAttachmentOutputs> {}

/** An XDP program attached to an interface, e.g. bpf/xdp_stats.o on the recipe's veth_1a. */
export class XdpAttachment extends DynamicResource {
    constructor(name: string, args: XdpAttachmentArgs, opts?: pulumi.CustomResourceOptions) {
        super(name, xdpAttachmentProperties.resourceProps(name, args), opts, "XdpAttachment");
    }
}
