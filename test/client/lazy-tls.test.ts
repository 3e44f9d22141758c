// Node's TLS stack is loaded on first use only: a ws:// client never loads it (it is ~0.7 MB of
// live heap, enough to make V8 double its young generation). Checked in a fresh node process,
// since vitest's own worker may have loaded TLS already.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

// Echoes over ws:// on 127.0.0.1 (our server, our client), then reports what it loaded.
const SCRIPT = `
const { WebSocket, WebSocketServer } = await import("./src/index.ts");
await import("./src/mqtt/index.ts");
const server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
await new Promise((resolve) => server.once("listening", resolve));
server.on("connection", (ws) => ws.on("message", (data, binary) => ws.send(data, { binary })));
const ws = new WebSocket("ws://127.0.0.1:" + server.address().port);
const echoed = await new Promise((resolve, reject) => {
  ws.onopen = () => ws.send("ping");
  ws.onmessage = (event) => resolve(event.data);
  ws.onerror = (event) => reject(event.error);
});
ws.close();
await server.close();
const loaded = (name) => process.moduleLoadList.includes("NativeModule " + name);
console.log(JSON.stringify({ echoed, tls: loaded("tls"), https: loaded("https") }));
`;

describe("lazy TLS", () => {
  it("a ws:// client and server round trip loads neither node:tls nor node:https", async () => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", SCRIPT], { cwd: new URL("../../", import.meta.url), timeout: 30_000 });
    expect(JSON.parse(stdout)).toEqual({ echoed: "ping", tls: false, https: false });
  });
});
