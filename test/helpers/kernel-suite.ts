// The frame every kernel test uses: a fresh lab before each test, a snapshot of the lab's namespaces
// before and after, and the lab removed afterwards whatever happened.
import { Lab, LabModeOptions, createLab, destroyLab, labNamespaces } from "./lab";
import { expectSameSnapshot, snapshotAll } from "./snapshot";

/**
 * Registers beforeEach/afterEach hooks and returns a getter for the current lab. After each test the
 * lab's namespaces must look exactly as before it (the test must undo what it did), and the "before"
 * is the lab as it was made: like a fresh host, it has no iptables or ip6tables table at all. `mode`:
 * e.g. an IPv6 lab (lab/host.ts).
 */
export function useLab(mode: LabModeOptions = {}): () => Lab {
    let lab: Lab | undefined;
    let before: Record<string, string> = {};
    beforeEach(async function () {
        lab = await createLab(undefined, mode);
        before = await snapshotAll(await labNamespaces(lab), lab.id);
    });
    afterEach(async function () {
        if (!lab) return;
        try {
            if (this.currentTest?.state === "passed") {
                expectSameSnapshot(await snapshotAll(await labNamespaces(lab), lab.id), before, "lab state after the test");
            }
        } finally {
            await destroyLab(lab);
            lab = undefined;
        }
    });
    return () => {
        if (!lab) throw new Error("no lab: useLab() hooks did not run");
        return lab;
    };
}

/**
 * Polls `condition` until it holds or `timeoutMs` passes, for what the kernel finishes in the
 * background (e.g. a deleted namespace's links disappear a moment after `ip netns del`).
 */
export async function eventually(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
        if (Date.now() > deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return true;
}

/** The message `action` fails with, or "succeeded": for asserting that an operation is refused. */
export async function failureOf(action: Promise<unknown>): Promise<string> {
    try {
        await action;
    } catch (error) {
        return String(error);
    }
    return "succeeded";
}
