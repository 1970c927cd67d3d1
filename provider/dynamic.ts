// What every dynamic resource needs between its provider and the engine.
import * as pulumi from "@pulumi/pulumi";

type Method = keyof pulumi.dynamic.ResourceProvider;

/**
 * Drops undefined values, deeply. The dynamic provider converts results to protobuf Structs, which
 * reject undefined ("Unexpected struct type"), and optional properties are often undefined.
 */
export function withoutUndefined<T>(value: T): T {
    return value === undefined ? value : JSON.parse(JSON.stringify(value)) as T;
}

/** The methods whose results go to the engine as Structs. */
const structResults: ReadonlySet<Method> = new Set<Method>(["check", "create", "read", "update"]);

/**
 * Loads the provider `moduleFile` exports as `exportName`, with its results made safe for the engine.
 * Runs in Pulumi's dynamic-provider process, called by the module that providerModuleText writes.
 */
export function loadProvider(moduleFile: string, exportName: string): pulumi.dynamic.ResourceProvider {
    const provider: Record<string, (...args: unknown[]) => Promise<unknown>> = require(moduleFile)[exportName];
    const safe: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const [method, implementation] of Object.entries(provider)) {
        safe[method] = structResults.has(method as Method)
            ? async (...args) => withoutUndefined(await implementation.apply(provider, args))
            : (...args) => implementation.apply(provider, args);
    }
    return safe as unknown as pulumi.dynamic.ResourceProvider;
}

/**
 * The `__provider` of a resource: the CommonJS module Pulumi's dynamic-provider process loads to get
 * the provider (it calls `handler()`). It loads the project's compiled code by path, so refresh,
 * update and destroy run the code of the checkout the stack lives in.
 */
export function providerModuleText(moduleFile: string, exportName: string): string {
    const loader = JSON.stringify(__filename);
    const file = JSON.stringify(moduleFile);
    return `exports.handler = function () {
    try {
        return require(${loader}).loadProvider(${file}, ${JSON.stringify(exportName)});
    } catch (error) {
        throw new Error("egress-xdp: cannot load this resource's provider from " + ${file} + " (" + error.message + "). " +
            "The state refers to the project's compiled code by path: build it there (npx tsc) or run pulumi from the " +
            "checkout that created the stack.");
    }
};
`;
}

/**
 * A dynamic resource served by Pulumi's Node.js dynamic provider, like pulumi.dynamic.Resource (same
 * type token, same `__provider` key), whose provider is referenced by path instead of serialized by
 * Pulumi's closure serializer: that copies all of provider/ into every resource's state and costs
 * ~0.5 s per program run (it loads the TypeScript compiler and walks each closure). `moduleFile` is
 * the compiled module that exports `provider` (the caller's `__filename`).
 */
export abstract class DynamicResource extends pulumi.CustomResource {
    constructor(provider: pulumi.dynamic.ResourceProvider, moduleFile: string, name: string, props: pulumi.Inputs,
        opts: pulumi.CustomResourceOptions | undefined, type: string) {
        const exported: Record<string, unknown> = moduleFile.endsWith(".js") ? require(moduleFile) : {};
        const exportName = Object.keys(exported).find((key) => exported[key] === provider);
        if (exportName === undefined) {
            throw new Error(`egress-xdp: ${moduleFile} does not export the provider of ${type}; ` +
                "run the program compiled (`npx tsc`; Pulumi.yaml main: dist/...), not through ts-node");
        }
        super(`pulumi-nodejs:dynamic/egressxdp:${type}`, name, { ...props, __provider: providerModuleText(moduleFile, exportName) }, opts);
    }
}
