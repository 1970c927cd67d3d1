// Real traffic between lab namespaces: a one-shot TCP server that reports who connected.
import { inNetns, run } from "../../provider/runner";
import { formatIp, parseIp } from "../../provider/validate";

export interface TcpExchange {
    /** What the server received. */
    received: string;
    /** The client address the server saw (after NAT). */
    peerAddress: string;
}

/**
 * Starts `socat` listening on serverAddress:port in serverNs for one connection, sends `message` from
 * clientNs, and returns what arrived and from which address. Bounded: the server dies after 10 s.
 */
export async function tcpExchange(
    serverNs: string, serverAddress: string, clientNs: string, message: string, port = 9000,
): Promise<TcpExchange> {
    const { execa } = await import("execa");
    // socat names IPv6 addresses in brackets, with TCP6 addresses.
    const ipv6 = serverAddress.includes(":");
    const [tcp, host] = ipv6 ? ["TCP6", `[${serverAddress}]`] : ["TCP", serverAddress];
    const argv = inNetns(serverNs, ["timeout", "10", "socat", "-d", "-d", "-u",
        `${tcp}-LISTEN:${port},bind=${host},reuseaddr`, "STDOUT"]);
    const server = execa(argv[0], argv.slice(1), { reject: false });
    try {
        for (let attempt = 0; ; attempt++) {
            const sent = await run({ resource: "tcp client", netns: clientNs },
                ["socat", "-u", "STDIN", `${tcp}:${host}:${port},connect-timeout=2`], { input: message, allowFailure: true });
            if (sent.exitCode === 0) break;
            if (attempt >= 20) throw new Error(`tcp client in ${clientNs} could not connect: ${sent.stderr}`);
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const result = await server;
        const peer = /accepting connection from AF=(?:2 ([0-9.]+)|10 \[([0-9a-f:]+)\]):/.exec(String(result.stderr));
        // socat writes IPv6 in full; the kernel's (RFC 5952) form compares with the lab's addresses.
        const peer6 = peer?.[2] && parseIp(peer[2]);
        return { received: String(result.stdout), peerAddress: peer?.[1] ?? (peer6 ? formatIp(peer6) : "") };
    } finally {
        server.kill("SIGKILL");
    }
}
