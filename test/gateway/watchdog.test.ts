// The gateway under systemd's notify protocol: a real `systemd-notify` writing to a unix
// datagram socket (socat's receiving end stands in for systemd): READY=1 once it serves,
// WATCHDOG=1 every half of WATCHDOG_USEC while healthy, STOPPING=1 on SIGTERM.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scratchDir, startGatewayProcess } from "../support/gateway.js";
import { killOnExit } from "../support/processes.js";
import { SOCAT, ensureSocat } from "../support/pty.js";

let scratch: ReturnType<typeof scratchDir>;
let received = "";
let stopReceiver = () => {};

beforeAll(async () => {
  await ensureSocat();
  scratch = scratchDir();
  const socket = join(scratch.dir, "notify");
  const receiver = spawn(SOCAT, ["-u", `UNIX-RECV:${socket}`, "-"], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((resolve) => receiver.once("exit", resolve));
  killOnExit(receiver, exited);
  receiver.stdout.setEncoding("utf8").on("data", (chunk: string) => (received += chunk));
  stopReceiver = () => receiver.kill();
  const deadline = Date.now() + 5000;
  while (!existsSync(socket) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
});

afterAll(() => {
  stopReceiver();
  scratch?.remove();
});

describe("systemd notify and watchdog", () => {
  it("says READY=1, feeds WATCHDOG=1 while healthy, and STOPPING=1 on SIGTERM", async () => {
    const gateway = await startGatewayProcess(["--state-dir", join(scratch.dir, "state"), "--log-level", "warn"], { NOTIFY_SOCKET: join(scratch.dir, "notify"), WATCHDOG_USEC: "400000" });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await gateway.stop()).toEqual({ code: 0, signal: null });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(received.startsWith("READY=1")).toBe(true);
    expect(received.match(/WATCHDOG=1/g)?.length ?? 0).toBeGreaterThanOrEqual(4);
    expect(received.endsWith("STOPPING=1")).toBe(true);
  }, 30_000);
});
