// BpfPinDir: a stack's own directory in a BPF filesystem (bpffs), where iproute2 pins the maps its XDP
// programs declare with `__uint(pinning, LIBBPF_PIN_BY_NAME)`: they then outlive a program swap,
// are shared by programs loaded one by one (egress and ingress), and any tool can open them
// (`bpftool map dump pinned DIR/tc/globals/MAP`). Where `root` is not a bpffs yet, create mounts one
// there. Every BpfPinDir on a root (instances of one stack, other stacks) is listed in the root's
// ledger with the mount and the directories egress-xdp made for them: delete removes the resource's
// own directory with every pin under it, and the last one out the directories and the mount, so the
// host is left as it was whatever order they go in. A mount note (written before the mount, removed
// after the unmount) lets a create killed in between know the mount as its own.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DynamicResource } from "./dynamic";
import { changeLedgerFile } from "./ledger";
import { NoteKey, readNote, removeNote, runStateDir, writeNote } from "./notes";
import { ResourceOutputs, describeProperties } from "./properties";
import { run } from "./runner";

export interface BpfPinDirArgs {
    /** Where the bpffs is (or is mounted), e.g. /sys/fs/bpf. */
    root: pulumi.Input<string>;
    /** The stack's directory below root, e.g. egress-xdp/<project>/<stack>. */
    subdir: pulumi.Input<string>;
}

export interface BpfPinDirInputs {
    root: string;
    subdir: string;
    owner: string;
}

export interface BpfPinDirOutputs extends BpfPinDirInputs {
    /** root/subdir: iproute2's TC_BPF_MNT, holding tc/globals/<map> once a program is attached. */
    path: string;
    /** Whether create mounted the bpffs on root (then delete unmounts it). */
    mounted: boolean;
    /** Directories create made, outermost first (delete removes them, innermost first). */
    createdDirs: string[];
}

/** The directory iproute2 pins maps in, below its TC_BPF_MNT. */
export function pinnedMapsDir(pinDir: string): string {
    return path.join(pinDir, "tc", "globals");
}

const absolutePathProblem = (value: unknown): string | undefined =>
    typeof value === "string" && path.isAbsolute(value) && path.normalize(value) === value && !value.includes("\0")
        ? undefined : `"${String(value)}" is not a normalized absolute path like /sys/fs/bpf`;

const subdirProblem = (value: unknown): string | undefined =>
    typeof value === "string" && /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(value) && !value.split("/").includes("..")
        ? undefined : `"${String(value)}" is not a relative path like egress-xdp/project/stack`;

export const bpfPinDirProperties = describeProperties<BpfPinDirInputs, BpfPinDirOutputs>({
    root: { change: "replace", check: absolutePathProblem, required: true },
    subdir: { change: "replace", check: subdirProblem, required: true },
    owner: {},
    path: { output: true },
    mounted: { output: true },
    createdDirs: { output: true },
}, { deleteBeforeReplace: true });

const bpffsMagic = 0xcafe4a11;

/** Whether `dir` is on a bpffs (its statfs type, which `stat -f` prints as bpf_fs). */
export function onBpffs(dir: string): boolean {
    try {
        return fs.statfsSync(dir).type === bpffsMagic;
    } catch {
        return false;
    }
}

/** The note of a bpffs mount on `root` (a file name: the path's slashes become underscores). */
const mountNote = (root: string): NoteKey => ({ kind: "bpffs", name: root.replace(/\//g, "_") });

/** The directories down to `target` that do not exist yet, outermost first. */
function missingDirs(target: string): string[] {
    const missing: string[] = [];
    for (let dir = target; !fs.existsSync(dir); dir = path.dirname(dir)) missing.unshift(dir);
    return missing;
}

/** What egress-xdp did on one bpffs root, for all the BpfPinDirs on it (in every stack). */
export interface BpffsLedger {
    /** egress-xdp mounted the bpffs (the last holder out unmounts it). */
    mounted: boolean;
    /** The directories egress-xdp made for the holders, outermost first (the last one out removes them). */
    dirs: string[];
    /** The owners of the BpfPinDirs on the root. */
    holders: string[];
}

/** What a holder leaves to clean up: the mount (if egress-xdp made it) and the directories. */
export type BpffsCleanup = Pick<BpffsLedger, "mounted" | "dirs">;

const union = (a: string[], b: string[]) => [...a, ...b.filter((item) => !a.includes(item))];

/** The ledger once `owner` holds the root; `made` is what its create mounted and made. */
export function claimBpffs(ledger: BpffsLedger | undefined, owner: string, made: BpffsCleanup): BpffsLedger {
    if (!ledger || ledger.holders.length === 0) return { ...made, holders: [owner] };
    return { mounted: ledger.mounted || made.mounted, dirs: union(ledger.dirs, made.dirs), holders: union(ledger.holders, [owner]) };
}

/**
 * The ledger once `owner` lets the root go, and what is then to clean up: nothing while others hold
 * it; everything the ledger lists when it was the last. Without a ledger that lists it (a state
 * from before ledgers, or /run emptied) the holder cleans up what its own create made, unless
 * others are listed.
 */
export function releaseBpffs(ledger: BpffsLedger | undefined, owner: string, own: BpffsCleanup):
    { ledger?: BpffsLedger; cleanup?: BpffsCleanup } {
    const others = (ledger?.holders ?? []).filter((holder) => holder !== owner);
    if (others.length > 0) return { ledger: { ...ledger!, holders: others } };
    return { cleanup: ledger?.holders.includes(owner) ? { mounted: ledger.mounted, dirs: ledger.dirs } : own };
}

/** The ledger file of a bpffs root (its path, escaped into one file name). */
const ledgerFile = (root: string) => path.join(runStateDir, "bpffs", `${encodeURIComponent(root)}.json`);

// Creates and deletes of the BpfPinDirs on one root in this process (an up makes all of a stack's in
// parallel) take turns: one must not find the root unmounted while another is mounting it.
const turns = new Map<string, Promise<unknown>>();
function inTurn<T>(root: string, step: () => Promise<T>): Promise<T> {
    const result = (turns.get(root) ?? Promise.resolve()).then(step);
    turns.set(root, result.catch(() => undefined));
    return result;
}

/** Removes the empty directories of `cleanup` below `root`, the mount egress-xdp made, then the rest. */
async function cleanUp(ctx: { resource: string }, root: string, cleanup: BpffsCleanup): Promise<void> {
    const removeEmpty = (dirs: string[]) => {
        for (const dir of [...dirs].reverse()) if (fs.existsSync(dir) && fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
    };
    const onMount = (dir: string) => dir.startsWith(`${root}/`);
    removeEmpty(cleanup.dirs.filter(onMount));
    if (cleanup.mounted && onBpffs(root)) {
        const others = fs.readdirSync(root).filter((entry) => !["progs.debug", "maps.debug"].includes(entry));
        if (others.length > 0) {
            pulumi.log.warn(`${ctx.resource}: ${root} now holds ${others.join(", ")} of others; its bpffs stays mounted`);
        } else {
            await run(ctx, ["umount", root]);
        }
    }
    if (cleanup.mounted) removeNote(mountNote(root));
    removeEmpty(cleanup.dirs.filter((dir) => !onMount(dir)));
}

export const bpfPinDirProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: BpfPinDirInputs, news: Record<string, unknown>) {
        return bpfPinDirProperties.check(news);
    },

    async diff(_id: string, olds: BpfPinDirOutputs, news: BpfPinDirInputs) {
        return bpfPinDirProperties.diff(olds, news);
    },

    create: (inputs: BpfPinDirInputs) => inTurn(inputs.root, async () => {
        const ctx = { resource: `BpfPinDir ${inputs.root}/${inputs.subdir}` };
        const createdDirs = missingDirs(inputs.root);
        for (const dir of createdDirs) fs.mkdirSync(dir);
        // Ours too when an interrupted create of this resource mounted it (its note names our owner).
        let mounted = readNote(mountNote(inputs.root))?.owner === inputs.owner;
        if (!onBpffs(inputs.root)) {
            writeNote(mountNote(inputs.root), { owner: inputs.owner });
            await run(ctx, ["mount", "-t", "bpf", "bpf", inputs.root]);
            mounted = true;
        }
        const pinDir = path.join(inputs.root, inputs.subdir);
        const below = missingDirs(pinDir);
        for (const dir of below) fs.mkdirSync(dir);
        const outs: BpfPinDirOutputs = { ...inputs, path: pinDir, mounted, createdDirs: [...createdDirs, ...below] };
        changeLedgerFile<BpffsLedger>(ledgerFile(inputs.root), (ledger) =>
            claimBpffs(ledger, inputs.owner, { mounted, dirs: outs.createdDirs }));
        return { id: pinDir, outs };
    }),

    async read(id: string, props: BpfPinDirOutputs) {
        // Gone (unmounted, removed, or a reboot): refresh forgets it and the next up makes it again.
        if (!fs.existsSync(props.path) || !onBpffs(props.path)) return {};
        return { id, props };
    },

    delete: (_id: string, props: BpfPinDirOutputs) => inTurn(props.root, async () => {
        const ctx = { resource: `BpfPinDir ${props.path}` };
        // Everything below the stack's own directory was pinned by the stack's programs.
        if (fs.existsSync(props.path) && onBpffs(props.path)) fs.rmSync(props.path, { recursive: true });
        let cleanup: BpffsCleanup | undefined;
        changeLedgerFile<BpffsLedger>(ledgerFile(props.root), (ledger) => {
            const released = releaseBpffs(ledger, props.owner, { mounted: props.mounted, dirs: props.createdDirs });
            cleanup = released.cleanup;
            return released.ledger;
        });
        if (cleanup) await cleanUp(ctx, props.root, cleanup);
    }),
};

export interface BpfPinDir extends ResourceOutputs<BpfPinDirOutputs> {}

/** A stack's directory of pinned BPF maps, e.g. /sys/fs/bpf/egress-xdp/egress-xdp/eth0. */
export class BpfPinDir extends DynamicResource {
    constructor(name: string, args: BpfPinDirArgs, opts?: pulumi.CustomResourceOptions) {
        super(name, bpfPinDirProperties.resourceProps(name, args), opts, "BpfPinDir");
    }
}
