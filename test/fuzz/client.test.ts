// Fuzzes our WebSocket client against an evil server on loopback: generated answers to its
// upgrade and, after valid 101s, generated frame streams (test/support/fuzz/). A fixed seed and
// input count here; `npm run bench -- soak` runs the same fuzzer seedless for longer. To replay:
// FUZZ_SEED=<seed> FUZZ_INPUTS=<count> npx vitest run test/fuzz/client.test.ts
import { expect, it } from "vitest";
import { clientFuzzer } from "../support/fuzz/client-fuzzer.js";
import { formatReport, fuzz } from "../support/fuzz/runner.js";

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_0012);
/** About 10 s on a quiet 2-core machine, so well under 20 s on a loaded one. */
const INPUTS = Number(process.env.FUZZ_INPUTS ?? 350);

it(`ends as RFC 6455 says on ${INPUTS} generated server answers and frame streams, and keeps working`, async () => {
  const target = await clientFuzzer();
  try {
    const report = await fuzz(target, { seed: SEED, inputs: INPUTS });
    console.log(formatReport(report));
    expect(report.inputs).toBe(INPUTS);
    expect(report.failures).toEqual([]);
    // Inputs that saw the event loop stall are set aside; most must count, or this proved little.
    expect(report.inconclusive.length).toBeLessThan(report.inputs / 10);
  } finally {
    await target.close();
  }
}, 60_000);
