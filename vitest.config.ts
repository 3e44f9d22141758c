import { fileURLToPath } from "node:url";
import { configDefaults, defineConfig } from "vitest/config";
import { skipNotice, skippedPeers, testFilesNeeding } from "./test/support/peers.js";

// EDGEWS_SKIP_PEERS=chromium,python leaves out the suites that need those peers (which apt-get
// would otherwise install), saying so before the run and again after it (test/support/peers.ts).
const skipped = skippedPeers();
const notRun = skipped.length > 0 ? testFilesNeeding(skipped, fileURLToPath(new URL(".", import.meta.url))) : new Map();
if (skipped.length > 0) console.warn(`\n${skipNotice(notRun, skipped)}\n`);

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: [...configDefaults.exclude, ...notRun.keys()],
    globalSetup: skipped.length > 0 ? ["test/support/skip-notice.ts"] : [],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Suites that start real peers pick their own ports; two workers fit a 2-core machine.
    maxWorkers: 2,
  },
});
