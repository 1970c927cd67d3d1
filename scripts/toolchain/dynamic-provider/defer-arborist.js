// Preloaded (node --require) into Pulumi's Node.js dynamic-provider plugin. @pulumi/pulumi's runtime
// loads @npmcli/arborist at start for one use, finding the packages a closure needs when Pulumi
// serializes a function; the plugin never serializes anything, yet loading arborist and its
// dependencies takes about 0.3 s of every plugin start. Here the module is loaded at its first use
// instead: `require("@npmcli/arborist")` returns a stand-in that loads the real module when one of
// its properties is read. `__esModule: true` makes TypeScript's __importStar hand the stand-in
// through as it is instead of copying (and so loading) every property.
"use strict";
const Module = require("module");

const deferred = "@npmcli/arborist";
const load = Module._load;

Module._load = function (request, parent, isMain) {
    if (request !== deferred) return load.apply(this, arguments);
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
