// systemd's notify protocol for `Type=notify` units: READY=1 once the gateway serves, then
// WATCHDOG=1 every half of WatchdogSec while the embedded broker and its store work, STOPPING=1 on the way out.
// Node cannot send on a unix datagram socket, so `systemd-notify` does (the unit sets
// NotifyAccess=all for it). Without NOTIFY_SOCKET (not under systemd) it does nothing.
import { execFile } from "node:child_process";
import type { Logger } from "pino";

export interface SystemdNotifier {
  stop(): void;
}

export function startSystemdNotifier(healthy: () => boolean, log: Logger, env: NodeJS.ProcessEnv = process.env): SystemdNotifier | undefined {
  if (!env.NOTIFY_SOCKET) return undefined;
  const notify = (state: string) =>
    execFile("systemd-notify", ["--no-block", state], { env }, (error) => {
      if (error) log.warn({ err: error.message }, `systemd-notify ${state} failed`);
    });
  notify("READY=1");
  const usec = Number(env.WATCHDOG_USEC);
  const timer = Number.isFinite(usec) && usec > 0
    ? setInterval(() => (healthy() ? notify("WATCHDOG=1") : log.warn("the broker or its store failed (see /healthz): not feeding systemd's watchdog")), usec / 2000)
    : undefined;
  return {
    stop() {
      clearInterval(timer);
      notify("STOPPING=1");
    },
  };
}
