// The fault suite's figures (e.g. "drift: 9 repaired of 9"): each suite records one entry per case and
// writes them, with its totals, into one JSON file that docs/RELIABILITY.md quotes.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "fs";
import * as path from "path";
import { projectRoot } from "../../lab/engine";

export interface FigureCase {
    name: string;
    /** Whether the case met its bar (repaired, recovered, refused, ...). */
    ok: boolean;
    seconds: number;
    [detail: string]: unknown;
}

/** Where figures go: $RELIABILITY_FIGURES, else next to the compiled tests (dist/ is not versioned). */
export function figuresPath(): string {
    return process.env.RELIABILITY_FIGURES
        ? path.resolve(process.env.RELIABILITY_FIGURES)
        : path.join(projectRoot, "dist", "reliability-figures.json");
}

/** Records one case: its name, whether it met the bar, how long it took, and what the test noted. */
export type CaseRunner = (name: string, body: (notes: Record<string, unknown>) => Promise<void>) => Promise<void>;

/**
 * Registers an `after` hook that writes this suite's cases under `suite` (other suites' entries in the
 * file stay) and prints the figure. Returns the runner that measures a case: it counts as met when
 * its body returns, and as missed when the body throws (the error still fails the test).
 */
export function useFigures(suite: string, measure: string): CaseRunner {
    const cases: FigureCase[] = [];
    after(function () {
        if (cases.length === 0) return;
        const file = figuresPath();
        const all = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown> : {};
        const ok = cases.filter((c) => c.ok).length;
        all[suite] = {
            measure, ok, total: cases.length, seconds: Math.round(cases.reduce((sum, c) => sum + c.seconds, 0)),
            date: new Date().toISOString(), cases,
        };
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`);
        console.log(`    figure ${suite}: ${ok} ${measure} of ${cases.length} (${file})`);
    });
    return async (name, body) => {
        const notes: Record<string, unknown> = {};
        const start = Date.now();
        let ok = false;
        try {
            await body(notes);
            ok = true;
        } finally {
            cases.push({ name, ok, seconds: Math.round((Date.now() - start) / 100) / 10, ...notes });
        }
    };
}
