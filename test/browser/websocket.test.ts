// `edgews` in a page: our WebSocket over the browser's (its "browser" export, bundled from the
// built package), in headless Chromium against our WebSocketServer: messages both ways, the
// server gone and back (reconnect with backoff), a peer that stops answering (heartbeat: dropped
// with 1006, then reconnected), and close() ending it for good.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { WebSocketServer } from "../../src/index.js";
import { bundleForBrowser, installPackage, type InstalledPackage } from "../support/browser-bundle.js";
import { launchChromium, type ChromiumSession } from "../support/chromium.js";
import { startServer } from "../support/net.js";
import { openPage, servePage, type PageServer } from "../support/page-server.js";

// The page keeps one socket in `window.socket` and logs what it fires in `window.seen`.
const APP = `
import { WebSocket } from "edgews";
window.seen = [];
window.connectSocket = (url, options) => {
  const socket = new WebSocket(url, [], options);
  socket.binaryType = "arraybuffer";
  socket.onopen = () => window.seen.push("open");
  socket.addEventListener("message", (e) => window.seen.push("message " + (typeof e.data === "string" ? e.data : "binary " + e.data.byteLength)));
  socket.onclose = (e) => window.seen.push("close " + e.code);
  socket.onerror = () => window.seen.push("error");
  socket.onreconnect = (e) => window.seen.push("reconnect " + e.detail.attempt);
  window.socket = socket;
};
`;

let installed: InstalledPackage | undefined;
let site: PageServer | undefined;
let browser: ChromiumSession | undefined;
let server: WebSocketServer | undefined;
let port = 0;
/** While true, the server ignores "ping" (a peer that stopped answering). */
let silent = false;

async function startEchoServer(): Promise<void> {
  const started = await startServer({}, port);
  server = started.wss;
  port = started.port;
  server.on("connection", (ws) =>
    ws.on("message", (data, isBinary) => {
      if (!isBinary && data.toString() === "ping") {
        if (!silent) ws.send("pong");
      } else ws.send(data, { binary: isBinary });
    }),
  );
}

beforeAll(async () => {
  installed = await installPackage();
  const bundle = await bundleForBrowser(APP, installed.dir);
  expect(bundle.nodeOnly).toEqual([]);
  site = await servePage(bundle.js);
  browser = await launchChromium();
}, 600_000);

afterAll(async () => {
  await server?.close();
  await browser?.close();
  await site?.close();
  await installed?.remove();
});

afterEach(async () => {
  await browser!.page.evaluate(() => (window as unknown as { socket?: { close(): void } }).socket?.close());
  await server?.close();
  server = undefined;
  silent = false;
});

const seen = () => browser!.page.evaluate(() => (window as unknown as { seen: string[] }).seen);

async function waitForSeen(what: string, count = 1, timeout = 10_000): Promise<string[]> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const events = await seen();
    if (events.filter((e) => e === what).length >= count) return events;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${count}× "${what}"; the page saw: ${events.join(", ")}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function openSocket(options: object): Promise<void> {
  await openPage(browser!.page, site!.url);
  await browser!.page.evaluate(([url, options]) => (window as unknown as { connectSocket(u: string, o: object): void }).connectSocket(url, options), [`ws://127.0.0.1:${port}/`, options] as const);
  await waitForSeen("open");
}

const send = (data: string) => browser!.page.evaluate((d) => (window as unknown as { socket: { send(d: string): void } }).socket.send(d), data);

describe("edgews's WebSocket in Chromium", () => {
  it("echoes, reconnects with backoff when the server goes and comes back, and close() ends it", async () => {
    await startEchoServer();
    await openSocket({ reconnect: { initialDelay: 50, maxDelay: 200 } });
    await send("hello");
    await waitForSeen("message hello");

    await server!.close(); // 1001 to every client
    await waitForSeen("reconnect 1");
    await startEchoServer();
    await waitForSeen("open", 2);
    await send("again");
    const events = await waitForSeen("message again");
    expect(events.slice(0, 4)).toEqual(["open", "message hello", "close 1001", "reconnect 1"]);
    expect(events).toContain("open");

    await browser!.page.evaluate(() => (window as unknown as { socket: { close(): void } }).socket.close());
    const end = await waitForSeen("close 1005");
    await new Promise((resolve) => setTimeout(resolve, 400)); // longer than maxDelay: no reconnect may follow
    expect((await seen()).slice(end.length)).toEqual([]);
    expect(await browser!.page.evaluate(() => (window as unknown as { socket: { readyState: number } }).socket.readyState)).toBe(3);
  });

  it("drops a peer that stops answering its heartbeat (1006) and reconnects", async () => {
    await startEchoServer();
    await openSocket({ heartbeat: { interval: 200, timeout: 200, message: "ping" }, reconnect: { initialDelay: 50, maxDelay: 100 } });
    await waitForSeen("message pong"); // answered: alive
    silent = true;
    await waitForSeen("close 1006", 1, 5_000);
    silent = false;
    const events = await waitForSeen("open", 2);
    const drop = events.indexOf("close 1006");
    expect(events.slice(drop - 1, drop + 2)).toEqual(["error", "close 1006", "reconnect 1"]);
  });
});
