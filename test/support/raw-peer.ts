// A scripted raw-socket WebSocket peer for the conformance suites (test/conformance/): it completes
// the HTTP upgrade by hand (as a client against our server, or as a server against our client),
// then writes hand-built frames (see frames.ts) and parses the raw frames the other side sends.
import { createHash } from "node:crypto";
import net from "node:net";
import { withDeadline } from "./interop.js";
import { requestHead, upgradeHeaders } from "./net.js";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export const acceptKeyOf = (key: string): string => createHash("sha1").update(key + GUID).digest("base64");

export interface ParsedFrame {
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: number;
  masked: boolean;
  /** The masking key, when masked. */
  mask: Buffer | null;
  /** The payload, unmasked. */
  payload: Buffer;
  /** The frame's bytes as sent on the wire. */
  raw: Buffer;
}

/** Parses one frame from the front of `buf`, or null when it is not complete yet. */
export function parseFrame(buf: Buffer): ParsedFrame | null {
  if (buf.length < 2) return null;
  const b0 = buf[0]!;
  const b1 = buf[1]!;
  const masked = (b1 & 0x80) !== 0;
  let len = b1 & 0x7f;
  let off = 2;
  if (len === 126) {
    if (buf.length < 4) return null;
    len = buf.readUInt16BE(2);
    off = 4;
  } else if (len === 127) {
    if (buf.length < 10) return null;
    len = Number(buf.readBigUInt64BE(2));
    off = 10;
  }
  const maskLen = masked ? 4 : 0;
  if (buf.length < off + maskLen + len) return null;
  const mask = masked ? Buffer.from(buf.subarray(off, off + 4)) : null;
  const payload = Buffer.from(buf.subarray(off + maskLen, off + maskLen + len));
  if (mask) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
  return {
    fin: (b0 & 0x80) !== 0,
    rsv1: (b0 & 0x40) !== 0,
    rsv2: (b0 & 0x20) !== 0,
    rsv3: (b0 & 0x10) !== 0,
    opcode: b0 & 0x0f,
    masked,
    mask,
    payload,
    raw: Buffer.from(buf.subarray(0, off + maskLen + len)),
  };
}

/** One side of a raw TCP connection that has finished its upgrade. */
export class RawPeer {
  readonly socket: net.Socket;
  #buf: Buffer;
  readonly #frames: ParsedFrame[] = [];
  #ended = false;
  readonly #wake = new Set<() => void>();

  constructor(socket: net.Socket, leftover: Buffer = Buffer.alloc(0)) {
    this.socket = socket;
    this.#buf = leftover;
    socket.on("data", (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      this.#drain();
    });
    socket.on("end", () => this.#notify(() => (this.#ended = true)));
    socket.on("close", () => this.#notify(() => (this.#ended = true)));
    socket.on("error", () => {});
    this.#drain();
  }

  /** True once the other side ended or closed the TCP connection. */
  get ended(): boolean {
    return this.#ended;
  }

  get writable(): boolean {
    return !this.socket.destroyed && this.socket.writable;
  }

  send(...chunks: Uint8Array[]): void {
    if (this.writable) for (const c of chunks) this.socket.write(c);
  }

  /** Writes `data` one byte per write, yielding to the event loop every `every` bytes. */
  async sendBytewise(data: Uint8Array, every = 64): Promise<void> {
    for (let i = 0; i < data.length; i++) {
      if (!this.writable) return;
      this.socket.write(data.subarray(i, i + 1));
      if (i % every === every - 1) await new Promise((r) => setImmediate(r));
    }
  }

  /** The next frame the other side sent, within `ms`. */
  nextFrame(ms = 5000): Promise<ParsedFrame> {
    return withDeadline(
      (async () => {
        while (this.#frames.length === 0) {
          if (this.#ended) throw new Error("the connection ended before the next frame");
          await this.#sleep();
        }
        return this.#frames.shift()!;
      })(),
      ms,
      "a frame",
    );
  }

  /** Frames received within `ms` (until the connection ends or `ms` passes). */
  async framesWithin(ms: number): Promise<ParsedFrame[]> {
    await withDeadline(
      (async () => {
        while (!this.#ended) await this.#sleep();
      })(),
      ms,
      "",
    ).catch(() => {});
    return this.#frames.splice(0);
  }

  /** The next frame that is not a pong (pongs skipped). */
  async nextNonPong(ms = 5000): Promise<ParsedFrame> {
    for (;;) {
      const f = await this.nextFrame(ms);
      if (f.opcode !== 0xa) return f;
    }
  }

  /** Resolves once the other side has ended or closed TCP, within `ms`. */
  waitEnded(ms = 5000): Promise<void> {
    return withDeadline(
      (async () => {
        while (!this.#ended) await this.#sleep();
      })(),
      ms,
      "the TCP connection to end",
    );
  }

  destroy(): void {
    this.socket.destroy();
  }

  #drain(): void {
    let parsed = false;
    for (let f = parseFrame(this.#buf); f; f = parseFrame(this.#buf)) {
      this.#frames.push(f);
      this.#buf = this.#buf.subarray(f.raw.length);
      parsed = true;
    }
    if (parsed) this.#notify(() => {});
  }

  #notify(change: () => void): void {
    change();
    for (const w of [...this.#wake]) w();
  }

  #sleep(): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.#wake.delete(wake);
        resolve();
      };
      this.#wake.add(wake);
    });
  }
}

/** Collects an HTTP head from `socket`; calls back with it and the bytes that followed it. */
function onHead(socket: net.Socket, done: (head: string, rest: Buffer) => void): void {
  let buf = Buffer.alloc(0);
  const onData = (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    const end = buf.indexOf("\r\n\r\n");
    if (end < 0) return;
    socket.off("data", onData);
    done(buf.subarray(0, end).toString("latin1"), Buffer.from(buf.subarray(end + 4)));
  };
  socket.on("data", onData);
}

/** Connects to our server on 127.0.0.1:`port`, upgrades by hand; resolves with the peer and the 101's head. */
export function rawClient(port: number, extraHeaders: Record<string, string> = {}, ms = 5000): Promise<{ peer: RawPeer; head: string }> {
  const headers = upgradeHeaders(extraHeaders);
  const expectedAccept = acceptKeyOf(headers["Sec-WebSocket-Key"]!);
  return withDeadline(
    new Promise((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.setNoDelay(true);
      onHead(socket, (head, rest) => {
        if (!/^HTTP\/1\.1 101 /.test(head)) return reject(new Error(`upgrade refused: ${head}`));
        const accept = /\r\nsec-websocket-accept:\s*(\S+)/i.exec(head)?.[1];
        if (accept !== expectedAccept) return reject(new Error(`bad Sec-WebSocket-Accept in ${head}`));
        resolve({ peer: new RawPeer(socket, rest), head });
      });
      socket.once("error", reject);
      socket.write(requestHead("/", headers));
    }),
    ms,
    "the upgrade",
  );
}

/** A raw net.Server on 127.0.0.1 answering every upgrade by hand; `accept()` yields the next connection. */
export class RawServer {
  readonly server: net.Server;
  readonly #pending: Array<{ peer: RawPeer; request: string }> = [];
  readonly #waiters: Array<(p: { peer: RawPeer; request: string }) => void> = [];
  readonly #sockets = new Set<net.Socket>();

  constructor(responseHeaders: (request: string) => Record<string, string> = () => ({})) {
    this.server = net.createServer((socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
      socket.on("error", () => {});
      socket.setNoDelay(true);
      onHead(socket, (request, rest) => {
        const key = /\r\nsec-websocket-key:\s*(\S+)/i.exec(request)?.[1] ?? "";
        const extra = responseHeaders(request);
        const lines = [
          "HTTP/1.1 101 Switching Protocols",
          "Upgrade: websocket",
          "Connection: Upgrade",
          `Sec-WebSocket-Accept: ${acceptKeyOf(key)}`,
          ...Object.entries(extra).map(([k, v]) => `${k}: ${v}`),
        ];
        socket.write(`${lines.join("\r\n")}\r\n\r\n`);
        const conn = { peer: new RawPeer(socket, rest), request };
        const waiter = this.#waiters.shift();
        if (waiter) waiter(conn);
        else this.#pending.push(conn);
      });
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, "127.0.0.1", () => resolve((this.server.address() as net.AddressInfo).port));
    });
  }

  accept(ms = 5000): Promise<{ peer: RawPeer; request: string }> {
    const ready = this.#pending.shift();
    if (ready) return Promise.resolve(ready);
    return withDeadline(new Promise((resolve) => this.#waiters.push(resolve)), ms, "a connection to the raw server");
  }

  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
