// One description per resource: every property once, with how it is checked and defaulted, whether a
// change replaces the object or updates it in place, and which are outputs only. Check, diff (the one
// diff rule: recorded outputs against new inputs, unknown values during preview count as changes) and
// the keys a resource's constructor gives Pulumi all derive from it. The description is typed by the
// resource's Inputs and Outputs: a misspelt, missing or extra property is a compile error.
import type { Output } from "@pulumi/pulumi";
import { ownerFor } from "./owner";
import { CheckFailure, checkListProperty, checkProperty, isUnknown, sortedListInput } from "./validate";

/** A check rule (validate.ts): a reason when the value is bad, undefined when it is good. */
export type Problem<T> = (value: T) => string | undefined;

/** A list whose order means nothing to the kernel: each item checked, recorded sorted, absent as empty. */
export interface UnorderedList<Item> {
    items: Problem<Item>;
}

export function unorderedList<Item>(items: Problem<Item>): UnorderedList<Item> {
    return { items };
}

export interface InputProperty<T> {
    /** What a new value does: "replace" the object, or "update" it in place; unset: nothing (e.g. adopt). */
    change?: "replace" | "update";
    /** Skipped for an absent value and for an unknown one (preview): that one is checked at `up`. */
    check?: NonNullable<T> extends readonly (infer Item)[]
        ? UnorderedList<Item> | Problem<NonNullable<T>> : Problem<NonNullable<T>>;
    /** A missing value is a failure (else a list's absence means empty). */
    required?: boolean;
    /** The value recorded when the input is absent. */
    default?: T;
    /** An absent input means "whatever the kernel has" (e.g. mtu): leaving it unset is no change. */
    observed?: boolean;
}

/** A property only the provider sets; "update" when a recorded value of it (e.g. drift seen by read) needs one. */
export interface OutputProperty {
    output: true;
    change?: "update";
}

/** Every property of a resource: the keys of its Outputs, which include its Inputs. */
export type Properties<Inputs, Outputs extends Inputs> = {
    readonly [K in keyof Outputs]-?: K extends keyof Inputs ? InputProperty<Inputs[K]> : OutputProperty;
};

/**
 * A resource class's outputs, one Output per property but the owner mark's name and adopt; merged into
 * the class by an interface of the class's name (`export interface Bridge extends ResourceOutputs<BridgeOutputs> {}`).
 */
export type ResourceOutputs<Outputs> = { readonly [K in Exclude<keyof Outputs, "owner" | "adopt">]: Output<Outputs[K]> };

/** A property of any kind, as describeProperties reads it. */
interface AnyProperty {
    change?: "replace" | "update";
    check?: Problem<never> | UnorderedList<never>;
    required?: boolean;
    default?: unknown;
    observed?: boolean;
    output?: true;
}

/** Makes an args key that is no input (a misspelt or forgotten property) a compile error. */
export type NoExtraKeys<Args, Inputs> = { [K in Exclude<keyof Args, keyof Inputs>]: never };

export interface Description<Inputs, Outputs extends Inputs> {
    /** Every bad input named by its property; the inputs with defaults applied and lists sorted. */
    check(news: Record<string, unknown>): { inputs: Inputs; failures: CheckFailure[] };
    /** The recorded outputs against new inputs: replaces, updates, unknown values as changes. */
    diff(olds: Outputs, news: Inputs): DiffOutcome;
    /** Which of `keys` changed from the recorded outputs (unknowns count), e.g. those an update must act on. */
    changed(olds: Outputs, news: Inputs, keys: (keyof Outputs & string)[]): string[];
    /**
     * The props a constructor gives Pulumi: a key for every property first (Pulumi makes outputs only
     * of the keys it is given; undefined ones are not sent), then the args, then the owner mark's name.
     */
    resourceProps<Args extends object>(name: string, args: Args & NoExtraKeys<Args, Inputs>): Record<string, unknown>;
}

/** What diff tells the engine. */
export interface DiffOutcome {
    changes: boolean;
    replaces: string[];
    deleteBeforeReplace: boolean;
}

function sameValue(a: unknown, b: unknown): boolean {
    return JSON.stringify(a) === JSON.stringify(b);
}

/** The keys whose new input differs from the recorded output: unknown (preview) always, unset observed ones never. */
function changedProperties(
    olds: Record<string, unknown>, news: Record<string, unknown>, keys: string[], observed: string[],
): string[] {
    return keys.filter((key) => {
        const next = news[key];
        if (next === undefined && observed.includes(key)) return false;
        return isUnknown(next) || !sameValue(olds[key], next);
    });
}

function isList(check: AnyProperty["check"]): check is UnorderedList<never> {
    return typeof check === "object";
}

/**
 * The description of a resource (not named `describe`: mocha's is global in tests). `deleteBeforeReplace`
 * when a replacement would collide with the old object (same name, same owner mark).
 */
export function describeProperties<Inputs, Outputs extends Inputs>(
    properties: Properties<Inputs, Outputs>, { deleteBeforeReplace = false }: { deleteBeforeReplace?: boolean } = {},
): Description<Inputs, Outputs> {
    const entries = Object.entries(properties) as [string, AnyProperty][];
    const inputEntries = entries.filter(([, property]) => !property.output);
    const changing = (change: AnyProperty["change"]) => entries.filter(([, p]) => p.change === change).map(([key]) => key);
    const replaceOn = changing("replace");
    const updateOn = changing("update");
    const observed = entries.filter(([, p]) => p.observed).map(([key]) => key);
    const changedOf = (olds: unknown, news: unknown, keys: string[]) =>
        changedProperties(olds as Record<string, unknown>, news as Record<string, unknown>, keys, observed);
    return {
        check(news) {
            const failures: CheckFailure[] = [];
            const inputs: Record<string, unknown> = { ...news };
            for (const [key, { check, required, default: fallback }] of inputEntries) {
                if (isList(check)) {
                    const missing = news[key] === undefined || news[key] === null;
                    if (required && missing) failures.push({ property: key, reason: "is required" });
                    checkListProperty(failures, news, key, check.items);
                    inputs[key] = sortedListInput(news[key]);
                    continue;
                }
                checkProperty(failures, news, key, check ?? (() => undefined), !!required);
                if (fallback !== undefined) inputs[key] = news[key] ?? fallback;
            }
            return { inputs: inputs as Inputs, failures };
        },
        diff(olds, news) {
            const replaces = changedOf(olds, news, replaceOn);
            const changes = replaces.length > 0 || changedOf(olds, news, updateOn).length > 0;
            return { changes, replaces, deleteBeforeReplace: replaces.length > 0 && deleteBeforeReplace };
        },
        changed(olds, news, keys) {
            return changedOf(olds, news, keys);
        },
        resourceProps(name, args) {
            return { ...Object.fromEntries(entries.map(([key]) => [key, undefined])), ...args, owner: ownerFor(name) };
        },
    };
}
