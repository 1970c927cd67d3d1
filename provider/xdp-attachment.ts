// XdpAttachment: one program of a BPF object file attached to an interface with iproute2
// (`ip link set dev IF xdpdrv|xdpgeneric obj FILE sec SEC`), optionally with maps of the program
// filled from `maps` (provider/map-fill.ts; the drop-list's prefixes are such fills, IPv4 ones into
// drop_prefixes and IPv6 ones into drop_prefixes6: each map then holds exactly those entries, refresh
// shows entries added or removed by hand, and an empty list empties it). There is no ownership mark on
// an XDP program: the program id recorded at
// attach time is what makes a program ours, and an attach note (see below) recognises the program an
// interrupted create attached before its id was recorded.
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import {
    MapEntry, MapInfo, attachModes, hexArgs, kernelObjectName, parseMapDump,
    parseMapInfo, parseProgInfo, readBpfObject, resolveSection, xdpAttachArgv, xdpDetachArgv,
} from "./bpf";
import { pinnedMapsDir } from "./bpf-pin-dir";
import { DynamicResource } from "./dynamic";
import { readLink } from "./link";
import { requireNetns } from "./netns";
import { NoteKey, readNote, removeNote, writeNote } from "./notes";
import { buildInputs, cachedObjectPath, ensureObject, objectKey } from "./object-cache";
import {
    OffloadChange, OffloadState, ProgramView, effectiveOffloads, manageOffloads, offloadsDrifted, programViewOf, readFeatures,
    restoreOffloads,
} from "./offload";
import { qualifiedId } from "./owner";
import { MapFill, checkMapFills, encodeEntry, layoutsOf, observedFill } from "./map-fill";
import { LinkState, XdpState } from "./parse";
import { ResourceOutputs, describeProperties } from "./properties";
import { RunContext, run } from "./runner";
import {
    AttachMode, CheckFailure, XdpMode, booleanProblem, ifindexProblem, interfaceNameProblem, isUnknown,
    netnsNameProblem, xdpModeProblem,
} from "./validate";

export interface XdpAttachmentArgs {
    /** The interface to attach to, e.g. the recipe's veth_1a (it receives the namespace's egress). */
    interface: pulumi.Input<string>;
    /** The namespace the interface lives in; default: the one `pulumi` runs in. */
    netns?: pulumi.Input<string>;
    /**
     * The ifindex of `interface` (e.g. a VethPair's ifindex): a re-created interface has lost its
     * program, and the new ifindex makes the engine attach it again in the same `up`.
     */
    interfaceIndex?: pulumi.Input<number>;
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
    /**
     * Maps of the program filled with exactly these entries (see MapFill); a change updates the maps
     * in place, without re-attaching, and refresh shows entries someone else changed.
     */
    maps?: pulumi.Input<pulumi.Input<MapFill>[]>;
    /** Replace a program that is already attached instead of failing. */
    adopt?: pulumi.Input<boolean>;
    /**
     * A directory in a mounted bpffs (a BpfPinDir's path) where the program's maps declared with
     * LIBBPF_PIN_BY_NAME are pinned, or found and reused: they survive a swap and are shared with
     * other programs attached with the same directory. Without it nothing is pinned.
     */
    pinDir?: pulumi.Input<string>;
}

export interface XdpAttachmentInputs {
    interface: string;
    netns?: string;
    interfaceIndex?: number;
    objectPath?: string;
    source?: string;
    section: string;
    program?: string;
    mode: XdpMode;
    /** sha256 of the object file (of a source: its object-cache key), computed by check, so a new object re-attaches. */
    objectHash: string;
    maps?: MapFill[];
    adopt?: boolean;
    pinDir?: string;
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
    /** The program's maps pinned in pinDir: map name -> pin path (for bpftool map ... pinned PATH). */
    pinnedMaps: Record<string, string>;
}

const sectionNameProblem = (name: unknown): string | undefined =>
    typeof name === "string" && /^[A-Za-z0-9_.\/-]{1,64}$/.test(name)
        ? undefined : `"${String(name)}" is not an ELF section name like "xdp"`;

const identifierProblem = (name: unknown): string | undefined =>
    typeof name === "string" && /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)
        ? undefined : `"${String(name)}" is not a C identifier`;

const pathProblem = (value: unknown): string | undefined =>
    typeof value === "string" && value.length > 0 ? undefined : "must be the path of a file";

const pinDirProblem = (dir: unknown): string | undefined => typeof dir === "string" && dir.startsWith("/")
    ? undefined : "must be an absolute directory in a mounted bpffs (a BpfPinDir's path)";

// objectHash (computed by check) and section (resolved by check from `program`) make a new object or
// program re-attach, and so does a new pinDir; `maps` only refills the maps. foreignProgram, recorded by
// read, makes up attach ours again.
export const xdpAttachmentProperties = describeProperties<XdpAttachmentInputs, XdpAttachmentOutputs>({
    interface: { change: "replace", check: interfaceNameProblem, required: true },
    netns: { change: "replace", check: netnsNameProblem },
    interfaceIndex: { change: "update", check: ifindexProblem },
    objectPath: { change: "update", check: pathProblem },
    source: { change: "update", check: pathProblem },
    section: { change: "update", check: sectionNameProblem },
    program: { change: "update", check: identifierProblem },
    mode: { change: "update", check: xdpModeProblem, default: "auto" },
    adopt: { check: booleanProblem },
    pinDir: { change: "update", check: pinDirProblem },
    objectHash: { change: "update" },
    maps: { change: "update" }, // checked by checkMapFills: its problems are named maps[i].key and so on
    owner: {},
    progId: { output: true },
    tag: { output: true },
    progName: { output: true },
    effectiveMode: { output: true },
    foreignProgram: { output: true, change: "update" },
    mapIds: { output: true },
    pinnedMaps: { output: true },
    programView: { output: true },
    offloads: { output: true }, // drift in them is found by offloadsDrifted
    offloadChanges: { output: true },
}, { deleteBeforeReplace: true });

/** The object file of the inputs: `objectPath`, or where the object cache keeps the build of `source`. */
function objectFileOf(inputs: { objectPath?: string; source?: string }): string {
    return inputs.source === undefined ? inputs.objectPath! : cachedObjectPath(objectKey(buildInputs(inputs.source)));
}

/** Hashes the object and checks it holds the wanted program and maps; returns the hash and the section to attach. */
function inspectObject(failures: CheckFailure[], news: Record<string, unknown>, fills: MapFill[] | undefined):
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
    for (const [i, fill] of (Array.isArray(fills) ? fills : []).entries()) {
        // An empty fill asks nothing of a program without its map (the drop-list's is always set).
        if (isUnknown(fill) || info.maps.includes(fill.map) || fill.entries.length === 0) continue;
        failures.push({ property: `maps[${i}]`, reason: `${objectPath} has no map ${fill.map}; its maps: ${info.maps.join(", ") || "none"}` });
    }
    return "section" in resolved ? { objectHash, section: resolved.section } : { objectHash };
}

/** The properties' checks, one of objectPath and source, section or program, the map fills, and the object itself. */
export function checkXdpAttachment(news: Record<string, unknown>): { inputs: XdpAttachmentInputs; failures: CheckFailure[] } {
    const { inputs, failures } = xdpAttachmentProperties.check(news);
    if ((news.objectPath === undefined) === (news.source === undefined)) {
        failures.push({ property: "objectPath", reason: "give either objectPath (a BPF object) or source (a C file)" });
    }
    if ((news.section ?? news.program) === undefined) {
        failures.push({ property: "section", reason: "section or program is required" });
    }
    const { fills, problems } = checkMapFills(news.maps);
    failures.push(...problems);
    const object = inspectObject(failures, news, fills);
    return { inputs: { ...inputs, maps: fills, ...object }, failures };
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
            replace: currentMode === mode, bpffsDir, pinned: inputs.pinDir !== undefined,
        });
        // With "auto" on a free interface, a native failure falls through to generic; the last failure throws.
        const options = { allowFailure: i < modes.length - 1 };
        const result = inputs.pinDir !== undefined ? await run(ctx, argv(inputs.pinDir), options)
            : await withThrowawayBpffs((dir) => run(ctx, argv(dir), options));
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

/**
 * The program's map a fill is for, with the sizes its layouts need (hash, LPM-trie and array maps);
 * none when the program has no such map and the fill no entries.
 */
function fillMapOf(ctx: RunContext, fill: MapFill, maps: MapInfo[]): MapInfo | undefined {
    const map = maps.find((m) => m.name === kernelObjectName(fill.map));
    if (!map && fill.entries.length === 0) return undefined;
    const layouts = layoutsOf(fill);
    const listing = maps.map((m) => `${m.name} (${m.type}, key ${m.keySize} B, value ${m.valueSize} B)`).join(", ") || "none";
    if (!map || !["hash", "lru_hash", "lpm_trie", "array"].includes(map.type) || map.keySize !== layouts.key.size ||
        (layouts.value && map.valueSize !== layouts.value.size)) {
        throw new Error(`${ctx.resource}: the attached program has no hash, LPM-trie or array map ${fill.map} with a ` +
            `${layouts.key.size}-byte key${layouts.value ? ` and a ${layouts.value.size}-byte value` : ""} (its maps: ${listing}); ` +
            "fix the map's name or layouts in `maps`");
    }
    return map;
}

/** A fill's entries as the map holds them; an array map's entries are the slots with a value other than zero. */
async function readFill(ctx: RunContext, fill: MapFill, map: MapInfo): Promise<{ fill: MapFill; entries: MapEntry[] }> {
    const entries = (await dumpMap(ctx, map.id)).filter((e) => map.type !== "array" || e.values.some((v) => v.some((b) => b !== 0)));
    return { fill: observedFill(fill, entries), entries };
}

/** Makes each map hold exactly its fill's entries; without a value layout, entries that stay keep their values. */
async function applyFills(ctx: RunContext, fills: MapFill[], maps: MapInfo[]): Promise<void> {
    for (const fill of fills) {
        const map = fillMapOf(ctx, fill, maps);
        if (!map) continue;
        const layouts = layoutsOf(fill);
        const { entries: present } = await readFill(ctx, fill, map);
        const wanted = new Map(fill.entries.map((e) => {
            const key = encodeEntry(layouts.key, e.key) as Buffer;
            return [key.toString("hex"), { key, value: layouts.value && encodeEntry(layouts.value, e.value) as Buffer }];
        }));
        const mapId = String(map.id);
        const write = (key: Buffer, value: Buffer) =>
            run(ctx, ["bpftool", "map", "update", "id", mapId, "key", "hex", ...hexArgs(key), "value", "hex", ...hexArgs(value)]);
        for (const entry of present.filter((e) => !wanted.has(e.key.toString("hex")))) {
            // Array slots cannot be deleted: zero is their "no entry".
            if (map.type === "array") await write(entry.key, Buffer.alloc(map.valueSize));
            else await run(ctx, ["bpftool", "map", "delete", "id", mapId, "key", "hex", ...hexArgs(entry.key)]);
        }
        for (const [hex, entry] of wanted) {
            const current = present.find((e) => e.key.toString("hex") === hex);
            if (!current) await write(entry.key, entry.value ?? Buffer.alloc(map.valueSize));
            else if (entry.value && !current.values[0].equals(entry.value)) await write(entry.key, entry.value);
        }
    }
}

/** The pins in pinDir of the program's maps (pins are named by the map's full name, the kernel keeps 15 characters). */
function pinnedMapsOf(pinDir: string | undefined, maps: MapInfo[]): Record<string, string> {
    const dir = pinDir === undefined ? undefined : pinnedMapsDir(pinDir);
    if (!dir || !fs.existsSync(dir)) return {};
    const names = new Set(maps.map((m) => m.name));
    return Object.fromEntries(fs.readdirSync(dir).filter((pin) => names.has(kernelObjectName(pin))).sort()
        .map((pin): [string, string] => [pin, path.join(dir, pin)]));
}

/** The outputs for our program as the kernel reports it. */
async function observe(ctx: RunContext, inputs: XdpAttachmentInputs, xdp: XdpState, offload: OffloadState,
    maps: MapInfo[]): Promise<XdpAttachmentOutputs> {
    return {
        ...inputs, progId: xdp.progId, tag: xdp.tag, progName: xdp.name, effectiveMode: xdp.mode,
        programView: programViewOf(xdp.mode), ...offload,
        mapIds: Object.fromEntries(maps.map((m): [string, number] => [m.name, m.id]).sort()),
        pinnedMaps: pinnedMapsOf(inputs.pinDir, maps),
        maps: inputs.maps && await Promise.all(inputs.maps.map(async (fill) => {
            const map = fillMapOf(ctx, fill, maps);
            return map ? (await readFill(ctx, fill, map)).fill : fill;
        })),
    };
}

/**
 * After an attach: read the program back, bring the offloads to what its mode wants (recording the
 * changes in the attach note first), fill its maps, return the outputs.
 */
async function settle(ctx: RunContext, inputs: XdpAttachmentInputs, recorded: OffloadChange[]): Promise<XdpAttachmentOutputs> {
    const xdp = (await requireLink(ctx, inputs.interface)).xdp;
    if (!xdp) {
        throw new Error(`${ctx.resource}: ip reported success but no XDP program is attached to ${inputs.interface}; ` +
            "run `pulumi up` again");
    }
    const offload = await manageOffloads(ctx, inputs.interface, xdp.mode, recorded,
        (offloadChanges) => writeNote(attachNote(inputs), { owner: inputs.owner, progId: xdp.progId, offloadChanges }));
    const maps = await programMaps(ctx, xdp.progId);
    if (inputs.maps) await applyFills(ctx, inputs.maps, maps);
    return observe(ctx, inputs, xdp, offload, maps);
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
        progName: xdp.name, effectiveMode: xdp.mode, mapIds: {}, pinnedMaps: {}, maps: undefined,
        programView: programViewOf(xdp.mode), ...offload,
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
            id, props: xdp.progId === props.progId
                ? await observe(ctx, props, xdp, offload, await programMaps(ctx, xdp.progId)) : foreignOutputs(props, xdp, offload),
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
        const reattach = xdpAttachmentProperties.changed(olds, news, ["objectHash", "section", "mode", "pinDir", "foreignProgram"]);
        if (!current || reattach.length > 0) {
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
