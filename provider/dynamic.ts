// What every dynamic provider needs between its methods and the engine.
import * as pulumi from "@pulumi/pulumi";

/**
 * Drops undefined values, deeply. The dynamic provider converts results to protobuf Structs, which
 * reject undefined ("Unexpected struct type"), and optional properties are often undefined.
 */
export function withoutUndefined<T>(value: T): T {
    return value === undefined ? value : JSON.parse(JSON.stringify(value)) as T;
}

// One wrapper per provider: Pulumi serializes a dynamic provider once per provider *object* (about
// 0.1 s each), so a fresh wrapper per resource would serialize it again for every instance.
const engineSafeProviders = new WeakMap<pulumi.dynamic.ResourceProvider, pulumi.dynamic.ResourceProvider>();

/** The provider with check, create, read and update results made safe for the engine. */
export function engineSafe(provider: pulumi.dynamic.ResourceProvider): pulumi.dynamic.ResourceProvider {
    const known = engineSafeProviders.get(provider);
    if (known) return known;
    const { check, create, read, update } = provider;
    const safe: pulumi.dynamic.ResourceProvider = {
        ...provider,
        ...(check && { check: async (olds, news) => withoutUndefined(await check(olds, news)) }),
        ...(create && { create: async (inputs) => withoutUndefined(await create(inputs)) }),
        ...(read && { read: async (id, props) => withoutUndefined(await read(id, props)) }),
        ...(update && { update: async (id, olds, news) => withoutUndefined(await update(id, olds, news)) }),
    };
    engineSafeProviders.set(provider, safe);
    return safe;
}
