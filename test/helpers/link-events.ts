// XDP changes on a link as the kernel announces them (`ip monitor link`): every attach, replace and
// detach sends one link message with the program then attached, so watching the messages for a whole
// update shows any moment without a program, however short, where polling would only sample.
import { readdirSync, readlinkSync } from "fs";
import { inNetns } from "../../provider/runner";

export interface LinkEvent {
    ifname: string;
    /** The XDP program attached after this change; undefined when none. */
    progId?: number;
    /** The link itself was deleted. */
    deleted: boolean;
}

/**
 * One message of `ip -o -d monitor link` (e.g. `3: a0@a1: <...> xdpgeneric/id:1044 ... group default`),
 * or undefined for another line. A bridge port's own messages (family AF_BRIDGE: `master br_1 state
 * UP`, no `group`) carry no XDP attribute and say nothing about the program: they are skipped.
 */
export function parseLinkEvent(line: string): LinkEvent | undefined {
    const header = /^(Deleted )?\d+: ([^:@\s]+)[@:]/.exec(line.trim());
    if (!header || !/ group \S+/.test(line)) return undefined;
    const prog = /\bxdp(?:generic|drv|offload|multi)?\/id:(\d+)|\bprog\/xdp id (\d+)/.exec(line);
    return { ifname: header[2], deleted: header[1] !== undefined, progId: prog ? Number(prog[1] ?? prog[2]) : undefined };
}

export interface LinkWatch {
    /** Stops watching; returns the events of `ifname` since the start, in order. */
    stop(): Promise<LinkEvent[]>;
}

/** Whether process `pid` holds a socket (ip monitor subscribes as it opens its netlink socket). */
function holdsSocket(pid: number): boolean {
    try {
        return readdirSync(`/proc/${pid}/fd`).some((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith("socket:"));
    } catch {
        return false;
    }
}

/** Starts `ip -o -d monitor link` in `netns` and resolves once it listens, to collect the events of `ifname`. */
export async function watchLinkEvents(netns: string, ifname: string): Promise<LinkWatch> {
    const { execa } = await import("execa");
    const argv = inNetns(netns, ["ip", "-o", "-d", "monitor", "link"]);
    const monitor = execa(argv[0], argv.slice(1), { reject: false, stdin: "ignore", buffer: true });
    // nsenter execs ip, so the pid is ip's once it runs; give up on a monitor that never listens.
    for (let waited = 0; !holdsSocket(monitor.pid!); waited += 10) {
        if (waited > 10000 || monitor.exitCode !== null) throw new Error(`ip monitor link in ${netns} did not start`);
        await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await new Promise((resolve) => setTimeout(resolve, 100)); // between socket() and its bind to the link group
    return {
        async stop() {
            await new Promise((resolve) => setTimeout(resolve, 200)); // the last messages still on their way
            monitor.kill("SIGKILL");
            const { stdout } = await monitor;
            return String(stdout).split("\n").map(parseLinkEvent)
                .filter((event): event is LinkEvent => event?.ifname === ifname);
        },
    };
}

/**
 * The events of a watch that show the link without a program, or gone: empty when the program was
 * replaced without a gap.
 */
export function gapsIn(events: LinkEvent[]): LinkEvent[] {
    return events.filter((event) => event.deleted || event.progId === undefined);
}
