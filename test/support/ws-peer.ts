// The `ws` npm package as a peer we did not write: its server on 127.0.0.1 (port chosen by the OS)
// and its client, with waits bounded in time.
import type { AddressInfo } from "node:net";
import { WebSocket as WsSocket, WebSocketServer as WsServer, type ClientOptions as WsClientOptions, type ServerOptions as WsServerOptions } from "ws";
import { nextEvent, withDeadline, type CloseInfo } from "./interop.js";

export { WsServer, WsSocket };

export interface StartedWsServer {
  wss: WsServer;
  port: number;
  url: string;
  /** Drops every connection and stops listening. */
  close(): Promise<void>;
}

/** Starts ws's WebSocketServer on 127.0.0.1 with a port the OS picks. */
export async function startWsServer(options: Omit<WsServerOptions, "port" | "host" | "server" | "noServer"> = {}): Promise<StartedWsServer> {
  const wss = new WsServer({ ...options, port: 0, host: "127.0.0.1" });
  await withDeadline(
    new Promise<void>((resolve, reject) => {
      wss.once("listening", resolve);
      wss.once("error", reject);
    }),
    5000,
    "ws's server to listen",
  );
  const port = (wss.address() as AddressInfo).port;
  const close = async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  };
  return { wss, port, url: `ws://127.0.0.1:${port}`, close };
}

/** Resolves with ws's client once open; rejects with its error (or the status of an unexpected response). */
export function openWsClient(url: string, protocols?: string | string[], options: WsClientOptions = {}, ms = 10_000): Promise<WsSocket> {
  const ws = new WsSocket(url, protocols, options);
  const opened = new Promise<WsSocket>((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
  return withDeadline(opened, ms, `ws's client to open ${url}`).catch((error: unknown) => {
    ws.terminate();
    throw error;
  });
}

/**
 * The status code and body of the non-101 answer to ws's client (its 'unexpected-response'
 * event), within `ms`.
 */
export function refusalOf(url: string, options: WsClientOptions = {}, protocols?: string | string[], ms = 10_000): Promise<{ status: number; body: string }> {
  const ws = new WsSocket(url, protocols, options);
  ws.on("error", () => {}); // ws reports the aborted request too
  const refused = new Promise<{ status: number; body: string }>((resolve, reject) => {
    ws.once("open", () => reject(new Error(`expected ${url} to refuse ws's handshake, but it opened`)));
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
  });
  return withDeadline(refused, ms, `ws's client to be refused by ${url}`).finally(() => ws.terminate());
}

/** ws's close event: code and reason from its EventEmitter, wasClean from its WHATWG CloseEvent. */
export async function wsCloseOf(ws: WsSocket, ms = 20_000): Promise<CloseInfo> {
  const wasClean = new Promise<boolean>((resolve) => ws.addEventListener("close", (event) => resolve(event.wasClean), { once: true }));
  const [code, reason] = await nextEvent(ws, "close", ms);
  return { code: code as number, reason: (reason as Buffer).toString(), wasClean: await wasClean };
}
