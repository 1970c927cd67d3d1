// Preloaded (node --require) into Pulumi's Node.js dynamic-provider plugin. @pulumi/pulumi's runtime
// loads two modules at start that only serializing a function (a closure) needs: @npmcli/arborist
// (which packages a closure needs) and typescript (parsing a function's text). The plugin never
// serializes anything, yet loading them takes about 0.5 s of CPU at every plugin start. Here each is
// loaded at its first use instead: `require(...)` returns a stand-in that loads the real module when
// one of its properties is read. `__esModule: true` makes TypeScript's __importStar hand the stand-in
// through as it is instead of copying (and so loading) every property.
"use strict";
const Module = require("module");

const deferred = new Set(["@npmcli/arborist", "typescript"]);
const load = Module._load;

Module._load = function (request, parent, isMain) {
    if (!deferred.has(request)) return load.apply(this, arguments);
    let real;
    const loadReal = () => (real ??= load.call(Module, request, parent, isMain));
    return new Proxy({}, {
        get: (_, key) => (key === "__esModule" ? true : loadReal()[key]),
        has: (_, key) => key in loadReal(),
        ownKeys: () => Reflect.ownKeys(loadReal()),
        getOwnPropertyDescriptor: (_, key) => {
            const descriptor = Object.getOwnPropertyDescriptor(loadReal(), key);
            return descriptor && { ...descriptor, configurable: true };
        },
    });
};
