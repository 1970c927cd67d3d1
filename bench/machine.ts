// The machine a benchmark ran on, for the report.
import { readFileSync } from "fs";
import * as os from "os";
import * as path from "path";
import { run } from "../provider/runner";
import { projectRoot } from "../lab/engine";

export interface Machine {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    kernel: string;
    distribution: string;
    tools: Record<string, string>;
}

async function firstLine(argv: string[]): Promise<string> {
    const result = await run({ resource: "bench machine info" }, argv, { allowFailure: true });
    return (result.stdout || result.stderr).split("\n")[0].trim();
}

export async function describeMachine(): Promise<Machine> {
    const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
    const osRelease = readFileSync("/etc/os-release", "utf8");
    return {
        cpus: os.cpus().length,
        cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? "unknown",
        memoryGiB: Math.round(os.totalmem() / 2 ** 30 * 10) / 10,
        kernel: os.release(),
        distribution: /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(osRelease)?.[1] ?? "unknown",
        tools: {
            node: process.version,
            pulumi: await firstLine([path.join(projectRoot, "scripts", "pulumi"), "version"]),
            iperf3: await firstLine(["iperf3", "--version"]),
            ping: await firstLine(["ping", "-V"]),
            bpftool: await firstLine(["bpftool", "version"]),
            clang: await firstLine(["clang", "--version"]),
        },
    };
}

/** The 1-minute load average: other work on the machine skews every number. */
export function loadAverage(): number {
    return os.loadavg()[0];
}
