// EDGEWS_SKIP_PEERS (test/support/peers.ts): which names it takes, which test files a skipped peer
// leaves out, and that apt-get is never run for a skipped peer.
import { afterEach, describe, expect, it } from "vitest";
import { aptInstall, installNotice } from "../support/apt.js";
import { PROJECT_ROOT } from "../support/package-layout.js";
import { peerOf, skipNotice, skippedPeers, testFilesNeeding } from "../support/peers.js";

const saved = process.env.EDGEWS_SKIP_PEERS;
afterEach(() => {
  if (saved === undefined) delete process.env.EDGEWS_SKIP_PEERS;
  else process.env.EDGEWS_SKIP_PEERS = saved;
});

describe("EDGEWS_SKIP_PEERS", () => {
  it("takes a comma-separated list of known peers, and names the known ones when given another", () => {
    expect(skippedPeers(undefined)).toEqual([]);
    expect(skippedPeers("")).toEqual([]);
    expect(skippedPeers(" chromium, python,chromium ")).toEqual(["chromium", "python"]);
    expect(() => skippedPeers("chromium,chrome")).toThrow("EDGEWS_SKIP_PEERS names chrome: the peers are chromium, python, mosquitto, socat");
  });

  it("finds the peer of apt packages", () => {
    expect(peerOf(["mosquitto", "mosquitto-clients"])).toBe("mosquitto");
    expect(peerOf(["python3-websockets"], ["chromium"])).toBeUndefined();
    expect(peerOf(["gcc"])).toBeUndefined();
  });

  it("leaves out the test files that reach a skipped peer's module through their imports, and only those", () => {
    const needing = testFilesNeeding(["chromium", "socat"], PROJECT_ROOT);
    expect(needing.get("test/browser/core.test.ts")).toEqual(["chromium"]);
    expect(needing.get("test/interop/chromium.test.ts")).toEqual(["chromium"]);
    // Both import test/support/pty.ts.
    expect(needing.get("test/sim/fleet.test.ts")).toEqual(["socat"]);
    expect(needing.get("test/bridge/kill.test.ts")).toEqual(["socat"]);
    expect(needing.has("test/websocket/api.test.ts")).toBe(false);
    expect(needing.has("test/interop/python.test.ts")).toBe(false);
    expect(skipNotice(new Map([["test/a.test.ts", ["chromium"]]]), ["chromium"])).toBe(
      "EDGEWS_SKIP_PEERS=chromium: 1 test file(s) NOT RUN, neither passed nor failed:\n  test/a.test.ts (chromium)",
    );
  });

  it("is named in the line printed before apt-get installs a peer", () => {
    expect(installNotice(["mosquitto", "mosquitto-clients"])).toBe(
      "apt-get is installing Debian's mosquitto, mosquitto-clients (root needed) for the tests that run against it; EDGEWS_SKIP_PEERS=mosquitto skips them instead",
    );
    expect(installNotice(["gcc"])).toBe("apt-get is installing Debian's gcc (root needed) for the tests that run against it");
  });

  it("makes apt-get refuse a skipped peer's packages, naming the module a test must import", async () => {
    process.env.EDGEWS_SKIP_PEERS = "chromium";
    await expect(aptInstall(["chromium"])).rejects.toThrow(
      "EDGEWS_SKIP_PEERS skips chromium, yet a test asked apt-get for chromium: it must import test/support/chromium.ts (directly or not) for vitest.config.ts to leave it out",
    );
  });
});
