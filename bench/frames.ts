// Realistic frames for BPF_PROG_TEST_RUN: what the outer veth receives from the inner namespace.
import { parseIpv4 } from "../provider/validate";

const macInner = Buffer.from([0x02, 0x00, 0x00, 0x00, 0x00, 0x02]);
const macBridge = Buffer.from([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]);

/** The ones' complement sum of 16-bit words (RFC 1071), folded and inverted. */
function internetChecksum(...parts: Buffer[]): number {
    const data = Buffer.concat(parts);
    let sum = 0;
    for (let at = 0; at < data.length; at += 2) sum += (data[at] << 8) + (data[at + 1] ?? 0);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    return ~sum & 0xffff;
}

function address(ip: string): Buffer {
    const value = parseIpv4(ip);
    if (value === undefined) throw new Error(`"${ip}" is not an IPv4 address`);
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(value);
    return bytes;
}

/** Ethernet + IPv4 (DF, TTL 64) around a transport header and payload whose checksum covers the pseudo header. */
function ipv4Frame(protocol: number, source: string, destination: string, transport: Buffer): Buffer {
    const ip = Buffer.alloc(20);
    ip.writeUInt8(0x45, 0);
    ip.writeUInt16BE(20 + transport.length, 2);
    ip.writeUInt16BE(0x4000, 6);
    ip.writeUInt8(64, 8);
    ip.writeUInt8(protocol, 9);
    address(source).copy(ip, 12);
    address(destination).copy(ip, 16);
    ip.writeUInt16BE(internetChecksum(ip), 10);
    return Buffer.concat([macBridge, macInner, Buffer.from([0x08, 0x00]), ip, transport]);
}

/** An ICMP echo request like ping's default (56 bytes of data): a 98-byte frame. */
export function icmpEchoFrame(source: string, destination: string): Buffer {
    const icmp = Buffer.alloc(8 + 56);
    icmp.writeUInt8(8, 0);
    icmp.writeUInt16BE(0x1234, 4);
    icmp.writeUInt16BE(1, 6);
    for (let i = 8; i < icmp.length; i++) icmp[i] = i;
    icmp.writeUInt16BE(internetChecksum(icmp), 2);
    return ipv4Frame(1, source, destination, icmp);
}

/** The ports of tcpSegmentFrame's segments by default: a client's to an iperf3 server. */
export const segmentPorts = { source: 40000, destination: 5201 };

/** A full-size TCP data segment (ACK|PSH, 1460 bytes of payload): a 1514-byte frame. */
export function tcpSegmentFrame(source: string, destination: string, ports = segmentPorts): Buffer {
    const tcp = Buffer.alloc(20 + 1460);
    tcp.writeUInt16BE(ports.source, 0);
    tcp.writeUInt16BE(ports.destination, 2);
    tcp.writeUInt32BE(1, 4);
    tcp.writeUInt32BE(1, 8);
    tcp.writeUInt8(5 << 4, 12);
    tcp.writeUInt8(0x18, 13);
    tcp.writeUInt16BE(64240, 14);
    const pseudo = Buffer.concat([address(source), address(destination), Buffer.from([0, 6, tcp.length >> 8, tcp.length & 0xff])]);
    tcp.writeUInt16BE(internetChecksum(pseudo, tcp), 16);
    return ipv4Frame(6, source, destination, tcp);
}
