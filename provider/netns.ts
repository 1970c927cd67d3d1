// Named network namespaces, as `ip netns add` makes them: a file under /var/run/netns that holds the
// namespace (a bind mount). Every command that runs in one enters it by that path (provider/runner.ts).
import * as fs from "fs";
import * as path from "path";

/** Where `ip netns add` puts its namespaces. */
export const netnsDir = "/var/run/netns";

/** The path `ip netns add` gives a namespace; nsenter enters it by this path. */
export function netnsPath(netns: string): string {
    return path.join(netnsDir, netns);
}

/** Whether a namespace made with `ip netns add` exists (absent netns: this process's, always there). */
export function netnsExists(netns: string | undefined): boolean {
    return netns === undefined || fs.existsSync(netnsPath(netns));
}

/**
 * Fails with a clear error unless a namespace made with `ip netns add` exists. Commands that take a
 * namespace argument need this: iproute2 reads an unknown name as a PID, and `netns 1` is the root.
 */
export function requireNetns(resource: string, property: string, netns: string | undefined): void {
    if (netnsExists(netns)) return;
    throw new Error(`${resource}: network namespace "${netns}" (${property}) does not exist under ${netnsDir}; ` +
        `create it first (e.g. with \`ip netns add ${netns}\` or a resource that makes it) or fix \`${property}\``);
}
