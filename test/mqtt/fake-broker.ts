// A scripted MQTT "broker" on our WebSocketServer for flow tests: it records every packet the
// client sends and sends only what the test tells it to (CONNACK automatically unless disabled).
import { EventEmitter } from "node:events";
import mqttPacket, { type IConnackPacket, type Packet } from "mqtt-packet";
import type { WebSocket, WebSocketServer } from "../../src/index.js";
import { startServer } from "../support/net.js";

export class FakeConnection extends EventEmitter {
  readonly packets: Packet[] = [];
  closed = false;
  closeCode: number | undefined;
  constructor(
    readonly ws: WebSocket,
    readonly protocolVersion: 4 | 5,
  ) {
    super();
    const parser = mqttPacket.parser({ protocolVersion });
    parser.on("packet", (packet: Packet) => {
      this.packets.push(packet);
      this.emit("packet", packet);
    });
    ws.on("message", (data) => parser.parse(data));
    ws.on("close", (code) => {
      this.closed = true;
      this.closeCode = code;
      this.emit("closed");
    });
  }

  send(...packets: Packet[]): void {
    this.sendRaw(Buffer.concat(packets.map((p) => mqttPacket.generate(p, { protocolVersion: this.protocolVersion }))));
  }

  sendRaw(bytes: Uint8Array): void {
    if (!this.closed) this.ws.send(bytes, { binary: true });
  }

  /** Resolves with the n-th (0-based) packet matching `predicate`, waiting for it if needed. */
  next<T extends Packet = Packet>(predicate: (p: Packet) => boolean, index = 0, timeout = 5000): Promise<T> {
    const found = () => this.packets.filter(predicate)[index] as T | undefined;
    return new Promise((resolve, reject) => {
      const check = () => {
        const packet = found();
        if (!packet) return;
        cleanup();
        resolve(packet);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no packet #${index} matching ${predicate.toString()} within ${timeout} ms; got ${this.packets.map((p) => p.cmd).join(",")}`));
      }, timeout);
      const cleanup = () => {
        clearTimeout(timer);
        this.off("packet", check);
      };
      this.on("packet", check);
      check();
    });
  }

  of(cmd: Packet["cmd"]): Packet[] {
    return this.packets.filter((p) => p.cmd === cmd);
  }

  drop(): void {
    this.ws.terminate();
  }

  waitClosed(timeout = 5000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the client did not close the connection")), timeout);
      this.once("closed", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

export interface FakeBrokerOptions {
  protocolVersion?: 4 | 5;
  /** CONNACK sent on CONNECT (false: the test answers itself). Default: accepted, no session. */
  connack?: Partial<IConnackPacket> | false | ((n: number) => Partial<IConnackPacket> | false);
}

export interface FakeBroker {
  url: string;
  wss: WebSocketServer;
  connections: FakeConnection[];
  /** Resolves with the n-th (0-based) connection, once its CONNECT arrived. */
  connection(index: number, timeout?: number): Promise<FakeConnection>;
  close(): Promise<void>;
}

export async function startFakeBroker(options: FakeBrokerOptions = {}): Promise<FakeBroker> {
  const protocolVersion = options.protocolVersion ?? 4;
  const { wss, url } = await startServer({ handleProtocols: (offered) => (offered.has("mqtt") ? "mqtt" : false) });
  const connections: FakeConnection[] = [];
  const events = new EventEmitter();
  wss.on("connection", (ws) => {
    const connection = new FakeConnection(ws, protocolVersion);
    const n = connections.length;
    connection.once("packet", (packet: Packet) => {
      if (packet.cmd !== "connect") return;
      connections[n] = connection;
      events.emit("connection");
      const setting = typeof options.connack === "function" ? options.connack(n) : options.connack;
      if (setting === false) return;
      const base: IConnackPacket = protocolVersion === 5 ? { cmd: "connack", sessionPresent: false, reasonCode: 0 } : { cmd: "connack", sessionPresent: false, returnCode: 0 };
      connection.send({ ...base, ...setting } as IConnackPacket);
    });
    // Reserve the slot in arrival order.
    connections.push(undefined as unknown as FakeConnection);
    connections[n] = connection;
  });
  return {
    url,
    wss,
    connections,
    connection: (index, timeout = 5000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const c = connections[index];
          if (c && c.packets.some((p) => p.cmd === "connect")) {
            clearTimeout(timer);
            events.off("connection", check);
            resolve(c);
          }
        };
        const timer = setTimeout(() => {
          events.off("connection", check);
          reject(new Error(`no connection #${index} within ${timeout} ms (have ${connections.length})`));
        }, timeout);
        events.on("connection", check);
        check();
      }),
    close: async () => {
      for (const c of connections) c?.drop();
      await wss.close();
    },
  };
}
