// The line-fault injector: the rate and mix of events measured over millions of bytes, what
// each kind of event does to the bytes, and damage that depends on the seed, not the chunking.
import { describe, expect, it } from "vitest";
import { LineFaults, type FaultKind } from "../../firmware-sim/faults.js";
import { Random } from "../../firmware-sim/random.js";
import { cut, seededBytes } from "../support/seeded.js";

function damage(faults: LineFaults, input: Uint8Array, chunk = 256): Uint8Array {
  const out: number[] = [];
  for (let at = 0; at < input.length; at += chunk) for (const b of faults.apply(input.subarray(at, at + chunk))) out.push(b);
  return Uint8Array.from(out);
}

/** Whether `short` is `long` with some bytes left out. */
function isSubsequence(short: Uint8Array, long: Uint8Array): boolean {
  let i = 0;
  for (let j = 0; j < long.length && i < short.length; j++) if (long[j] === short[i]) i++;
  return i === short.length;
}

function bitCount(x: number): number {
  let n = 0;
  for (; x; x &= x - 1) n++;
  return n;
}

describe("line faults", () => {
  it("hits bytes at the given rate, with the four kinds in equal shares", () => {
    for (const [rate, bytes] of [[1e-3, 2_000_000], [1e-4, 10_000_000]] as const) {
      const faults = new LineFaults({ errorRate: rate }, new Random(7));
      damage(faults, seededBytes(bytes, 1));
      const expected = rate * bytes;
      // Poisson counts: 5 standard deviations of 2,000 are 11%, of 1,000 are 16%.
      expect(Math.abs(faults.total - expected) / expected).toBeLessThan(rate === 1e-3 ? 0.11 : 0.16);
      for (const kind of ["flip", "drop", "insert", "burst"] as const) {
        expect(Math.abs(faults.counts[kind] - expected / 4) / (expected / 4)).toBeLessThan(rate === 1e-3 ? 0.23 : 0.32);
      }
    }
  });

  it("flips one bit of a byte, drops a byte, inserts one, or replaces a burst of 2 to 16", () => {
    const input = seededBytes(1_000_000, 2);
    const only = (kind: FaultKind) => {
      const faults = new LineFaults({ errorRate: 1e-3, mix: { [kind]: 1 } }, new Random(3));
      return { faults, output: damage(faults, input) };
    };

    const flips = only("flip");
    expect(flips.output.length).toBe(input.length);
    const flipped = input.map((b, i) => b ^ flips.output[i]).filter((x) => x !== 0);
    expect(flipped.length).toBe(flips.faults.counts.flip);
    expect(flipped.every((x) => bitCount(x) === 1)).toBe(true);

    const drops = only("drop");
    expect(drops.output.length).toBe(input.length - drops.faults.counts.drop);
    expect(isSubsequence(drops.output, input)).toBe(true);

    const inserts = only("insert");
    expect(inserts.output.length).toBe(input.length + inserts.faults.counts.insert);
    expect(isSubsequence(input, inserts.output)).toBe(true);

    const bursts = only("burst");
    expect(bursts.output.length).toBe(input.length);
    const changed = input.filter((b, i) => b !== bursts.output[i]).length;
    // Bursts of 2..16 random bytes (9 on average), each byte changed with odds 255/256; bursts rarely overlap at this rate.
    expect(changed / bursts.faults.counts.burst).toBeGreaterThan(8);
    expect(changed / bursts.faults.counts.burst).toBeLessThan(10);
    for (const faults of [flips, drops, inserts, bursts]) expect(faults.faults.total).toBeGreaterThan(800);
  });

  it("does the same damage to the same bytes whatever their chunking, and none at rate 0", () => {
    const input = seededBytes(300_000, 4);
    const whole = new LineFaults({ errorRate: 1e-3 }, new Random(5)).apply(input);
    const chunked = new LineFaults({ errorRate: 1e-3 }, new Random(5));
    const pieces = cut(input, { kind: "random", seed: 6, max: 40 }, 0).map((piece) => chunked.apply(piece));
    expect(Buffer.concat(pieces).equals(whole)).toBe(true);
    expect(Buffer.from(whole).equals(input)).toBe(false);

    const clean = new LineFaults({}, new Random(5));
    expect(clean.apply(input)).toBe(input);
    expect(clean.total).toBe(0);
  });

  it("refuses a rate or a mix it cannot honour, saying what it takes", () => {
    const random = new Random(1);
    expect(() => new LineFaults({ errorRate: 0.6 }, random)).toThrow(/errorRate must be from 0 to 0.5 \(errors per byte\), got 0.6/);
    expect(() => new LineFaults({ errorRate: Number.NaN }, random)).toThrow(/errorRate/);
    expect(() => new LineFaults({ errorRate: 1e-3, mix: { flip: 0 } }, random)).toThrow(/gives no kind any odds/);
    expect(() => new LineFaults({ errorRate: 1e-3, burstLength: [5, 2] }, random)).toThrow(/1 ≤ min ≤ max/);
  });
});
