// MQTT over plain TCP or TLS (mqtt:, tcp: / mqtts:, ssl:, tls:), for a gateway whose broker runs
// on the same machine. Default ports 1883 / 8883, as MQTT.js has them.
import net from "node:net";
import { loadTls } from "../../client/lazy-tls.js";
import { CLOSED, OPEN, type MqttTransport, type TlsOptions, type TransportHandlers } from "./transport.js";

/** `listener` once `socket` drains, or on the next turn when nothing waits in it (a WebSocket's compression queue may). */
export function onceDrained(socket: net.Socket | undefined, listener: () => void): void {
  if (socket && socket.writableLength > 0 && !socket.destroyed) socket.once("drain", listener);
  else setImmediate(listener);
}

const CONNECTING = 0;
const CLOSING = 2;

/** Connects to `url`'s host and port, over TLS when `tlsOptions` is given. */
export function openSocket(url: URL, tlsOptions: TlsOptions | undefined, handlers: TransportHandlers): MqttTransport {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1") || "localhost";
  const port = url.port === "" ? (tlsOptions ? 8883 : 1883) : Number(url.port);
  const socket = tlsOptions
    ? loadTls().connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }), ...(tlsOptions as import("node:tls").ConnectionOptions) })
    : net.connect({ host, port });
  let state = CONNECTING;
  socket.setNoDelay(true);
  socket.once(tlsOptions ? "secureConnect" : "connect", () => {
    state = OPEN;
    handlers.onOpen();
  });
  socket.on("data", (data: Buffer) => handlers.onMessage(data));
  socket.on("error", (error) => handlers.onError(error));
  socket.on("close", () => {
    state = CLOSED;
    handlers.onClose();
  });
  return {
    get readyState() {
      return state;
    },
    protocol: "mqtt",
    get bufferedAmount() {
      return socket.writableLength;
    },
    send: (data) => void socket.write(data),
    close: () => {
      if (state === OPEN) state = CLOSING;
      socket.end();
    },
    terminate: () => void socket.destroy(),
    onceDrained: (listener) => onceDrained(socket, listener),
  };
}
