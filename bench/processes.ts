// Long-running helpers of the benchmark (iperf3 servers): started inside a lab namespace with argv
// arrays (no shell), bounded by `timeout`, and all stopped by stopAll(), which the benchmark calls in
// its `finally` and on SIGINT/SIGTERM.
import { ChildProcess, spawn } from "child_process";
import { inNetns } from "../provider/runner";

const running = new Set<ChildProcess>();

export interface Background {
    /** Stops the process (SIGTERM, then SIGKILL) and waits for it to exit. */
    stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => child.once("exit", () => resolve()));
}

async function stopChild(child: ChildProcess): Promise<void> {
    if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
        await exited(child);
        clearTimeout(timer);
    }
    running.delete(child);
}

/**
 * Starts argv in `netns` for at most `seconds` (`timeout` kills it after that even if this process
 * dies); resolves once `ready` matches its output, so the caller knows it listens.
 */
export async function startInNetns(netns: string, argv: string[], seconds: number, ready: RegExp): Promise<Background> {
    const full = inNetns(netns, ["timeout", "--kill-after=2", String(seconds), ...argv]);
    const child = spawn(full[0], full.slice(1), { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LC_ALL: "C" } });
    running.add(child);
    let output = "";
    await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${argv[0]} in ${netns} not ready after 10 s: ${output}`)), 10000);
        const onData = (chunk: Buffer) => {
            output += chunk.toString();
            if (ready.test(output)) {
                clearTimeout(timer);
                resolve();
            }
        };
        child.stdout!.on("data", onData);
        child.stderr!.on("data", onData);
        child.once("exit", (code) => {
            clearTimeout(timer);
            reject(new Error(`${full.join(" ")} exited (${code}) before it was ready: ${output.trim()}`));
        });
        child.once("error", reject);
    }).catch(async (error) => {
        await stopChild(child);
        throw error;
    });
    child.stdout!.resume();
    child.stderr!.resume();
    return { stop: () => stopChild(child) };
}

/** Stops every process startInNetns started that is still running. */
export async function stopAll(): Promise<void> {
    await Promise.all([...running].map(stopChild));
}
