// Shared pieces of the bridge tests: a subscriber that records what arrives, waiting for
// conditions (never fixed sleeps), scratch directories, and a quiet logger that keeps lines.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MqttClient as MqttJsClient, IPublishPacket } from "mqtt";
import { afterAll } from "vitest";
import type { Logger } from "../../src/bridge/index.js";

export async function waitFor(condition: () => boolean, what: string, timeout = 10_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface Seen {
  topic: string;
  payload: string;
  retain: boolean;
  packet: IPublishPacket;
  at: number;
}

/** Records every message an MQTT.js client receives. */
export function record(client: MqttJsClient): Seen[] {
  const seen: Seen[] = [];
  client.on("message", (topic, payload, packet) => seen.push({ topic, payload: payload.toString(), retain: packet.retain, packet, at: performance.now() }));
  return seen;
}

/** Payloads seen on `topic`, in order. */
export const on = (seen: readonly Seen[], topic: string): string[] => seen.filter((m) => m.topic === topic).map((m) => m.payload);

/** A scratch directory for the calling suite, removed after it. */
export function useScratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `edgews-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A logger that keeps its lines (tests assert on them; nothing goes to the console). */
export function keepLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { lines, log: (level, message) => lines.push(`${level}: ${message}`) };
}
