// Crashes on purpose and the way back: start a command, watch its output, and at a chosen line SIGKILL
// it together with every process it started, the way a dying machine or CI runner would stop
// `pulumi up`; then the documented recovery.
import { existsSync, readFileSync, readdirSync, rmSync, statSync, watch } from "fs";
import * as path from "path";
import { netnsDir, netnsPath } from "../../provider/netns";
import { inNetns } from "../../provider/runner";
import { Engine, PulumiCommand } from "../../lab/engine";

/**
 * The live processes of session `sid`. The command is started as a session leader; Pulumi's plugins
 * move to process groups of their own, but stay in its session, also after their parent died.
 */
export function sessionMembers(sid: number): number[] {
    const members: number[] = [];
    for (const entry of readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        let stat: string;
        try {
            stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        } catch {
            continue; // exited meanwhile
        }
        // Fields after "(comm)": state, ppid, pgrp, session, ...; comm itself may hold spaces or ')'.
        const [state, , , session] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        if (Number(session) === sid && state !== "Z") members.push(Number(entry));
    }
    return members;
}

/** The session of process `pid`, or undefined when it is gone. */
function sessionOf(pid: number): number | undefined {
    try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
    } catch {
        return undefined;
    }
}

/**
 * SIGKILLs every process of session `sid` until none is left (a dying parent may still fork).
 * `known` (members seen a moment ago) go first, each checked to be still in the session: reading a
 * few stat files is much quicker than scanning /proc, and the kill must land inside the operation.
 */
export async function killSession(sid: number, known: number[] = []): Promise<void> {
    for (const pid of known.filter((member) => sessionOf(member) === sid)) {
        try {
            process.kill(pid, "SIGKILL");
        } catch {
            // gone already
        }
    }
    for (let round = 0; round < 100; round++) {
        const members = sessionMembers(sid);
        if (members.length === 0) return;
        for (const pid of members) {
            try {
                process.kill(pid, "SIGKILL");
            } catch {
                // gone already
            }
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`processes of session ${sid} survive SIGKILL: ${sessionMembers(sid).join(", ")}`);
}

export interface Interrupted {
    /** Whether the kill happened; false when the command ended before `killAt` held. */
    killed: boolean;
    /** stdout and stderr up to the kill (or the end). */
    output: string;
}

/**
 * Runs `command` in a session of its own. When `killAt(lines)` first holds for the output lines so
 * far, awaits `beforeKill` (e.g. until the operation changed something; it sees the lines as they
 * grow), then kills the whole session with SIGKILL.
 */
export async function runAndKill(command: PulumiCommand, killAt: (lines: string[]) => boolean,
    beforeKill: (lines: string[]) => Promise<unknown> = async () => undefined): Promise<Interrupted> {
    const { execa } = await import("execa");
    const child = execa(command.argv[0], command.argv.slice(1), {
        cwd: command.cwd, env: { ...command.env, LC_ALL: "C" }, detached: true, reject: false, all: true,
        stdin: "ignore",
    });
    const lines: string[] = [];
    let partial = "";
    let kill: Promise<void> | undefined;
    // The session's members, refreshed while the command runs, for a quick kill.
    let members: number[] = [];
    const census = setInterval(() => { members = sessionMembers(child.pid!); }, 250);
    child.all!.on("data", (chunk: Buffer) => {
        const text = partial + chunk.toString();
        const complete = text.split("\n");
        partial = complete.pop()!;
        lines.push(...complete);
        if (!kill && killAt(lines)) kill = beforeKill(lines).then(() => killSession(child.pid!, members));
    });
    const result = await child.finally(() => clearInterval(census));
    await kill;
    return { killed: kill !== undefined && result.signal === "SIGKILL", output: String(result.all ?? "") };
}

/**
 * A local (file) backend after a kill can hold an empty `*.attrs` metadata file: the blob library
 * writes it in place, before the data file (which it renames into place, so that one is whole), and
 * pulumi then fails with "failed to load checkpoint: EOF". An empty one carries nothing: remove it.
 * Returns the files removed.
 */
export function repairLocalBackend(backendUrl: string): string[] {
    if (!backendUrl.startsWith("file://")) return [];
    const removed: string[] = [];
    const visit = (dir: string) => {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
            const file = path.join(dir, entry.name);
            if (entry.isDirectory()) visit(file);
            else if (entry.name.endsWith(".attrs") && statSync(file).size === 0) {
                rmSync(file);
                removed.push(file);
            }
        }
    };
    const root = path.join(backendUrl.slice("file://".length), ".pulumi");
    if (existsSync(root)) visit(root);
    return removed;
}

/** The operations an interrupted run left pending in the state, as "creating Bridge main-bridge". */
export async function pendingOperations(engine: Engine): Promise<string[]> {
    const { deployment } = JSON.parse((await engine.pulumi(["stack", "export"])).stdout) as
        { deployment: { pending_operations?: { type: string; resource: { urn: string; type: string } }[] } };
    return (deployment.pending_operations ?? []).map((op) =>
        `${op.type} ${op.resource.type.split(":").pop()} ${op.resource.urn.split("::").pop()}`);
}

/**
 * The documented recovery after pulumi was killed (docs/RELIABILITY.md): repair the local backend,
 * `pulumi cancel` (removes the dead run's lock), `pulumi refresh --clear-pending-creates` (reads
 * every recorded resource back and drops the interrupted creates; what they left carries our owner
 * mark, protocol or creation note and is taken back by the next create), then the interrupted
 * command again. Returns what it found: repaired backend files and the pending operations.
 */
export async function recoverStack(engine: Engine, rerun: "up" | "destroy"):
    Promise<{ repaired: string[]; pending: string[] }> {
    const repaired = repairLocalBackend(engine.command([]).env.PULUMI_BACKEND_URL);
    await engine.pulumi(["cancel", "--yes"]);
    const pending = await pendingOperations(engine);
    await engine.pulumi(["refresh", "--yes", "--clear-pending-creates"]);
    await engine.pulumi([rerun, "--yes", "--skip-preview"]);
    return { repaired, pending };
}

/** Kernel changes as they happen, to kill pulumi right after an operation's first change. */
export interface KernelWatch {
    /**
     * Resolves true at the next change event, or false as soon as `giveUp()` holds (checked every few
     * milliseconds) or `timeoutMs` passed.
     */
    nextChange(giveUp: () => boolean, timeoutMs: number): Promise<boolean>;
    stop(): void;
}

/** Whether a namespace exists and is one: `ip netns add` makes the file a moment before it mounts the namespace there. */
function netnsMounted(netns: string): boolean {
    try {
        return statSync(netnsPath(netns)).dev !== statSync(netnsDir).dev;
    } catch {
        return false;
    }
}

/**
 * Watches namespaces, also those that appear later (netlink events for links, addresses, routes and
 * forwarding; iptables rule events), /var/run/netns (namespaces made or removed) and directories
 * (files made or removed, e.g. a built object).
 */
export async function watchKernel(namespaces: string[], dirs: string[]): Promise<KernelWatch> {
    const { execa } = await import("execa");
    const monitors: { kill(signal: "SIGKILL"): boolean }[] = [];
    let waiters: (() => void)[] = [];
    const changed = () => {
        for (const wake of waiters.splice(0)) wake();
    };
    const watching = new Set<string>();
    const watchNew = () => {
        for (const netns of namespaces.filter((name) => !watching.has(name) && netnsMounted(name))) {
            watching.add(netns);
            for (const argv of [["ip", "monitor", "link", "address", "route", "netconf"], ["stdbuf", "-oL", "xtables-monitor", "-e"]]) {
                const full = inNetns(netns, argv);
                const monitor = execa(full[0], full.slice(1), { reject: false, buffer: false, stdin: "ignore" });
                monitor.stdout!.on("data", changed);
                monitors.push(monitor);
            }
        }
    };
    const watchers = [netnsDir, ...dirs].map((dir) => watch(dir, changed));
    watchNew();
    const poll = setInterval(watchNew, 20);
    return {
        nextChange: (giveUp, timeoutMs) => new Promise<boolean>((resolve) => {
            const deadline = Date.now() + timeoutMs;
            const check = setInterval(() => {
                if (!giveUp() && Date.now() < deadline) return;
                clearInterval(check);
                waiters = waiters.filter((waiter) => waiter !== wake);
                resolve(false);
            }, 5);
            const wake = () => {
                clearInterval(check);
                resolve(true);
            };
            waiters.push(wake);
        }),
        stop() {
            clearInterval(poll);
            for (const monitor of monitors) monitor.kill("SIGKILL");
            for (const watcher of watchers) watcher.close();
        },
    };
}
