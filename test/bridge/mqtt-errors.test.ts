// What the bridge logs when its MQTT connection fails: the specific explanation (the error's
// `detail`), not only the ws-compatible message.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, expect, it } from "vitest";
import { startBridge } from "../../src/bridge/index.js";
import { MemoryStore } from "../../src/mqtt/index.js";
import { keepLog, waitFor } from "./helpers.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

it("logs a refused WebSocket handshake with its detail: the status, the hint and the body", async () => {
  const server = http.createServer((_req, res) => res.writeHead(401, { "Content-Type": "text/plain" }).end("token expired"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(resolve);
  }));
  const { log, lines } = keepLog();
  const bridge = await startBridge({
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/mqtt`,
    clientId: `bridge-refused-${process.pid}`,
    store: new MemoryStore(),
    // A port that is never there: the bridge keeps trying it, which is not what this test watches.
    ports: ["/dev/edgews-absent"],
    openPort: () => Promise.reject(new Error("no such port")),
    portReconnect: { initialDelay: 10_000, maxDelay: 10_000 },
    log,
  });
  cleanups.push(() => bridge.stop());
  await waitFor(() => lines.some((line) => line.startsWith("warn: mqtt: ")), "the MQTT error logged");
  expect(lines.find((line) => line.startsWith("warn: mqtt: "))).toBe(
    "warn: mqtt: Unexpected server response: 401 Unauthorized (expected 101 Switching Protocols): the server requires authentication: check the credentials or Authorization header. Body: token expired",
  );
});
