// wss:// both ways with a CA made in the test.
import https from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket as WsClient } from "ws";
import { WebSocket, WebSocketServer } from "../../src/index.js";
import { makeCertificate, type TestCertificate } from "../support/tls.js";

let cert: TestCertificate;
let server: https.Server;
let wss: WebSocketServer;
let url: string;

beforeAll(async () => {
  cert = makeCertificate();
  server = https.createServer({ cert: cert.cert, key: cert.key });
  wss = new WebSocketServer({ server, perMessageDeflate: true });
  wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `wss://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await wss.close();
  await new Promise((resolve) => server.close(resolve));
  cert.remove();
});

describe("TLS", () => {
  it("our client talks wss to our server when it trusts the CA", async () => {
    const ws = new WebSocket(url, undefined, { ca: cert.cert });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    const echo = new Promise<string>((resolve) => ws.once("message", (data) => resolve(data.toString())));
    ws.send("over TLS ✓");
    expect(await echo).toBe("over TLS ✓");
    expect(ws.extensions).toContain("permessage-deflate");
    ws.close(1000);
  });

  it("refuses a certificate it can't verify, naming the TLS error", async () => {
    const ws = new WebSocket(url);
    const error = new Promise<Error & { code?: string }>((resolve) => ws.once("error", resolve));
    const code = new Promise<number>((resolve) => ws.once("close", resolve));
    expect((await error).code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/);
    expect(await code).toBe(1006);
  });

  it("ws's client talks wss to our server", async () => {
    const ws = new WsClient(url, { ca: cert.cert });
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    const echo = new Promise<Buffer>((resolve) => ws.once("message", (data: Buffer) => resolve(data)));
    ws.send(Buffer.alloc(100_000, 5));
    expect((await echo).equals(Buffer.alloc(100_000, 5))).toBe(true);
    ws.close();
  });
});
