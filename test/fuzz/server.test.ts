// Fuzzes our WebSocketServer on loopback with generated upgrade requests and, after valid
// upgrades, generated frame streams (test/support/fuzz/). A fixed seed and input count here;
// `npm run bench -- soak` runs the same fuzzer seedless for longer. To replay a run:
// FUZZ_SEED=<seed> FUZZ_INPUTS=<count> npx vitest run test/fuzz/server.test.ts
import { it } from "vitest";
import { expectCleanFuzzRun } from "../support/fuzz/ci-run.js";
import { serverFuzzer } from "../support/fuzz/server-fuzzer.js";

/** 500 inputs: about 10 s on a quiet 2-core machine, so well under 20 s on a loaded one. */
it("answers generated upgrade requests and frame streams as the RFCs say, and keeps serving", async () => {
  await expectCleanFuzzRun(await serverFuzzer(), { seed: 0x5eed_0011, inputs: 500 });
}, 60_000);
