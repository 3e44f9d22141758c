// spawnTsx: a TypeScript child with line-based stdout, signalled by its PID.
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { spawnTsx } from "../support/processes.js";

const CHILD = fileURLToPath(new URL("./fixtures/child.ts", import.meta.url));
const PARENT = fileURLToPath(new URL("./fixtures/parent.ts", import.meta.url));

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Polls until `pid` is gone (or `ms` pass). */
async function gone(pid: number, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

describe("spawnTsx", () => {
  it("runs TypeScript, reads stdout line by line in order, writes to stdin", async () => {
    const child = await spawnTsx(CHILD);
    try {
      const ready = await child.waitForLine(/^ready pid=(\d+)/, 20_000);
      expect(Number(ready[1])).toBe(child.pid);
      child.write("one\ntwo\n");
      await child.waitForLine(/^echo one$/);
      await child.waitForLine(/^echo two$/);
      // Matches are consumed: "echo one" is behind the cursor now.
      child.write("three\n");
      expect((await child.waitForLine(/^echo (one|three)$/))[1]).toBe("three");
    } finally {
      await child.kill("SIGKILL");
    }
  });

  it("kill('SIGKILL') ends the process at once (no handler runs)", async () => {
    const child = await spawnTsx(CHILD);
    await child.waitForLine(/^ready/, 20_000);
    expect(await child.kill("SIGKILL")).toEqual({ code: null, signal: "SIGKILL" });
    expect(child.lines).not.toContain("bye");
    expect(() => process.kill(child.pid, 0)).toThrow();
  });

  it("kill() sends SIGTERM and waits for the exit", async () => {
    const child = await spawnTsx(CHILD);
    await child.waitForLine(/^ready/, 20_000);
    expect(await child.kill()).toEqual({ code: 0, signal: null });
    expect(child.lines).toContain("bye");
  });

  it("waitForLine fails with the output when the process exits first, or on timeout", async () => {
    const crash = await spawnTsx(CHILD, ["crash"]);
    await expect(crash.waitForLine(/^ready/, 20_000)).rejects.toThrow(/exited \(\{"code":3,"signal":null\}\)[\s\S]*boom: failing on purpose/);

    const child = await spawnTsx(CHILD);
    try {
      await child.waitForLine(/^ready/, 20_000);
      await expect(child.waitForLine(/^never$/, 200)).rejects.toThrow(/timed out after 200 ms[\s\S]*ready pid=/);
    } finally {
      await child.kill("SIGKILL");
    }
  });

  it("killOnParentDeath: a daemon dies with its parent's SIGKILL, unless released", async () => {
    const guarded = await spawnTsx(PARENT, ["guarded"]);
    const g = Number((await guarded.waitForLine(/^daemon pid=(\d+)/, 20_000))[1]);
    const released = await spawnTsx(PARENT, ["released"]);
    const r = Number((await released.waitForLine(/^daemon pid=(\d+)/, 20_000))[1]);
    try {
      await guarded.kill("SIGKILL");
      await released.kill("SIGKILL");
      expect(await gone(g)).toBe(true);
      expect(alive(r)).toBe(true);
    } finally {
      if (alive(r)) process.kill(r, "SIGKILL");
      if (alive(g)) process.kill(g, "SIGKILL");
    }
  });

  it("a broker from startMosquitto dies when its test process is SIGKILLed", async () => {
    const parent = await spawnTsx(PARENT, ["mosquitto"]);
    const line = await parent.waitForLine(/^daemon pid=(\d+) dir=(\S+)/, 30_000);
    const pid = Number(line[1]);
    try {
      expect(alive(pid)).toBe(true);
      await parent.kill("SIGKILL");
      expect(await gone(pid)).toBe(true);
    } finally {
      if (alive(pid)) process.kill(pid, "SIGKILL");
      rmSync(line[2]!, { recursive: true, force: true });
    }
  });
});
