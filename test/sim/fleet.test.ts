// The fleet in process: 32 devices at 10 messages per second (the bridge benchmark's load) on
// real pseudo-terminals, read by 32 bridge-role link ends; and a start that fails halfway
// undoes what it made.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { LinkSession, MessageKind } from "../../src/link/index.js";
import { startFleet } from "../../firmware-sim/fleet.js";
import { PtyError, TtyEnd } from "../../firmware-sim/pty.js";
import { ensureSocat } from "../support/pty.js";

// The simulator's pseudo-terminals are socat's.
beforeAll(ensureSocat, 300_000);

describe("a fleet of simulated devices", () => {
  it("runs 32 devices × 10 messages/s in one process, every reading arriving, for a fraction of a core", async () => {
    const startedAt = performance.now();
    const fleet = await startFleet({ devices: 32, rate: 10, seed: 12 });
    const startup = performance.now() - startedAt;
    const received = new Map<string, number>();
    const bridges = fleet.devices.map(({ id, path }) => {
      let end: TtyEnd | undefined;
      const link = new LinkSession({}, {
        write: (bytes) => end!.write(bytes),
        message: (kind) => void (kind === MessageKind.Telemetry && received.set(id, (received.get(id) ?? 0) + 1)),
      });
      end = new TtyEnd(path, (bytes) => link.receive(bytes), (error) => { throw error; });
      return { end, ticker: setInterval(() => link.tick(), 50) };
    });
    try {
      // Once every link is up, count for 3 s.
      const deadline = Date.now() + 10_000;
      while (fleet.devices.some(({ device }) => device.state !== "up") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(fleet.devices.filter(({ device }) => device.state !== "up").map(({ id }) => id)).toEqual([]);
      const before = new Map(received);
      const cpu = process.cpuUsage();
      const wall = performance.now();
      await new Promise((r) => setTimeout(r, 3000));
      const seconds = (performance.now() - wall) / 1000;
      const { user, system } = process.cpuUsage(cpu);
      const share = (user + system) / 1e6 / seconds;
      const rates = fleet.devices.map(({ id }) => ((received.get(id) ?? 0) - (before.get(id) ?? 0)) / seconds);
      console.log(`32 devices: started in ${startup.toFixed(0)} ms; ${Math.min(...rates).toFixed(1)}-${Math.max(...rates).toFixed(1)} readings/s each; ` +
        `${(share * 100).toFixed(1)}% of a core for the devices and their 32 bridge ends; rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
      // Each device's own clock drifts by up to 20 ppm and the last reading may fall either side of the window: ~30 per device.
      for (const rate of rates) expect(rate).toBeGreaterThan(8);
      expect(share).toBeLessThan(0.6);
      expect(startup).toBeLessThan(15_000);
    } finally {
      for (const { end, ticker } of bridges) {
        clearInterval(ticker);
        end.close();
      }
      await fleet.stop();
    }
    expect(existsSync(fleet.dir)).toBe(false);
  });

  it("starts all of its pty pairs or none: a taken path stops the start and removes what it made", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgews-fleet-"));
    try {
      writeFileSync(join(dir, "sim-relay-2"), "someone else's");
      const start = startFleet({ devices: 3, seed: 1, dir });
      await expect(start).rejects.toThrow(PtyError);
      await expect(start).rejects.toThrow(`${join(dir, "sim-relay-2")} exists already: is another simulator using it? Remove it or choose another directory`);
      // Only the file that was there before is left: the two pairs that did start were stopped and their links removed.
      expect(readdirSync(dir)).toEqual(["sim-relay-2"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
