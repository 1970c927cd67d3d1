// Notes in /run/egress-xdp that tie a kernel object to the resource making it while the object cannot
// say so itself: a link between `ip link add` and the write of its owner mark, a namespace before its
// lo is marked, an XDP program (which never carries a mark), a bpffs mount (neither). A create
// interrupted in between (pulumi killed) leaves the note, and the next create knows the object as its
// own. A route, which has no room for a mark at all, keeps its note for as long as it exists
// (provider/route.ts). /run is emptied at boot, as the objects are. The directories go with their
// last entry: a host with no stack on it has no /run/egress-xdp.
import * as fs from "fs";
import * as path from "path";
import type { OffloadChange } from "./offload";

/** Everything egress-xdp keeps in /run: notes here, ledgers of ip_forward and iptables tables (provider/ledger.ts). */
export const runStateDir = "/run/egress-xdp";
export const notesDir = path.join(runStateDir, "notes");

/** What a note is about: an object `name` in namespace `netns` (absent: the one pulumi runs in). */
export interface NoteKey {
    kind: "link" | "xdp" | "bpffs" | "route";
    netns?: string;
    name: string;
}

export interface Note {
    owner: string;
    /** For an XDP attachment: the program id, once known. */
    progId?: number;
    /** For an XDP attachment: the offload features it changed, recorded before each change. */
    offloadChanges?: OffloadChange[];
}

/** One file per object; "@self" (no namespace name may hold '@') stands for the namespace pulumi runs in. */
export function notePath(key: NoteKey): string {
    return path.join(notesDir, key.kind, `${key.netns ?? "@self"}.${key.name}.json`);
}

/**
 * Writes `text` to `file` under runStateDir atomically (a temporary file renamed into place), making
 * its directories; a directory that another process's pruneRunState removed in between is made again.
 */
export function writeRunStateFile(file: string, text: string): void {
    for (let attempt = 0; ; attempt++) {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        try {
            fs.writeFileSync(`${file}.tmp`, text);
            break;
        } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= 10) throw error;
        }
    }
    fs.renameSync(`${file}.tmp`, file);
}

/** Removes a file under runStateDir, then its directories up to runStateDir itself while they are empty. */
export function removeRunStateFile(file: string): void {
    fs.rmSync(file, { force: true });
    for (let dir = path.dirname(file); dir === runStateDir || dir.startsWith(`${runStateDir}/`); dir = path.dirname(dir)) {
        try {
            fs.rmdirSync(dir);
        } catch {
            return; // not empty (another entry, or one being written), or gone already
        }
    }
}

export function writeNote(key: NoteKey, note: Note): void {
    writeRunStateFile(notePath(key), JSON.stringify(note));
}

export function readNote(key: NoteKey): Note | undefined {
    const file = notePath(key);
    return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) as Note : undefined;
}

export function removeNote(key: NoteKey): void {
    removeRunStateFile(notePath(key));
}

/** Removes the notes of `kind` of a namespace that is gone: those whose name after `<netns>.` matches `rest`. */
export function forgetNotes(kind: NoteKey["kind"], netns: string, rest: RegExp): void {
    const dir = path.join(notesDir, kind);
    if (!fs.existsSync(dir)) return;
    for (const file of fs.readdirSync(dir)) {
        if (file.startsWith(`${netns}.`) && rest.test(file.slice(netns.length + 1))) removeRunStateFile(path.join(dir, file));
    }
}
