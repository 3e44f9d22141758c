// The C library on its own (firmware-sim/c/tests/link_check.c), built with the default sizes,
// -std=c99 -Wall -Wextra -Werror -pedantic, ASan and UBSan: a C device and a C bridge-like end
// over a simulated line that damages 2 bytes in 1000 both ways (300 commands, each run once,
// each event and result delivered once), 5,000 random byte runs and random well-sealed
// packets into an established device (no memory error, every bound holds), and the API's
// refusals (init options, values, queue bounds, the peer's maxMessage, reentrancy, close).
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { compile, librarySources, tempDir } from "./harness.js";

const run = promisify(execFile);

describe("firmware-sim/c on its own", () => {
  const dir = tempDir();
  afterAll(() => dir.dispose());

  it("keeps exactly-once through line damage, survives arbitrary input, and refuses what it must with the reason", async () => {
    const binary = join(dir.path, "link_check");
    await compile(binary, [...librarySources(), "tests/link_check.c", "tests/check.c"]);
    const { stdout, stderr } = await run(binary, [], { timeout: 60_000 }).catch((error: { stdout: string; stderr: string }) => {
      throw new Error(`link_check failed:\n${error.stdout}\n${error.stderr}`);
    });
    console.log(stdout.trim());
    expect(stderr).toBe("");
    expect(stdout).toMatch(/^300 commands through damage/m);
    expect(stdout).toMatch(/^\d+ checks, 0 failed$/m);
  }, 120_000);
});
