// The one command runner every resource uses: execa with argument arrays (never a shell), optionally
// inside a named network namespace, with errors that say which resource, which command, what the
// kernel said, and what to do.
import { netnsPath } from "./netns";

/** Where and for whom a command runs. */
export interface RunContext {
    /** The resource on whose behalf the command runs, e.g. `Bridge br_1`; it appears in errors. */
    resource: string;
    /** A namespace made with `ip netns add`; absent means the namespace this process runs in. */
    netns?: string;
}

export interface RunResult {
    stdout: string;
    stderr: string;
    exitCode: number;
}

/** A command that failed, with everything a user needs to act on it. */
export class CommandError extends Error {
    constructor(
        readonly resource: string,
        readonly argv: string[],
        readonly exitCode: number,
        readonly stderr: string,
        readonly hint: string,
    ) {
        const message = `${resource}: \`${argv.join(" ")}\` failed (exit ${exitCode}): ${stderr.trim() || "no message"}` +
            (hint ? `\n  what to do: ${hint}` : "");
        super(message);
        // egress-xdp's resources name their providers by package, but a program's own pulumi.dynamic.Resource
        // that uses run() is serialized, and Pulumi turns this class into a function that calls Error
        // without `new`, which sets no message on `this`: without this line the engine would show "undefined".
        this.message = message;
        this.name = "CommandError";
    }
}

/** The argv that runs `argv` inside `netns` (or unchanged when no namespace is given). */
export function inNetns(netns: string | undefined, argv: string[]): string[] {
    return netns === undefined ? argv : ["nsenter", `--net=${netnsPath(netns)}`, "--", ...argv];
}

/** Advice for the errors users meet most, keyed by what the kernel or tool prints. */
export function hintFor(stderr: string): string {
    const rules: [RegExp, string][] = [
        [/Operation not permitted|Permission denied/i, "run as root (CAP_NET_ADMIN and CAP_BPF are needed)"],
        [/File exists/i, "an object with this name already exists; pick another name or set `adopt: true`"],
        [/Cannot find device|does not exist|No such device/i,
            "the device is missing; run `pulumi refresh` to see what drifted, then `pulumi up`"],
        [/netns.*No such file or directory|Cannot open network namespace/i,
            "the network namespace is missing; check the `netns` input or run `pulumi refresh`"],
        [/Another app is currently holding the xtables lock/i, "another iptables command is running; retry"],
        [/executable file not found|ENOENT/i, "a required tool is missing; run scripts/setup"],
    ];
    return rules.find(([pattern]) => pattern.test(stderr))?.[1] ?? "";
}

/**
 * Runs argv (argv[0] is the program) and returns its output. A non-zero exit throws a CommandError
 * unless `allowFailure` is set, in which case the caller inspects exitCode.
 */
export async function run(
    ctx: RunContext, argv: string[],
    options: { allowFailure?: boolean; input?: string; cwd?: string; env?: Record<string, string> } = {},
): Promise<RunResult> {
    // execa is ESM-only; importing it here, not at the top, keeps run() usable in a serialized dynamic
    // provider (a top-level import serializes to a path Node refuses).
    const { execa } = await import("execa");
    const full = inNetns(ctx.netns, argv);
    const result = await execa(full[0], full.slice(1), {
        reject: false, input: options.input, cwd: options.cwd, stripFinalNewline: true,
        env: { ...options.env, LC_ALL: "C" },
    });
    const exitCode = result.exitCode ?? -1;
    const stderr = String(result.stderr ?? "") || (result.failed && exitCode === -1 ? String(result.message) : "");
    if (exitCode !== 0 && !options.allowFailure) {
        // Some tools (pulumi among them) report errors on stdout: show its end when stderr is empty.
        const message = stderr || String(result.stdout ?? "").split("\n").slice(-25).join("\n");
        throw new CommandError(ctx.resource, full, exitCode, message, hintFor(message));
    }
    return { stdout: String(result.stdout ?? ""), stderr, exitCode };
}
