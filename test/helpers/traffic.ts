// Real traffic between lab namespaces: a one-shot TCP server that reports who connected.
import { inNetns, run } from "../../provider/runner";

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
    const argv = inNetns(serverNs, ["timeout", "10", "socat", "-d", "-d", "-u",
        `TCP-LISTEN:${port},bind=${serverAddress},reuseaddr`, "STDOUT"]);
    const server = execa(argv[0], argv.slice(1), { reject: false });
    try {
        for (let attempt = 0; ; attempt++) {
            const sent = await run({ resource: "tcp client", netns: clientNs },
                ["socat", "-u", "STDIN", `TCP:${serverAddress}:${port},connect-timeout=2`], { input: message, allowFailure: true });
            if (sent.exitCode === 0) break;
            if (attempt >= 20) throw new Error(`tcp client in ${clientNs} could not connect: ${sent.stderr}`);
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const result = await server;
        const peer = /accepting connection from AF=2 ([0-9.]+):/.exec(String(result.stderr));
        return { received: String(result.stdout), peerAddress: peer?.[1] ?? "" };
    } finally {
        server.kill("SIGKILL");
    }
}
