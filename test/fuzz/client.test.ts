// Fuzzes our WebSocket client against an evil server on loopback: generated answers to its
// upgrade and, after valid 101s, generated frame streams (test/support/fuzz/). A fixed seed and
// input count here; `npm run bench -- soak` runs the same fuzzer seedless for longer. To replay:
// FUZZ_SEED=<seed> FUZZ_INPUTS=<count> npx vitest run test/fuzz/client.test.ts
import { it } from "vitest";
import { expectCleanFuzzRun } from "../support/fuzz/ci-run.js";
import { clientFuzzer } from "../support/fuzz/client-fuzzer.js";

/** 350 inputs: about 10 s on a quiet 2-core machine, so well under 20 s on a loaded one. */
it("ends as RFC 6455 says on generated server answers and frame streams, and keeps working", async () => {
  await expectCleanFuzzRun(await clientFuzzer(), { seed: 0x5eed_0012, inputs: 350 });
}, 60_000);
