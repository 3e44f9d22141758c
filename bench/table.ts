// Human output on stderr: a line per result as it comes, a table per bench.
import { significant } from "./stats.js";
import type { BenchSpec, Result } from "./types.js";

const num = (x: number) => significant(x).toLocaleString("en-US", { maximumFractionDigits: 3 });

/** One result as it comes in: "mqtt qos1-publish vs mqtt: ours 91000 theirs 15000 msgs/s, ratio 6.1". */
export function resultLine(r: Result): string {
  return `${r.bench} ${r.case} vs ${r.baseline}: ours ${num(r.ours)} theirs ${num(r.theirs)} ${r.unit}, ratio ${r.ratio.toFixed(2)}`;
}

export function table(bench: BenchSpec, rows: readonly Result[]): string {
  const flavours = [...new Set(rows.map((r) => r.flavour))].join("/");
  // A unit column when cases have their own units (echo: rt/s, msgs/s, µs).
  const units = rows.some((r) => r.unit !== bench.unit);
  const head = ["case", `ours (${flavours})`, "theirs", ...(units ? ["unit"] : []), "baseline", "ratio", "ratio p25-p75"];
  const body = rows.map((r) => [r.case, num(r.ours), num(r.theirs), ...(units ? [r.unit] : []), r.baseline, r.ratio.toFixed(2), `${r.ratioP25.toFixed(2)}-${r.ratioP75.toFixed(2)}`]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((line) => line[i]!.length)));
  // Text columns left-aligned, numbers right-aligned.
  const left = new Set(units ? [0, 3, 4] : [0, 3]);
  const format = (cells: string[]) => cells.map((c, i) => (left.has(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  const repeats = rows[0]?.repeats ?? 0;
  const notes = bench.cases.flatMap((c) => (c.note && rows.some((r) => r.case === c.name) ? [c.note] : []));
  return [
    `${bench.name}: ${bench.header}`,
    `  (${bench.unit}; ratio = median of ${repeats} interleaved per-repeat ratios, p25-p75 shows its spread)`,
    format(head),
    format(widths.map((w) => "-".repeat(w))),
    ...body.map(format),
    ...notes,
    ...(bench.summary?.(rows) ?? []),
    "",
  ].join("\n");
}
