// The latency figure: per-ping RTT histogram and CDF for every path, as a self-contained SVG.
import { rowFamily } from "./family";
import { PingSeries } from "./latency";
import { histogram, percentile } from "./stats";

const colors = ["#1b6ac9", "#d1495b", "#2e933c", "#8a5fbf", "#e08e0b"];
const width = 1000;
const height = 520;
const panel = { top: 50, bottom: 360, width: 420 };
const panelLefts = [70, 560];

const escapeXml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Round numbers for axis ticks: about `count` steps of 1, 2 or 5 times a power of ten. */
export function ticks(max: number, count = 5): number[] {
    const raw = max / count;
    const power = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
    return Array.from({ length: Math.floor(max / step) + 1 }, (_, i) => Math.round(i * step * 1e6) / 1e6);
}

function axes(left: number, xMax: number, yMax: number, xLabel: string, yLabel: string, title: string): string[] {
    const x = (v: number) => left + (v / xMax) * panel.width;
    const y = (v: number) => panel.bottom - (v / yMax) * (panel.bottom - panel.top);
    const parts = [
        `<text x="${left + panel.width / 2}" y="${panel.top - 14}" text-anchor="middle" font-weight="bold">${escapeXml(title)}</text>`,
        `<line x1="${left}" y1="${panel.bottom}" x2="${left + panel.width}" y2="${panel.bottom}" stroke="#333"/>`,
        `<line x1="${left}" y1="${panel.top}" x2="${left}" y2="${panel.bottom}" stroke="#333"/>`,
        `<text x="${left + panel.width / 2}" y="${panel.bottom + 38}" text-anchor="middle">${escapeXml(xLabel)}</text>`,
        `<text x="${left - 48}" y="${(panel.top + panel.bottom) / 2}" text-anchor="middle" ` +
            `transform="rotate(-90 ${left - 48} ${(panel.top + panel.bottom) / 2})">${escapeXml(yLabel)}</text>`,
    ];
    for (const t of ticks(xMax)) {
        parts.push(`<line x1="${x(t)}" y1="${panel.bottom}" x2="${x(t)}" y2="${panel.bottom + 5}" stroke="#333"/>`,
            `<text x="${x(t)}" y="${panel.bottom + 19}" text-anchor="middle">${t}</text>`);
    }
    for (const t of ticks(yMax)) {
        parts.push(`<line x1="${left}" y1="${y(t)}" x2="${left + panel.width}" y2="${y(t)}" stroke="#ddd"/>`,
            `<text x="${left - 8}" y="${y(t) + 4}" text-anchor="end">${t}</text>`);
    }
    return parts;
}

/**
 * Histogram (share of pings per 1 µs, ping's resolution) and CDF of the RTTs of every IPv4 path (the
 * IPv6 twins would double the curves; their figures are in the tables).
 */
export function renderLatencyPlot(all: PingSeries): string {
    const series = { ...all, paths: all.paths.filter((p) => !p.path.copyOf && rowFamily(p.path) === 4) };
    const micros = series.paths.map((p) => p.rtts.map((ms) => Math.round(ms * 1000)));
    const pooled = micros.flat().sort((a, b) => a - b);
    // Up to the 99.5th percentile of all pings: the far tail would squash the body of the plot.
    const xMax = Math.max(5, Math.ceil(percentile(pooled, 0.995) * 1.1));
    const bins = xMax + 1;
    const shares = micros.map((values) => histogram(values.filter((v) => v <= xMax), -0.5, xMax + 0.5, bins)
        .map((n) => (100 * n) / Math.max(1, values.length)));
    const yMaxHistogram = Math.max(...shares.flat()) * 1.08;

    const [histLeft, cdfLeft] = panelLefts;
    const hx = (v: number) => histLeft + (v / xMax) * panel.width;
    const hy = (v: number) => panel.bottom - (v / yMaxHistogram) * (panel.bottom - panel.top);
    const cx = (v: number) => cdfLeft + (v / xMax) * panel.width;
    const cy = (v: number) => panel.bottom - (v / 100) * (panel.bottom - panel.top);

    const parts = [
        `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
            `font-family="sans-serif" font-size="12">`,
        `<rect width="${width}" height="${height}" fill="white"/>`,
        ...axes(histLeft, xMax, yMaxHistogram, "round-trip time (µs)", "share of pings (%)",
            `RTT histogram, ${series.count.toLocaleString("en-US")} pings per path`),
        ...axes(cdfLeft, xMax, 100, "round-trip time (µs)", "pings at or below (%)", "RTT cumulative distribution"),
    ];
    series.paths.forEach((path, i) => {
        const color = colors[i % colors.length];
        // Step outline of the histogram: each 1 µs bin is a flat segment.
        const steps = shares[i].flatMap((share, bin) => [`${hx(Math.max(0, bin - 0.5))},${hy(share)}`, `${hx(Math.min(xMax, bin + 0.5))},${hy(share)}`]);
        parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.6" points="${steps.join(" ")}"/>`);
        const sorted = [...micros[i]].sort((a, b) => a - b);
        let below = 0;
        // A step at every whole µs (ping's resolution): flat between, rising at the value itself.
        const cdf: string[] = [`${cx(0)},${cy(0)}`];
        for (let us = 0; us <= xMax; us++) {
            cdf.push(`${cx(us)},${cy((100 * below) / Math.max(1, sorted.length))}`);
            while (below < sorted.length && sorted[below] <= us) below++;
            cdf.push(`${cx(us)},${cy((100 * below) / Math.max(1, sorted.length))}`);
        }
        parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.6" points="${cdf.join(" ")}"/>`);
        const s = path.summary;
        const legend = `${path.path.label}: mean ${(s.mean * 1000).toFixed(1)} µs, p50 ${(s.p50 * 1000).toFixed(0)}, p99 ${(s.p99 * 1000).toFixed(0)}`;
        const ly = panel.bottom + 62 + i * 17;
        parts.push(`<line x1="${histLeft}" y1="${ly - 4}" x2="${histLeft + 24}" y2="${ly - 4}" stroke="${color}" stroke-width="3"/>`,
            `<text x="${histLeft + 32}" y="${ly}">${escapeXml(legend)}</text>`);
    });
    parts.push("</svg>");
    return parts.join("\n");
}
