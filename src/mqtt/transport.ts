// The byte stream under the MQTT client, chosen by the URL's scheme, as MQTT.js does: a WebSocket
// (ws:, wss:, subprotocol "mqtt") or plain TCP / TLS (mqtt:, tcp: / mqtts:, ssl:, tls:), for a
// gateway that talks to a broker on the same machine. The client sees only MqttTransport; this
// file is the one place that creates one.
import net from "node:net";
import tls from "node:tls";
import { WebSocket } from "../websocket/websocket.js";
import type { ClientOptions } from "../client/connect.js";
import { MqttProtocolError } from "./errors.js";

/** What the client needs of a connection: bytes out, how many wait, and the way to close it. */
export interface MqttTransport {
  /** Connected: bytes written now go out. */
  readonly open: boolean;
  /** Bytes written and not yet handed to the network. */
  readonly bufferedAmount: number;
  write(bytes: Uint8Array): void;
  /** Closes cleanly (WebSocket close 1000, TCP FIN). */
  close(): void;
  /** Drops the connection at once. */
  terminate(): void;
  /** Calls `listener` once, when the bytes waiting may have gone down (or the transport closed). */
  onceDrained(listener: () => void): void;
}

/** Told of what happens to a transport; `close` comes once, last. */
export interface TransportListeners {
  open(): void;
  data(bytes: Buffer): void;
  error(error: Error): void;
  close(): void;
}

/** TLS options for mqtts: (MQTT.js takes them at the top level of its options). */
export type TlsOptions = Pick<tls.ConnectionOptions, "ca" | "cert" | "key" | "passphrase" | "pfx" | "rejectUnauthorized" | "servername" | "ALPNProtocols">;

export interface TransportOptions {
  /** WebSocket options (headers, TLS, proxy…). */
  ws?: ClientOptions;
  /** TLS options of an mqtts:// connection. */
  tls?: TlsOptions;
}

const WEBSOCKET_SCHEMES = new Set(["ws:", "wss:"]);
const TCP_SCHEMES = new Set(["mqtt:", "tcp:"]);
const TLS_SCHEMES = new Set(["mqtts:", "ssl:", "tls:"]);

/** Throws a TypeError naming the schemes accepted unless `url` has one of them. */
export function checkScheme(url: URL): void {
  if (WEBSOCKET_SCHEMES.has(url.protocol) || TCP_SCHEMES.has(url.protocol) || TLS_SCHEMES.has(url.protocol)) return;
  throw new TypeError(`an MQTT URL needs one of the schemes ws:, wss:, mqtt:, tcp:, mqtts:, ssl:, tls:, not ${url.protocol}`);
}

/** Opens the transport for `url` (its scheme checked by checkScheme). */
export function openTransport(url: URL, options: TransportOptions, listeners: TransportListeners): MqttTransport {
  if (WEBSOCKET_SCHEMES.has(url.protocol)) return openWebSocket(url, options.ws, listeners);
  return openSocket(url, TLS_SCHEMES.has(url.protocol) ? (options.tls ?? {}) : undefined, listeners);
}

function openWebSocket(url: URL, options: ClientOptions | undefined, listeners: TransportListeners): MqttTransport {
  const ws = new WebSocket(url.href, "mqtt", { perMessageDeflate: false, ...options });
  ws.on("open", () => {
    if (ws.protocol === "mqtt") return listeners.open();
    listeners.error(new MqttProtocolError(`the server at ${url.href} did not accept the "mqtt" subprotocol`));
    ws.terminate();
  });
  ws.on("message", (data) => listeners.data(data as Buffer));
  ws.on("error", (error) => listeners.error(error));
  ws.on("close", () => listeners.close());
  return {
    get open() {
      return ws.readyState === WebSocket.OPEN;
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    write: (bytes) => ws.send(bytes, { binary: true }),
    close: () => ws.close(1000),
    terminate: () => ws.terminate(),
    // The socket's buffer drains with 'drain'; a compression queue, a turn of the event loop later.
    onceDrained: (listener) => {
      const socket = ws.socket;
      if (socket && socket.writableLength > 0) socket.once("drain", listener);
      else setImmediate(listener);
    },
  };
}

/** MQTT over TCP, or over TLS when `tlsOptions` is given (default ports 1883 / 8883, as MQTT.js). */
function openSocket(url: URL, tlsOptions: TlsOptions | undefined, listeners: TransportListeners): MqttTransport {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1") || "localhost";
  const port = url.port === "" ? (tlsOptions ? 8883 : 1883) : Number(url.port);
  const socket = tlsOptions
    ? tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }), ...tlsOptions })
    : net.connect({ host, port });
  let open = false;
  socket.setNoDelay(true);
  socket.once(tlsOptions ? "secureConnect" : "connect", () => {
    open = true;
    listeners.open();
  });
  socket.on("data", (data: Buffer) => listeners.data(data));
  socket.on("error", (error) => listeners.error(error));
  socket.on("close", () => {
    open = false;
    listeners.close();
  });
  return {
    get open() {
      return open && !socket.destroyed;
    },
    get bufferedAmount() {
      return socket.writableLength;
    },
    write: (bytes) => void socket.write(bytes),
    close: () => void socket.end(),
    terminate: () => void socket.destroy(),
    onceDrained: (listener) => {
      if (socket.writableLength > 0 && !socket.destroyed) socket.once("drain", listener);
      else setImmediate(listener);
    },
  };
}
