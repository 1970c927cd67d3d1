// A simulated lab host: a "lab" namespace that plays the host, behind a veth uplink to an "upstream"
// namespace that plays the internet (server addresses on its loopback). The tests and benchmarks make
// one each with a random id; `scripts/demo` makes one called "demo". Nothing here touches the machine's own
// interfaces, iptables or sysctls; every name carries the lab id so `destroyLab` finds all of it.
// The IPv6 mode adds IPv6 on documentation prefixes (2001:db8::/32): the uplink 2001:db8:0:1::1/64,
// servers 2001:db8:0:2::1 and 2001:db8:0:3::1 upstream, and the uplink's default route learnt from
// router advertisements that radvd sends from the upstream (as a host's SLAAC uplink would have it).
//   node dist/lab/host.js up|down ID [ipv6]
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { removeRunStateFile, runStateDir } from "../provider/notes";
import { run } from "../provider/runner";

export interface Lab {
    id: string;
    /** The namespace that plays the lab host. */
    host: string;
    /** The namespace that plays the upstream network. */
    upstream: string;
    /** The lab host's uplink interface (the recipe's $send_dev). */
    uplink: string;
    uplinkAddress: string;
    /** An address on the upstream side that plays a server on the internet. */
    serverAddress: string;
    /** A second server address, for drop-list tests. */
    otherServerAddress: string;
    /** In IPv6 mode: the uplink's IPv6 address (what NAT66 makes the inner namespace's traffic come from) and two servers. */
    ipv6?: { uplinkAddress: string; serverAddress: string; otherServerAddress: string };
    /** A namespace name for this lab that the test may create (removed by destroy). */
    netnsName(suffix: string): string;
}

const ctx = { resource: "simulated lab" };

export interface LabOptions {
    /** IPv6 on the uplink and upstream, with router advertisements (see above); default off. */
    ipv6?: boolean;
}

/** Where a lab keeps its radvd's config, pid file and log. */
function labDir(id: string): string {
    return path.join(os.tmpdir(), `egress-xdp-lab-${id}`);
}

/**
 * IPv6 sysctls of a lab namespace, before any link exists so every link inherits them: off entirely,
 * or on without duplicate address detection, so link-local addresses are final the moment a link is up
 * and before/after snapshots do not depend on timing.
 */
async function configureIpv6(netns: string, on: boolean): Promise<void> {
    const settings = on ? ["accept_dad=0"] : ["disable_ipv6=1"];
    for (const scope of ["all", "default"]) {
        for (const setting of settings) await run({ ...ctx, netns }, ["sysctl", "-q", "-w", `net.ipv6.conf.${scope}.${setting}`]);
    }
}

/** Starts radvd on the upstream's side of the uplink: default-router advertisements only, no prefix (no SLAAC address). */
async function startRouterAdvertisements(lab: Lab): Promise<void> {
    const dir = labDir(lab.id);
    fs.mkdirSync(dir, { recursive: true });
    const config = path.join(dir, "radvd.conf");
    fs.writeFileSync(config, "interface down0 {\n  AdvSendAdvert on;\n  MinRtrAdvInterval 3;\n  MaxRtrAdvInterval 4;\n" +
        "  AdvDefaultLifetime 30;\n};\n");
    await run({ ...ctx, netns: lab.upstream }, ["radvd", "-C", config, "-p", path.join(dir, "radvd.pid"),
        "-m", "logfile", "-l", path.join(dir, "radvd.log")]);
    const deadline = Date.now() + 15000;
    while (!(await defaultRouteFromRa(lab.host))) {
        if (Date.now() > deadline) throw new Error(`lab ${lab.id}: the uplink learnt no IPv6 default route from radvd in 15 s`);
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

/**
 * Waits until the uplink has carrier: the veth comes up a moment after both ends are set up, and until
 * then its routes are "linkdown", so a lab snapshotted earlier would differ from itself a moment later.
 */
async function waitForCarrier(lab: Lab): Promise<void> {
    const deadline = Date.now() + 15000;
    for (;;) {
        const { stdout } = await run({ ...ctx, netns: lab.host }, ["ip", "-json", "link", "show", "dev", lab.uplink]);
        if ((JSON.parse(stdout) as { operstate?: string }[])[0]?.operstate === "UP") return;
        if (Date.now() > deadline) throw new Error(`lab ${lab.id}: ${lab.uplink} has no carrier 15 s after both ends were set up`);
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
}

/** Whether a namespace has an IPv6 default route learnt from a router advertisement. */
export async function defaultRouteFromRa(netns: string): Promise<boolean> {
    const { stdout } = await run({ ...ctx, netns }, ["ip", "-6", "-json", "route", "show", "default"]);
    return (JSON.parse(stdout.trim() || "[]") as { protocol?: string }[]).some((route) => route.protocol === "ra");
}

export async function createLab(id = randomBytes(3).toString("hex"), options: LabOptions = {}): Promise<Lab> {
    const lab: Lab = {
        id, host: `exl-${id}`, upstream: `exu-${id}`, uplink: "uplink0", uplinkAddress: "198.18.0.1",
        serverAddress: "198.19.0.1", otherServerAddress: "198.19.1.1",
        ...(options.ipv6 ? {
            ipv6: { uplinkAddress: "2001:db8:0:1::1", serverAddress: "2001:db8:0:2::1", otherServerAddress: "2001:db8:0:3::1" },
        } : {}),
        netnsName: (suffix: string) => `ex${suffix}-${id}`,
    };
    try {
        await run(ctx, ["ip", "netns", "add", lab.host]);
        await run(ctx, ["ip", "netns", "add", lab.upstream]);
        for (const netns of [lab.host, lab.upstream]) await configureIpv6(netns, !!options.ipv6);
        const inHost = (...argv: string[]) => run(ctx, ["ip", "-n", lab.host, ...argv]);
        const inUpstream = (...argv: string[]) => run(ctx, ["ip", "-n", lab.upstream, ...argv]);
        await inHost("link", "add", lab.uplink, "type", "veth", "peer", "name", "down0", "netns", lab.upstream);
        await inHost("link", "set", "lo", "up");
        await inHost("addr", "add", `${lab.uplinkAddress}/24`, "dev", lab.uplink);
        await inHost("link", "set", lab.uplink, "up");
        await inHost("route", "add", "default", "via", "198.18.0.2");
        await inUpstream("link", "set", "lo", "up");
        await inUpstream("addr", "add", `${lab.serverAddress}/32`, "dev", "lo");
        await inUpstream("addr", "add", `${lab.otherServerAddress}/32`, "dev", "lo");
        await inUpstream("addr", "add", "198.18.0.2/24", "dev", "down0");
        await inUpstream("link", "set", "down0", "up");
        await waitForCarrier(lab);
        if (lab.ipv6) {
            await inHost("addr", "add", `${lab.ipv6.uplinkAddress}/64`, "dev", lab.uplink, "nodad");
            await inUpstream("addr", "add", "2001:db8:0:1::2/64", "dev", "down0", "nodad");
            await inUpstream("addr", "add", `${lab.ipv6.serverAddress}/128`, "dev", "lo");
            await inUpstream("addr", "add", `${lab.ipv6.otherServerAddress}/128`, "dev", "lo");
            // The upstream is a router (radvd wants forwarding on); the host learns its default route from it.
            await run({ ...ctx, netns: lab.upstream }, ["sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1"]);
            await startRouterAdvertisements(lab);
        }
        // The upstream answers the lab's NATed address only; it has no route back to inner subnets.
        return lab;
    } catch (error) {
        await destroyLab(lab);
        throw error;
    }
}

/** The namespaces that belong to a lab: its host, upstream, and any the test made with netnsName. */
export async function labNamespaces(lab: Pick<Lab, "id">): Promise<string[]> {
    const { stdout } = await run(ctx, ["ip", "-json", "netns", "list"]);
    const names = (JSON.parse(stdout.trim() || "[]") as { name: string }[]).map((n) => n.name);
    return names.filter((name) => name.endsWith(`-${lab.id}`)).sort();
}

/** Stops the lab's radvd (the pid it wrote) and removes its directory. */
function stopRouterAdvertisements(id: string): void {
    const dir = labDir(id);
    const pidFile = path.join(dir, "radvd.pid");
    const pid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, "utf8").trim()) : NaN;
    if (Number.isInteger(pid) && pid > 1) {
        try {
            process.kill(pid, "SIGTERM");
        } catch {
            // already gone
        }
    }
    fs.rmSync(dir, { recursive: true, force: true });
}

/** Removes every namespace of the lab (and with them their links, rules and programs), and its radvd. */
export async function destroyLab(lab: Pick<Lab, "id">): Promise<void> {
    stopRouterAdvertisements(lab.id);
    for (const name of await labNamespaces(lab)) {
        await run(ctx, ["ip", "netns", "del", name], { allowFailure: true });
    }
    // A test that failed before its stack's delete leaves notes and ledgers; they mean nothing once the
    // lab's namespaces are gone. A passing test's leftovers are caught before this runs (test/helpers/kernel-suite.ts).
    for (const file of labRunStateFiles(lab)) removeRunStateFile(file);
}

/** egress-xdp's notes and ledgers under /run/egress-xdp named for the lab (its namespaces' and stacks' names end in its id). */
export function labRunStateFiles(lab: Pick<Lab, "id">): string[] {
    if (!fs.existsSync(runStateDir)) return [];
    const ofLab = new RegExp(`-${lab.id}(?![0-9A-Za-z])`);
    return (fs.readdirSync(runStateDir, { recursive: true, withFileTypes: true }))
        .filter((entry) => entry.isFile() && ofLab.test(entry.name))
        .map((entry) => path.join(entry.parentPath, entry.name));
}


async function main(action: string | undefined, id: string | undefined, mode: string | undefined): Promise<void> {
    if (!id || !/^[a-z0-9]{1,12}$/.test(id) || (action !== "up" && action !== "down") || (mode !== undefined && mode !== "ipv6")) {
        throw new Error("usage: node dist/lab/host.js up|down ID [ipv6] (ID: 1-12 lowercase letters or digits)");
    }
    if (action === "down") return destroyLab({ id });
    const lab = await createLab(id, { ipv6: mode === "ipv6" });
    console.log(JSON.stringify({ hostNetns: lab.host, upstream: lab.upstream, sendDev: lab.uplink,
        server: lab.serverAddress, otherServer: lab.otherServerAddress,
        ...(lab.ipv6 ? { server6: lab.ipv6.serverAddress, otherServer6: lab.ipv6.otherServerAddress } : {}) }));
}

if (require.main === module) {
    main(process.argv[2], process.argv[3], process.argv[4]).catch((error: Error) => {
        console.error(error.message);
        process.exit(1);
    });
}
