// The one diff rule every resource uses: compare the user's inputs with the recorded outputs,
// classify each change as in-place or replacing, and treat unknown values (preview) as changes.
import { isUnknown } from "./validate";

export interface DiffSpec {
    /** Properties whose change forces a replacement (names, namespaces, kinds). */
    replaceOn: string[];
    /** Properties the kernel changes in place. */
    updateOn: string[];
    /** Properties whose unset value means "whatever the kernel has" (e.g. mtu): unset is no change. */
    observed?: string[];
    /** Set when the replacement would collide with the old object's name. */
    deleteBeforeReplace?: boolean;
}

export interface DiffOutcome {
    changes: boolean;
    replaces: string[];
    deleteBeforeReplace: boolean;
}

function sameValue(a: unknown, b: unknown): boolean {
    return JSON.stringify(a) === JSON.stringify(b);
}

export function changedProperties(
    olds: Record<string, unknown>, news: Record<string, unknown>, keys: string[], observed: string[] = [],
): string[] {
    return keys.filter((key) => {
        const next = news[key];
        if (next === undefined && observed.includes(key)) return false;
        return isUnknown(next) || !sameValue(olds[key], next);
    });
}

export function diffProperties(olds: Record<string, unknown>, news: Record<string, unknown>, spec: DiffSpec): DiffOutcome {
    const replaces = changedProperties(olds, news, spec.replaceOn, spec.observed);
    const updates = changedProperties(olds, news, spec.updateOn, spec.observed);
    return {
        changes: replaces.length + updates.length > 0,
        replaces,
        deleteBeforeReplace: replaces.length > 0 && !!spec.deleteBeforeReplace,
    };
}
