// An evil server for the client fuzzer: a raw net.Server on 127.0.0.1 that reads each upgrade
// request and hands the connection to the script registered for the request's path, which
// answers however it likes.
import net from "node:net";
import { WireSocket } from "./wire.js";

/** Plays one input's part: answers the upgrade, sends frames, watches what the client does. */
export type Script = (conn: WireSocket, key: string) => Promise<void>;

/** Time a client gets to send its request head. */
const REQUEST_HEAD_MS = 5000;

export class EvilServer {
  readonly #server: net.Server;
  readonly #scripts = new Map<string, Script>();
  readonly #sockets = new Set<net.Socket>();

  private constructor() {
    this.#server = net.createServer((socket) => this.#accept(socket));
  }

  static async start(): Promise<EvilServer> {
    const evil = new EvilServer();
    await new Promise<void>((resolve, reject) => {
      evil.#server.once("error", reject);
      evil.#server.listen(0, "127.0.0.1", () => resolve());
    });
    return evil;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** Connections still open: the client fuzzer's inputs must leave none behind. */
  get connections(): number {
    return this.#sockets.size;
  }

  /** Runs `script` for the request to `path`; resolves once it is done and the connection dropped. */
  expect(path: string, script: Script): Promise<void> {
    return new Promise((resolve) => {
      this.#scripts.set(path, (conn, key) => script(conn, key).finally(resolve));
    });
  }

  /** Forgets the script of a client that never came. */
  forget(path: string): void {
    this.#scripts.delete(path);
  }

  close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  async #accept(socket: net.Socket): Promise<void> {
    this.#sockets.add(socket);
    socket.on("close", () => this.#sockets.delete(socket));
    const conn = new WireSocket(socket);
    await conn.until(() => conn.head !== undefined || conn.ended, REQUEST_HEAD_MS);
    const path = /^GET (\S+) /.exec(conn.head ?? "")?.[1] ?? "";
    const key = /\r\nsec-websocket-key: *(\S+)/i.exec(conn.head ?? "")?.[1] ?? "";
    const script = this.#scripts.get(path);
    this.#scripts.delete(path);
    if (!script) return conn.destroy();
    try {
      await script(conn, key);
    } finally {
      conn.destroy();
    }
  }
}
