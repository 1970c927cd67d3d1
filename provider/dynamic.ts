// What every dynamic provider needs between its methods and the engine.
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

/** Loads the provider that `moduleFile` exports as `exportName`; runs in the dynamic-provider process. */
function loadProvider(moduleFile: string, exportName: string): pulumi.dynamic.ResourceProvider {
    let exported: Record<string, pulumi.dynamic.ResourceProvider>;
    try {
        exported = require(moduleFile);
    } catch (error) {
        throw new Error(`egress-xdp: cannot load ${moduleFile}, the provider code this stack's resources run ` +
            `(${(error as Error).message}). The state refers to the project's compiled code by path: build it ` +
            "there (`npx tsc`) or run pulumi from the checkout that created the stack.");
    }
    return exported[exportName];
}

// One reference per provider and program run: Pulumi serializes each provider object it meets.
const references = new Map<string, pulumi.dynamic.ResourceProvider>();

/**
 * What Pulumi serializes into the state for a resource of `provider`: the path of the compiled module
 * that exports it and the export's name. Serialized by value, a provider would carry all of provider/
 * into every resource's state and cost ~0.1 s per provider and program run; by reference, the
 * dynamic-provider process loads the project's code when the engine calls a method. So refresh,
 * update and destroy run the code of the checkout the stack lives in, compiled (`npx tsc`).
 */
export function byReference(
    provider: pulumi.dynamic.ResourceProvider, moduleFile: string, exportName: string,
): pulumi.dynamic.ResourceProvider {
    const key = `${moduleFile}#${exportName}`;
    if (!moduleFile.endsWith(".js") || require(moduleFile)[exportName] !== provider) {
        throw new Error(`egress-xdp: ${key} does not export this provider; ` +
            "run the program compiled (`npx tsc`; Pulumi.yaml main: dist/...), not through ts-node");
    }
    const known = references.get(key);
    if (known) return known;
    const reference: Partial<Record<Method, (...args: never[]) => Promise<unknown>>> = {};
    for (const method of Object.keys(provider) as Method[]) {
        const toStruct = structResults.has(method);
        // These closures are what Pulumi serializes: they capture strings, a flag and module functions.
        reference[method] = async (...args: unknown[]) => {
            const loaded = loadProvider(moduleFile, exportName) as Record<Method, (...args: unknown[]) => Promise<unknown>>;
            const result = await loaded[method](...args);
            return toStruct ? withoutUndefined(result) : result;
        };
    }
    references.set(key, reference as pulumi.dynamic.ResourceProvider);
    return reference as pulumi.dynamic.ResourceProvider;
}
