// Loading @pulumi/pulumi's index loads two large modules that only serializing a function (a closure)
// needs: npm's @npmcli/arborist (which packages a closure needs) and typescript (parsing a function's
// text), about 0.7 s of CPU per Node.js process here. egress-xdp never serializes a closure: its dynamic
// resources name their provider by package (provider/dynamic.ts). Importing this module makes each of
// the two load at its first use instead: `require` returns a stand-in that loads the real module when
// one of its properties is read, so a program that does serialize a closure still works. Installed by
// importing it (egress-xdp/start, and the project's dynamic-provider plugin shim preloads it).
import Module = require("module");

const deferred = new Set(["@npmcli/arborist", "typescript"]);

type Load = (request: string, parent: unknown, isMain: boolean) => unknown;
const internals = Module as unknown as {
    _load: Load & { egressXdpDeferred?: true };
    _resolveFilename(request: string, parent: unknown, isMain: boolean): string;
    _cache: Record<string, unknown>;
};

/** Is the module already loaded (by ts-node, say)? Then it is handed out as it is. */
function loaded(request: string, parent: unknown, isMain: boolean): boolean {
    try {
        return internals._resolveFilename(request, parent, isMain) in internals._cache;
    } catch {
        return false;
    }
}

/** A stand-in whose every use loads the real module (once). */
function standIn(loadReal: () => object): object {
    // `__esModule: true` makes TypeScript's __importStar hand the stand-in through as it is instead of
    // copying (and so loading) every property.
    return new Proxy({}, {
        get: (_, key) => (key === "__esModule" ? true : (loadReal() as Record<string | symbol, unknown>)[key]),
        has: (_, key) => key in loadReal(),
        ownKeys: () => Reflect.ownKeys(loadReal()),
        getOwnPropertyDescriptor: (_, key) => {
            const descriptor = Object.getOwnPropertyDescriptor(loadReal(), key);
            return descriptor && { ...descriptor, configurable: true };
        },
    });
}

const load = internals._load;
if (!load.egressXdpDeferred) {
    const deferring: Load & { egressXdpDeferred?: true } = function (this: unknown, request, parent, isMain) {
        if (!deferred.has(request) || loaded(request, parent, isMain)) return load.call(this, request, parent, isMain);
        let real: object | undefined;
        return standIn(() => (real ??= load.call(internals, request, parent, isMain) as object));
    };
    deferring.egressXdpDeferred = true;
    internals._load = deferring;
}
