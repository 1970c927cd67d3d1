// One assertion for the diff rule every resource follows: which properties change in place, which
// force a replacement, and that an unknown value (preview) counts as the same kind of change.
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";

export const unknownValue = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/**
 * Checks provider.diff of `olds` against inputsFor({}) (no change), and against inputsFor({p: v}) and
 * inputsFor({p: unknown}) for every property of `inPlace` (update) and `replace` (delete, then create;
 * or create, then delete when `deleteBeforeReplace` is false, for objects whose replacement cannot collide).
 */
export async function expectDiffClasses(
    provider: pulumi.dynamic.ResourceProvider, id: string, olds: object,
    inputsFor: (extra: Record<string, unknown>) => object,
    changes: { inPlace: Record<string, unknown>; replace: Record<string, unknown> },
    { deleteBeforeReplace = true }: { deleteBeforeReplace?: boolean } = {},
): Promise<void> {
    const diff = (extra: Record<string, unknown>) => provider.diff!(id, olds, inputsFor(extra));
    expect(await diff({}), "no change").to.deep.include({ changes: false });
    for (const [property, value] of Object.entries(changes.inPlace)) {
        for (const next of [value, unknownValue]) {
            expect(await diff({ [property]: next }), `${property} -> ${String(next)}`)
                .to.deep.include({ changes: true, replaces: [] });
        }
    }
    for (const [property, value] of Object.entries(changes.replace)) {
        for (const next of [value, unknownValue]) {
            expect(await diff({ [property]: next }), `${property} -> ${String(next)}`)
                .to.deep.include({ changes: true, replaces: [property], deleteBeforeReplace });
        }
    }
}
