// Link operations shared by Bridge, Tap and VethPair: read one link, claim a name, apply settings,
// delete what we own. Ownership is marked in the link's ifalias, so a device left by an interrupted
// run of the same resource is recognised as ours, and a foreign device with our name is refused. A
// new link carries no mark until the alias is written; a creation note (provider/notes.ts) covers
// that moment (see addOwnedLinks).
import { netnsExists } from "./netns";
import { NoteKey, readNote, removeNote, writeNote } from "./notes";
import { ownerMark } from "./owner";
import { LinkState, linkKindOf, parseLinks } from "./parse";
import { Properties } from "./properties";
import { RunContext, run } from "./runner";
import { booleanProblem, familyOf, interfaceNameProblem, mtuProblem, netnsNameProblem } from "./validate";

/** The inputs every link resource has (Bridge, Tap, and a VethPair's `name` end). */
export interface LinkInputs {
    name: string;
    netns?: string;
    mtu?: number;
    up: boolean;
    adopt?: boolean;
    owner: string;
}

export interface LinkOutputs extends LinkInputs {
    mtu: number;
    ifindex: number;
    mac: string;
}

/**
 * The properties every link resource has but `mac` (an input of some, an output of all, declared by
 * each resource); a new name or namespace is a new link.
 */
export const linkProperties: Properties<LinkInputs, Omit<LinkOutputs, "mac">> = {
    name: { change: "replace", check: interfaceNameProblem, required: true },
    netns: { change: "replace", check: netnsNameProblem },
    mtu: { change: "update", check: mtuProblem, observed: true },
    up: { change: "update", check: booleanProblem, default: true },
    adopt: { check: booleanProblem },
    owner: {},
    ifindex: { output: true },
};

/** Reads one link with its addresses and XDP state; undefined when it (or its namespace) is gone. */
export async function readLink(ctx: RunContext, name: string): Promise<LinkState | undefined> {
    if (!netnsExists(ctx.netns)) return undefined;
    const result = await run(ctx, ["ip", "-json", "-details", "addr", "show", "dev", name], { allowFailure: true });
    if (result.exitCode !== 0) {
        if (/does not exist|Cannot find device/.test(result.stderr)) return undefined;
        await run(ctx, ["ip", "-json", "-details", "addr", "show", "dev", name]); // throws with the real error
    }
    return parseLinks(result.stdout)[0];
}

const creationNote = (ctx: RunContext, name: string): NoteKey => ({ kind: "link", netns: ctx.netns, name });

/** Whether `owner` added the link `name` in a create that was killed before it could mark the link. */
export function addedByKilledCreate(ctx: RunContext, name: string, owner: string): boolean {
    return readNote(creationNote(ctx, name))?.owner === owner;
}

/**
 * Decides what create does with a name: "create" when it is free, "adopt" when the link there is
 * ours (marked by an earlier, interrupted run, or unmarked with our creation note: that run was killed
 * right after adding it) or the user asked to adopt; otherwise it throws and leaves the existing link alone.
 */
export async function claimLinkName(ctx: RunContext, name: string, owner: string, adopt: boolean | undefined):
    Promise<"create" | "adopt"> {
    const existing = await readLink(ctx, name);
    if (!existing) return "create";
    if (adopt || existing.alias === ownerMark(owner)) return "adopt";
    if (!existing.alias && addedByKilledCreate(ctx, name, owner)) return "adopt";
    throw new Error(`${ctx.resource}: a link named ${name} already exists${ctx.netns ? ` in netns ${ctx.netns}` : ""}` +
        ` (${existing.kind || "device"}, ifindex ${existing.ifindex}) and was not created by this resource; ` +
        "it was left untouched. Pick another name, remove it yourself, or set `adopt: true` to manage it.");
}

/**
 * claimLinkName for a resource that manages one kind of link (see linkKindOf): a same-name link of
 * another kind is refused even with `adopt: true`, and left untouched.
 */
export async function claimLinkNameOfKind(
    ctx: RunContext, name: string, kind: string, owner: string, adopt: boolean | undefined,
): Promise<"create" | "adopt"> {
    const existing = await readLink(ctx, name);
    if (existing && linkKindOf(existing) !== kind) {
        throw new Error(`${ctx.resource}: a link named ${name} already exists${ctx.netns ? ` in netns ${ctx.netns}` : ""}` +
            ` but it is a ${linkKindOf(existing) || "plain device"}, not a ${kind}; it was left untouched, and ` +
            "`adopt` cannot take it over. Pick another name or remove that link yourself.");
    }
    return claimLinkName(ctx, name, owner, adopt);
}

export interface LinkSettings {
    mtu?: number;
    /** The link's MAC address. Undefined leaves it alone. */
    mac?: string;
    up?: boolean;
    /** The bridge to join; null leaves any bridge. Undefined leaves membership alone. */
    master?: string | null;
    /** The exact set of IPv4 and IPv6 addresses (link-local aside) the link should carry. Undefined leaves addresses alone. */
    addresses?: string[];
}

/** Brings a link to the wanted settings, running only the commands whose setting differs. */
export async function applyLinkSettings(ctx: RunContext, name: string, want: LinkSettings, have: LinkState): Promise<void> {
    if (want.mtu !== undefined && want.mtu !== have.mtu) {
        await run(ctx, ["ip", "link", "set", "dev", name, "mtu", String(want.mtu)]);
    }
    if (want.mac !== undefined && want.mac !== have.mac) {
        await run(ctx, ["ip", "link", "set", "dev", name, "address", want.mac]);
    }
    if (want.master !== undefined && (want.master ?? undefined) !== have.master) {
        await run(ctx, want.master === null
            ? ["ip", "link", "set", "dev", name, "nomaster"]
            : ["ip", "link", "set", "dev", name, "master", want.master]);
    }
    if (want.addresses !== undefined) {
        for (const cidr of have.addresses.filter((a) => !want.addresses!.includes(a))) {
            await run(ctx, ["ip", "addr", "del", cidr, "dev", name]);
        }
        for (const cidr of want.addresses.filter((a) => !have.addresses.includes(a))) {
            // nodad: an IPv6 address would stay tentative (unusable) for a second or more while duplicate
            // address detection runs; the subnet is the topology's own, so traffic flows at once.
            await run(ctx, ["ip", "addr", "add", cidr, "dev", name, ...(familyOf(cidr) === 6 ? ["nodad"] : [])]);
        }
    }
    if (want.up !== undefined && want.up !== have.up) {
        await run(ctx, ["ip", "link", "set", "dev", name, want.up ? "up" : "down"]);
    }
}

/** Marks a link as ours, so an interrupted run's leftovers are recognised and others' are not. */
export async function markLink(ctx: RunContext, name: string, owner: string): Promise<void> {
    await run(ctx, ["ip", "link", "set", "dev", name, "alias", ownerMark(owner)]);
    removeNote(creationNote(ctx, name));
}

/**
 * Adds links with `add` (one command, e.g. a veth pair's two ends) and marks them ours. From before
 * the add until the marks are written a creation note names the owner, so claimLinkName still knows
 * the links as ours when pulumi is killed in between. A failed add removes the notes: whatever holds
 * the names then is not ours.
 */
export async function addOwnedLinks(links: { ctx: RunContext; name: string }[], owner: string,
    add: () => Promise<unknown>): Promise<void> {
    for (const { ctx, name } of links) writeNote(creationNote(ctx, name), { owner });
    try {
        await add();
    } catch (error) {
        for (const { ctx, name } of links) removeNote(creationNote(ctx, name));
        throw error;
    }
    for (const { ctx, name } of links) await markLink(ctx, name, owner);
}

/** Reads a link that must exist (after create or update), failing with the resource's name. */
export async function readExistingLink(ctx: RunContext, name: string): Promise<LinkState> {
    const link = await readLink(ctx, name);
    if (!link) throw new Error(`${ctx.resource}: ${name} vanished right after it was configured; run \`pulumi up\` again`);
    return link;
}

/**
 * Deletes a link if it is still there and still ours; already gone is success, and a link that now
 * carries someone else's mark (or none) is left in place.
 */
export async function deleteOwnedLink(ctx: RunContext, name: string, owner: string): Promise<void> {
    const link = await readLink(ctx, name);
    if (!link || link.alias !== ownerMark(owner)) return;
    await run(ctx, ["ip", "link", "del", "dev", name]);
}
