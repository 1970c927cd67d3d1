// What every dynamic resource needs between its provider and the engine.
import * as pulumi from "@pulumi/pulumi";

type Method = keyof pulumi.dynamic.ResourceProvider;

/** The package whose providers serve the resources, as the program that runs them installs it. */
export const packageName = "egress-xdp";

/** The major version of this package: a state written by another major is refused (see providerModuleText). */
export const packageMajor: string = (require("../../package.json") as { version: string }).version.split(".")[0];

/**
 * Drops undefined values, deeply. The dynamic provider converts results to protobuf Structs, which
 * reject undefined ("Unexpected struct type"), and optional properties are often undefined.
 */
export function withoutUndefined<T>(value: T): T {
    return value === undefined ? value : JSON.parse(JSON.stringify(value)) as T;
}

/** The methods whose results go to the engine as Structs. */
const structResults: ReadonlySet<Method> = new Set<Method>(["check", "create", "read", "update"]);

const providerKey = "__provider";

type Props = Record<string, unknown>;

/**
 * `provider` with its results made safe for the engine, and with a resource whose `__provider` text
 * changed (a state written by an older egress-xdp, e.g. one that named its code by path) updated in
 * place: diff reports a change, and update, when nothing else changed, touches nothing and returns
 * the old outputs, which the dynamic provider stores with the new text.
 */
export function servedProvider(provider: pulumi.dynamic.ResourceProvider): pulumi.dynamic.ResourceProvider {
    const methods = provider as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const safe: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const [method, implementation] of Object.entries(methods)) {
        safe[method] = structResults.has(method as Method)
            ? async (...args) => withoutUndefined(await implementation.apply(provider, args))
            : (...args) => implementation.apply(provider, args);
    }
    const { diff, update } = provider;
    if (diff) {
        safe.diff = async (id, olds, news) => {
            const result = await diff.call(provider, id as string, olds, news);
            const newText = (olds as Props)[providerKey] !== (news as Props)[providerKey];
            return result.changes === false && newText ? { ...result, changes: true } : result;
        };
        safe.update = async (id, olds, news) => {
            const unchanged = (await diff.call(provider, id as string, olds, news)).changes === false;
            if (unchanged || !update) {
                const { [providerKey]: _old, ...outs } = olds as Props;
                return { outs };
            }
            return withoutUndefined(await update.call(provider, id as string, olds, news));
        };
    }
    return safe as unknown as pulumi.dynamic.ResourceProvider;
}

/**
 * The `__provider` of a resource: the CommonJS module Pulumi's dynamic-provider process loads to get
 * the provider (it calls `handler()`). It names no path: it finds package egress-xdp the way the
 * program does, from the program's directory (the engine starts the plugin there), checks that its
 * major version is the one that wrote the state, and asks it for the provider of `type`. So the state
 * survives a moved directory, `git clean` and a fresh clone, and refresh, update and destroy run the
 * installed package's code.
 */
export function providerModuleText(type: string): string {
    const wrote = JSON.stringify(`${packageName}@${packageMajor}`);
    return `exports.handler = function () {
    const from = require("module").createRequire(require("path").join(process.cwd(), "package.json"));
    let version;
    try {
        version = from("${packageName}/package.json").version;
    } catch (error) {
        throw new Error("this resource's state was written by " + ${wrote} + ", which cannot be found from " + process.cwd() +
            " (" + String(error.message).split("\\n")[0] + "). Run pulumi in the program's directory, with " + ${wrote} + " installed there.");
    }
    if (version.split(".")[0] !== "${packageMajor}") {
        throw new Error("this resource's state was written by " + ${wrote} + ", but the program has ${packageName} " + version +
            ", which cannot read it: install " + ${wrote} + " to refresh or destroy this stack, then upgrade.");
    }
    return from("${packageName}/providers").providerOf(${JSON.stringify(type)});
};
`;
}

/**
 * A dynamic resource served by Pulumi's Node.js dynamic provider, like pulumi.dynamic.Resource (same
 * type token, same `__provider` key), whose provider is named by type (provider/providers.ts) instead
 * of serialized by Pulumi's closure serializer: that copies all of provider/ into every resource's
 * state and costs ~0.5 s per program run (it loads the TypeScript compiler and walks each closure).
 */
export abstract class DynamicResource extends pulumi.CustomResource {
    constructor(name: string, props: pulumi.Inputs, opts: pulumi.CustomResourceOptions | undefined, type: string) {
        super(`pulumi-nodejs:dynamic/egressxdp:${type}`, name, { ...props, [providerKey]: providerModuleText(type) }, opts);
    }
}
