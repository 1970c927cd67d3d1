// Ledgers: small JSON files under /run/egress-xdp, one per network namespace, in which the resources
// of every stack that share a namespace record what they changed there (ip_forward, iptables tables).
// A file's name carries the namespace's name and inode, so a recreated namespace (e.g. after a reboot,
// which also empties /run) never inherits an old one's ledger. The last ledger out takes its empty
// directories with it (provider/notes.ts), so /run/egress-xdp is left as it was found.
import * as fs from "fs";
import * as path from "path";
import { netnsPath } from "./netns";
import { removeRunStateFile, writeRunStateFile } from "./notes";

/**
 * The ledger file of a namespace in `dir`; "@self" (no namespace name may hold '@') stands for the
 * namespace pulumi runs in.
 */
export function namespaceLedgerPath(dir: string, netns: string | undefined): string {
    return path.join(dir, `${netns ?? "@self"}.${netnsInode(netns)}.json`);
}

/** The inode of a namespace (absent: the one pulumi runs in), which tells a recreated namespace from the old one. */
export function netnsInode(netns: string | undefined): number {
    return fs.statSync(netns === undefined ? "/proc/self/ns/net" : netnsPath(netns)).ino;
}

/** Drops the ledgers in `dir` left by a namespace that no longer exists (whatever its inode was, it is dead). */
export function forgetNamespaceLedgers(dir: string, netns: string): void {
    if (!fs.existsSync(dir)) return;
    for (const file of fs.readdirSync(dir)) {
        if (file.startsWith(`${netns}.`) && /^\d+\.json$/.test(file.slice(netns.length + 1))) {
            removeRunStateFile(path.join(dir, file));
        }
    }
}

/** A ledger as it is now; undefined when there is none. */
export function readLedgerFile<L>(file: string): L | undefined {
    return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) as L : undefined;
}

/**
 * Reads, changes and writes a ledger synchronously, so no other create or delete of this process
 * interleaves; `change` returning undefined removes the file.
 */
export function changeLedgerFile<L>(file: string, change: (ledger?: L) => L | undefined): void {
    const after = change(readLedgerFile<L>(file));
    if (after) writeRunStateFile(file, JSON.stringify(after));
    else removeRunStateFile(file);
}
