// The bridge's live status as text: one line per port for a terminal or a log.
import type { BridgeStatus } from "./bridge.js";
import type { DeviceStatus } from "./device-session.js";

/** 1234 -> "1.2 kB": short enough for a status line. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** `/dev/ttyUSB0  gh-7 1.4.2  online  pkts 1200 ok 3 bad  in 45 kB out 3.1 kB  reconnects 1  tele 900 (0 dropped) rel 34  cmds 2` */
export function portLine(port: DeviceStatus): string {
  const device = port.device ? `${port.device} ${port.firmware ?? ""}`.trim() : "-";
  const parts = [
    port.port,
    device,
    port.state,
    `pkts ${port.packetsOk} ok ${port.packetsBad} bad`,
    `in ${formatBytes(port.bytesIn)} out ${formatBytes(port.bytesOut)}`,
    `reconnects ${port.reconnects}`,
    `tele ${port.telemetry} (${port.telemetryDropped} dropped) rel ${port.reliable}${port.reliableDropped ? ` (${port.reliableDropped} dropped)` : ""}`,
    `cmds ${port.commands}${port.timeouts ? ` (${port.timeouts} timed out)` : ""}`,
  ];
  if (port.pendingStore > 0) parts.push(`storing ${port.pendingStore}`);
  if (port.held > 0) parts.push(`held ${port.held} (no hello yet)`);
  if (port.badMessages > 0) parts.push(`bad msgs ${port.badMessages}`);
  return parts.join("  ");
}

/** The header line and one line per port. */
export function statusLines(status: BridgeStatus): string[] {
  const header = `mqtt ${status.mqtt}, ${status.mqttOutgoing} awaiting the broker, ${status.storeEntries} in the store`;
  return [header, ...status.ports.map(portLine)];
}
