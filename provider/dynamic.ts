// What every dynamic provider needs between its methods and the engine.
import * as pulumi from "@pulumi/pulumi";

/**
 * Drops undefined values, deeply. The dynamic provider converts results to protobuf Structs, which
 * reject undefined ("Unexpected struct type"), and optional properties are often undefined.
 */
export function withoutUndefined<T>(value: T): T {
    return value === undefined ? value : JSON.parse(JSON.stringify(value)) as T;
}

/** The provider with check, create, read and update results made safe for the engine. */
export function engineSafe(provider: pulumi.dynamic.ResourceProvider): pulumi.dynamic.ResourceProvider {
    const { check, create, read, update } = provider;
    return {
        ...provider,
        ...(check && { check: async (olds, news) => withoutUndefined(await check(olds, news)) }),
        ...(create && { create: async (inputs) => withoutUndefined(await create(inputs)) }),
        ...(read && { read: async (id, props) => withoutUndefined(await read(id, props)) }),
        ...(update && { update: async (id, olds, news) => withoutUndefined(await update(id, olds, news)) }),
    };
}
