// Installs Debian packages that a test needs (CI runs on a fresh machine as root), saying so first.
// A package that can't be installed is an error naming the failing step, never a reason to skip a
// test; EDGEWS_SKIP_PEERS leaves such suites out before they run (see peers.ts).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { PEERS, peerOf, skippedPeers } from "./peers.js";

const run = promisify(execFile);
let queue: Promise<unknown> = Promise.resolve();

/**
 * `apt-get update` then `apt-get install -y --no-install-recommends ...packages`. Calls from one
 * process run one after another; a dpkg lock held by another process is waited for (up to 5 min).
 */
export function aptInstall(packages: string[]): Promise<void> {
  const skipped = peerOf(packages, skippedPeers());
  if (skipped) {
    return Promise.reject(new Error(
      `EDGEWS_SKIP_PEERS skips ${skipped}, yet a test asked apt-get for ${packages.join(" ")}: ` +
        `it must import ${PEERS[skipped].module} (directly or not) for vitest.config.ts to leave it out`,
    ));
  }
  const job = queue.then(() => install(packages));
  queue = job.catch(() => {});
  return job;
}

/** The line printed before apt-get runs. */
export function installNotice(packages: readonly string[]): string {
  const peer = peerOf(packages);
  const skip = peer ? `; EDGEWS_SKIP_PEERS=${peer} skips them instead` : "";
  return `apt-get is installing Debian's ${packages.join(", ")} (root needed) for the tests that run against it${skip}`;
}

async function install(packages: string[]): Promise<void> {
  console.warn(installNotice(packages));
  const lock = ["-o", "DPkg::Lock::Timeout=300"];
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const steps: Array<[string, string[]]> = [
    ["apt-get", [...lock, "update"]],
    ["apt-get", [...lock, "install", "-y", "--no-install-recommends", ...packages]],
  ];
  for (const [cmd, args] of steps) {
    try {
      await run(cmd, args, { env, maxBuffer: 64 * 1024 * 1024 });
    } catch (error) {
      const e = error as { message?: string; stderr?: string; stdout?: string };
      const output = `${e.stderr ?? ""}${e.stdout ?? ""}`.trim().split("\n").slice(-15).join("\n");
      const root = typeof process.getuid === "function" && process.getuid() !== 0 ? ` (not running as root: install Debian's ${packages.join(" ")} first)` : "";
      throw new Error(`\`${cmd} ${args.join(" ")}\` failed${root}: ${(e.message ?? String(error)).split("\n")[0]}\n${output}`);
    }
  }
}
