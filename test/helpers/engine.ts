// Runs the project's pinned Pulumi CLI (scripts/pulumi) on a throwaway local backend, for engine tests.
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { RunResult, run } from "../../provider/runner";

export const projectRoot = path.resolve(__dirname, "..", "..", "..");

export interface Engine {
    /** Runs `pulumi ARGS` in the program directory on this engine's backend and stack. */
    pulumi(args: string[], options?: { allowFailure?: boolean }): Promise<RunResult>;
    /** Removes the stack's backend directory and its stack config file. */
    dispose(): void;
    stack: string;
}

/** A fresh backend directory and stack for the program in `programDir`. */
export async function newEngine(programDir: string, stack: string): Promise<Engine> {
    const backend = mkdtempSync(path.join(tmpdir(), "egress-xdp-state-"));
    const env = { PULUMI_BACKEND_URL: `file://${backend}`, PULUMI_CONFIG_PASSPHRASE: "" };
    const pulumi = (args: string[], options: { allowFailure?: boolean } = {}) =>
        run({ resource: `pulumi ${args[0]}` }, [path.join(projectRoot, "scripts", "pulumi"), ...args,
            "--stack", stack, "--non-interactive"], { ...options, cwd: programDir, env });
    await pulumi(["stack", "init"]);
    return {
        pulumi, stack, dispose: () => {
            rmSync(backend, { recursive: true, force: true });
            rmSync(path.join(programDir, `Pulumi.${stack}.yaml`), { force: true });
        },
    };
}
