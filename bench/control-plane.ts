// Control-plane timings: wall-clock seconds of engine commands and of the recipe as a plain script.
import { Engine } from "../lab/engine";

export type Timings = Record<string, number[]>;

/** Runs `action` and records its wall-clock seconds under `key`. */
export async function timed<T>(timings: Timings, key: string, action: () => Promise<T>): Promise<T> {
    const start = process.hrtime.bigint();
    const result = await action();
    (timings[key] ??= []).push(Number(process.hrtime.bigint() - start) / 1e9);
    return result;
}

/** What a user runs: `up --yes` (preview, then update), `preview` of an unchanged stack, `destroy --yes`. */
export const engineCommands = {
    up: ["up", "--yes"],
    preview: ["preview", "--expect-no-changes"],
    destroy: ["destroy", "--yes"],
};

export async function timedUp(engine: Engine, timings: Timings): Promise<void> {
    await timed(timings, "up", () => engine.pulumi(engineCommands.up));
}

export async function timedPreview(engine: Engine, timings: Timings): Promise<void> {
    await timed(timings, "preview", () => engine.pulumi(engineCommands.preview));
}

export async function timedDestroy(engine: Engine, timings: Timings): Promise<void> {
    await timed(timings, "destroy", () => engine.pulumi(engineCommands.destroy));
}

/** One cycle of up, preview, destroy into `timings`. */
export async function engineCycle(engine: Engine, timings: Timings): Promise<void> {
    await timedUp(engine, timings);
    await timedPreview(engine, timings);
    await timedDestroy(engine, timings);
}
