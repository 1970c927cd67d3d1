// A simulated lab host: a "lab" namespace that plays the host, behind a veth uplink to an "upstream"
// namespace that plays the internet (server addresses on its loopback). The tests and benchmarks make
// one each with a random id; `scripts/demo` makes one called "demo". Nothing here touches the machine's own
// interfaces, iptables or sysctls; every name carries the lab id so `destroyLab` finds all of it.
//   node dist/lab/host.js up|down ID
import { randomBytes } from "crypto";
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
    /** A namespace name for this lab that the test may create (removed by destroy). */
    netnsName(suffix: string): string;
}

const ctx = { resource: "simulated lab" };

export async function createLab(id = randomBytes(3).toString("hex")): Promise<Lab> {
    const lab: Lab = {
        id, host: `exl-${id}`, upstream: `exu-${id}`, uplink: "uplink0", uplinkAddress: "198.18.0.1",
        serverAddress: "198.19.0.1", otherServerAddress: "198.19.1.1",
        netnsName: (suffix: string) => `ex${suffix}-${id}`,
    };
    try {
        await run(ctx, ["ip", "netns", "add", lab.host]);
        await run(ctx, ["ip", "netns", "add", lab.upstream]);
        // IPv6 off: link-local addresses appear a moment after links come up and would make
        // before/after snapshots differ for reasons no test controls. The tests are IPv4.
        for (const netns of [lab.host, lab.upstream]) {
            for (const key of ["net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"]) {
                await run({ ...ctx, netns }, ["sysctl", "-q", "-w", `${key}=1`]);
            }
        }
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

/** Removes every namespace of the lab (and with them their links, rules and programs). */
export async function destroyLab(lab: Pick<Lab, "id">): Promise<void> {
    for (const name of await labNamespaces(lab)) {
        await run(ctx, ["ip", "netns", "del", name], { allowFailure: true });
    }
}


async function main(action: string | undefined, id: string | undefined): Promise<void> {
    if (!id || !/^[a-z0-9]{1,12}$/.test(id) || (action !== "up" && action !== "down")) {
        throw new Error("usage: node dist/lab/host.js up|down ID (ID: 1-12 lowercase letters or digits)");
    }
    if (action === "down") return destroyLab({ id });
    const lab = await createLab(id);
    console.log(JSON.stringify({ hostNetns: lab.host, upstream: lab.upstream, sendDev: lab.uplink,
        server: lab.serverAddress, otherServer: lab.otherServerAddress }));
}

if (require.main === module) {
    main(process.argv[2], process.argv[3]).catch((error: Error) => {
        console.error(error.message);
        process.exit(1);
    });
}
