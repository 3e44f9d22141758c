// Ctrl-C on a terminal: SIGINT to the whole process group of `edgews gateway --demo`, as a shell
// started it. The simulator's socat processes (and their guards) run in groups of their own, so
// the signal reaches the gateway alone: it stops in order (the devices' lines still up while the
// bridge sets them offline), logs no warning on the way, exits 0, and leaves no socat behind.
import { readdirSync, readFileSync } from "node:fs";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scratchDir, startGatewayProcess, type GatewayProcess } from "../support/gateway.js";
import { ensureSocat } from "../support/pty.js";

let gateway: GatewayProcess;
let scratch: ReturnType<typeof scratchDir>;

beforeAll(async () => {
  await ensureSocat();
  scratch = scratchDir();
  gateway = await startGatewayProcess(["--demo", "--devices", "3", "--rate", "20", "--log-level", "warn", "--state-dir", `${scratch.dir}/state`], {}, { detached: true });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  scratch?.remove();
});

interface ProcessInfo {
  pid: number;
  comm: string;
  /** Its process group. */
  pgrp: number;
}

/** `parent`'s children, from /proc. */
function childrenOf(parent: number): ProcessInfo[] {
  const children: ProcessInfo[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its closing parenthesis.
      const [, ppid, pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(ppid) === parent) children.push({ pid: Number(entry), comm: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")), pgrp: Number(pgrp) });
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("Ctrl-C (SIGINT to the process group) with --demo", () => {
  it("stops cleanly: every device set offline by the bridge, no warning, status 0, no socat left", async () => {
    const pid = gateway.child.pid!;
    const children = childrenOf(pid);
    const socats = children.filter((c) => c.comm === "socat").map((c) => c.pid);
    expect(socats).toHaveLength(3);
    // Nothing the simulator started would get the terminal's SIGINT.
    expect(children.filter((c) => c.pgrp === pid)).toEqual([]);
    // Running, not starting: the bridge connected and every port open.
    const deadline = Date.now() + 10_000;
    while ((await fetch(`${gateway.httpUrl}healthz`)).status !== 200) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const watcher = await mqtt.connectAsync(gateway.mqttUrl!, { reconnectPeriod: 0 });
    const offline = new Set<string>();
    watcher.on("message", (topic, payload) => payload.toString() === "offline" && offline.add(topic));
    await watcher.subscribeAsync(["edgews/+/availability", "edgews/bridge/state"], { qos: 1 });
    // The broker disconnects the watcher as it stops: by then every message it had for it is read.
    const disconnected = new Promise<void>((resolve) => watcher.once("close", () => resolve()));

    // As a person would: Ctrl-C once readings flow. (A stop within ~100 ms of the devices coming
    // online lost their "offline" at this subscriber in most runs: reported, not covered here.)
    const reading = new Set<string>();
    watcher.on("message", (topic) => gateway.devices.includes(topic.slice("edgews/".length)) && reading.add(topic));
    await watcher.subscribeAsync("edgews/+", { qos: 0 });
    const readingsBy = Date.now() + 10_000;
    while (reading.size < gateway.devices.length) {
      expect(Date.now()).toBeLessThan(readingsBy);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    process.kill(-pid, "SIGINT");
    expect(await gateway.child.exited).toEqual({ code: 0, signal: null });
    await disconnected;

    expect(gateway.child.stderr()).toBe("");
    expect([...offline].sort()).toEqual([...gateway.devices.map((id) => `edgews/${id}/availability`), "edgews/bridge/state"].sort());
    expect(socats.filter(alive)).toEqual([]);
  }, 30_000);
});
