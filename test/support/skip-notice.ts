// vitest's global setup when EDGEWS_SKIP_PEERS is set (vitest.config.ts): repeats, after every
// test has run, which test files were left out, so that a green summary is not read as all of them.
import { fileURLToPath } from "node:url";
import { skipNotice, skippedPeers, testFilesNeeding } from "./peers.js";

export default function setup(): () => void {
  return () => {
    const skipped = skippedPeers();
    const root = fileURLToPath(new URL("../../", import.meta.url));
    console.warn(`\n${skipNotice(testFilesNeeding(skipped, root), skipped)}\n`);
  };
}
