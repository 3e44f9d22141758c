// The C device library (firmware-sim/c) against the shared vectors (firmware-sim/vectors): the
// same byte sequences src/link is held to (test/link/vectors.test.ts). tests/vectors_check.c
// reads the JSON files itself, encodes and decodes every vector and plays both ends of every
// session transcript; here it is built strict and sanitized and run.
import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { VECTORS_DIR, compile, librarySources, tempDir } from "./harness.js";

const run = promisify(execFile);
const CHECK_SOURCES = ["tests/vectors_check.c", "tests/messages.c", "tests/sessions.c", "tests/check.c", "tests/json.c"];
/** The bridge's end of the transcripts has the spec's defaults: maxPacket 256, maxMessage 4096. */
const VECTOR_SIZES = ["-DEWL_MAX_PACKET=256", "-DEWL_MAX_MESSAGE=4096", "-DEWL_QUEUE_BYTES=4096", "-DEWL_QUEUE_MESSAGES=32"];

describe("firmware-sim/c against firmware-sim/vectors", () => {
  const dir = tempDir();
  afterAll(() => dir.dispose());

  it("reproduces every vector of every file, built with -std=c99 -Wall -Wextra -Werror -pedantic and ASan/UBSan", async () => {
    const binary = join(dir.path, "vectors_check");
    await compile(binary, [...librarySources(), ...CHECK_SOURCES], VECTOR_SIZES);
    const { stdout, stderr } = await run(binary, [VECTORS_DIR]).catch((error: { stdout: string; stderr: string }) => {
      throw new Error(`vectors_check failed:\n${error.stdout}\n${error.stderr}`);
    });
    expect(stderr).toBe("");
    const checked = [...stdout.matchAll(/^checking (\S+)$/gm)].map((m) => m[1]).sort();
    expect(checked).toEqual(readdirSync(VECTORS_DIR).filter((f) => f.endsWith(".json")).sort());
    const [, checks, failed] = /^(\d+) checks, (\d+) failed$/m.exec(stdout) ?? [];
    expect(Number(failed)).toBe(0);
    // Every vector counts: 6 CRCs, 12 COBS both ways, 13 packets, 12 streams in 4 chunkings, the messages, 4 transcripts both ways.
    expect(Number(checks)).toBeGreaterThan(500);
  }, 120_000);
});
