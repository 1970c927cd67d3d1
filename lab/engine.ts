// Runs the project's pinned Pulumi CLI (scripts/pulumi) on a throwaway local backend, for engine tests.
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { RunResult, run } from "../provider/runner";

/** The repository (compiled code in dist/lab/). */
export const projectRoot = path.resolve(__dirname, "..", "..");

export interface Engine {
    /** Runs `pulumi ARGS` in the program directory on this engine's backend and stack. */
    pulumi(args: string[], options?: { allowFailure?: boolean }): Promise<RunResult>;
    /** Removes the stack's backend directory and its stack config file. */
    dispose(): void;
    /** Runs later commands in `programDir` instead: the program's directory was moved there. */
    relocate(programDir: string): void;
    stack: string;
    /** How `pulumi ARGS` is started, for starting it without waiting (e.g. to kill it mid-run). */
    command(args: string[]): PulumiCommand;
}

export interface PulumiCommand {
    argv: string[];
    cwd: string;
    env: Record<string, string>;
}

/**
 * A fresh backend directory and stack for the program in `programDir`; `extraEnv` is added to the
 * environment of every `pulumi` command.
 */
export async function newEngine(firstProgramDir: string, stack: string, extraEnv: Record<string, string> = {}): Promise<Engine> {
    const backend = mkdtempSync(path.join(tmpdir(), "egress-xdp-state-"));
    let programDir = firstProgramDir;
    const env = { ...extraEnv, PULUMI_BACKEND_URL: `file://${backend}`, PULUMI_CONFIG_PASSPHRASE: "" };
    const command = (args: string[]): PulumiCommand => ({
        argv: [path.join(projectRoot, "scripts", "pulumi"), ...args, "--stack", stack, "--non-interactive"],
        cwd: programDir, env,
    });
    const pulumi = (args: string[], options: { allowFailure?: boolean } = {}) => {
        const { argv, cwd } = command(args);
        return run({ resource: `pulumi ${args[0]}` }, argv, { ...options, cwd, env });
    };
    await pulumi(["stack", "init"]);
    return {
        pulumi, stack, command, relocate: (dir) => { programDir = dir; }, dispose: () => {
            rmSync(backend, { recursive: true, force: true });
            rmSync(path.join(programDir, `Pulumi.${stack}.yaml`), { force: true });
        },
    };
}
