// Fuzzes our WebSocketServer on loopback with generated upgrade requests and, after valid
// upgrades, generated frame streams (test/support/fuzz/). A fixed seed and input count here;
// `npm run bench -- soak` runs the same fuzzer seedless for longer. To replay a run:
// FUZZ_SEED=<seed> FUZZ_INPUTS=<count> npx vitest run test/fuzz/server.test.ts
import { expect, it } from "vitest";
import { formatReport, fuzz } from "../support/fuzz/runner.js";
import { serverFuzzer } from "../support/fuzz/server-fuzzer.js";

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_0011);
/** About 10 s on a quiet 2-core machine, so well under 20 s on a loaded one. */
const INPUTS = Number(process.env.FUZZ_INPUTS ?? 500);

it(`answers ${INPUTS} generated upgrade requests and frame streams as the RFCs say, and keeps serving`, async () => {
  const target = await serverFuzzer();
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
