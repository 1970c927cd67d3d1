// Built XDP objects, content-addressed: an object's file name is the hash of its C source and the
// clang argv that builds it, under /var/cache/egress-xdp/objects (EGRESS_XDP_CACHE overrides the
// directory). Nothing machine-specific reaches the state (it holds the source's path relative to the
// program's directory), and a wiped cache, `git clean` or a fresh clone only costs a rebuild.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { clangArgv } from "./bpf";
import { RunContext, run } from "./runner";

/** The cache's directory, resolved at run time. */
export function objectCacheDir(): string {
    return path.join(process.env.EGRESS_XDP_CACHE || "/var/cache/egress-xdp", "objects");
}

/** What a build of `source` reads: its content and that of the headers it includes by "name". */
export function buildInputs(source: string): Buffer {
    const text = fs.readFileSync(source);
    const headers = [...text.toString("utf8").matchAll(/^#include "([^"]+)"/gm)]
        .map((m) => fs.readFileSync(path.resolve(path.dirname(source), m[1])));
    return Buffer.concat([text, ...headers]);
}

/** The key of the object built from `source` (its build inputs): what the build reads and how it is built. */
export function objectKey(sourceContent: Buffer | string): string {
    return createHash("sha256").update(JSON.stringify(clangArgv("SOURCE", "OBJECT"))).update("\0").update(sourceContent)
        .digest("hex").slice(0, 32);
}

export function cachedObjectPath(key: string): string {
    return path.join(objectCacheDir(), `${key}.o`);
}

/**
 * The cached object of `source`, built with clang when it is missing (clang writes its output to a
 * temporary file and renames it, so a reader never sees half an object).
 */
export async function ensureObject(ctx: RunContext, source: string): Promise<string> {
    const object = cachedObjectPath(objectKey(buildInputs(source)));
    if (fs.existsSync(object)) return object;
    fs.mkdirSync(objectCacheDir(), { recursive: true });
    await run({ resource: ctx.resource }, clangArgv(source, object));
    return object;
}
