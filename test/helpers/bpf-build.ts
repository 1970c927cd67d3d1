// Builds the programs in bpf/ with clang (no root needed) into a fresh temporary directory.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { clangArgv } from "../../provider/bpf";
import { run } from "../../provider/runner";

export interface BuiltObjects {
    dir: string;
    /** The object built from bpf/<name>.c. */
    path(name: string): string;
    remove(): void;
}

/** Compiles bpf/<name>.c for each name; mocha runs from the repository root. */
export async function buildBpfObjects(names: string[]): Promise<BuiltObjects> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "egress-xdp-objects-"));
    const built: BuiltObjects = {
        dir,
        path: (name) => path.join(dir, `${name}.o`),
        remove: () => fs.rmSync(dir, { recursive: true, force: true }),
    };
    try {
        for (const name of names) {
            await run({ resource: `build ${name}` }, clangArgv(path.resolve("bpf", `${name}.c`), built.path(name)));
        }
        return built;
    } catch (error) {
        built.remove();
        throw error;
    }
}

/** Builds the objects once before the suite's tests (mocha `before`) and removes them after; returns a getter. */
export function useBuiltObjects(names: string[]): () => BuiltObjects {
    let built: BuiltObjects | undefined;
    before(async function () {
        built = await buildBpfObjects(names);
    });
    after(() => built?.remove());
    return () => {
        if (!built) throw new Error("no objects: useBuiltObjects() hooks did not run");
        return built;
    };
}
