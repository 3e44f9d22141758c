// A byte stream over a WebSocket (like ws's createWebSocketStream), for protocols that expect a
// Duplex, such as MQTT brokers and clients: every message's bytes are read in order, every write
// (or corked batch of writes) is sent as one binary message.
import { Duplex, type DuplexOptions } from "node:stream";
import type { WebSocket } from "../websocket/websocket.js";

const CONNECTING = 0;
const OPEN = 1;
const STATE_NAMES = ["CONNECTING", "OPEN", "CLOSING", "CLOSED"];

/**
 * Wraps `ws` (client or server side) in a Duplex. Text and binary messages are both read as
 * bytes, or, with `readableObjectMode: true`, one chunk per message: a string for a text
 * message, a Buffer for a binary one (as in ws). Backpressure: a write completes only once
 * `ws.bufferedAmount` is at most the stream's writableHighWaterMark; when the reader falls
 * behind, the socket stops being read.
 *
 * Closing: when the WebSocket closes, the readable side ends. `end()` starts the closing
 * handshake (1000) once everything is written; `destroy()` does too, so data already written
 * still goes out (an MQTT broker destroys the stream right after a refusing CONNACK);
 * `destroy(error)` drops the connection at once. Once both sides have ended (read to the end and
 * written to the end) the stream is destroyed before its 'end' listeners run, as ws's is.
 */
export function createWebSocketStream(ws: WebSocket, options: DuplexOptions = {}): Duplex {
  /** The callback of a write that waits for `ws.bufferedAmount` to go down. */
  let waiting: ((error?: Error | null) => void) | undefined;

  const duplex = new Duplex({
    // A closed WebSocket can't be written to: the writable side ends with the readable one.
    allowHalfOpen: false,
    ...options,
    objectMode: false,
    writableObjectMode: false,
    read() {
      if (ws.isPaused) ws.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      send(chunk, callback);
    },
    writev(chunks, callback) {
      send(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk as Buffer)), callback);
    },
    final(callback) {
      whenOpen(() => {
        if (ws.readyState === OPEN) ws.close(1000);
        callback();
      }, callback);
    },
    destroy(error, callback) {
      const release = waiting;
      waiting = undefined;
      release?.(error ?? new Error("the stream was destroyed"));
      if (error) ws.terminate();
      else if (ws.readyState === OPEN || ws.readyState === CONNECTING) ws.close(1000);
      callback(error);
    },
  });

  function whenOpen(then: () => void, fail: (error: Error) => void): void {
    if (ws.readyState !== CONNECTING) return then();
    const onOpen = () => {
      ws.off("close", onClose);
      then();
    };
    const onClose = () => {
      ws.off("open", onOpen);
      fail(new Error("the WebSocket closed before it opened"));
    };
    ws.once("open", onOpen);
    ws.once("close", onClose);
  }

  function send(bytes: Buffer, callback: (error?: Error | null) => void): void {
    whenOpen(() => {
      if (ws.readyState !== OPEN) return callback(notOpen(ws));
      try {
        ws.send(bytes, { binary: true });
      } catch (error) {
        return callback(error as Error);
      }
      if (ws.bufferedAmount <= duplex.writableHighWaterMark) return callback();
      waiting = callback;
      waitForDrain();
    }, callback);
  }

  /** Completes the waiting write once the WebSocket's buffer is down to the high-water mark. */
  function waitForDrain(): void {
    if (!waiting) return;
    if (ws.readyState !== OPEN) {
      const release = waiting;
      waiting = undefined;
      return release(notOpen(ws));
    }
    if (ws.bufferedAmount <= duplex.writableHighWaterMark) {
      const release = waiting;
      waiting = undefined;
      return release();
    }
    // The socket's buffer drains with 'drain'; a compression queue, a turn of the event loop later.
    const socket = ws.socket;
    if (socket && socket.writableLength > 0) socket.once("drain", waitForDrain);
    else setImmediate(waitForDrain);
  }

  // Pausing also holds back control frames, as with ws.
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    const chunk = !isBinary && duplex.readableObjectMode ? data.toString("utf8") : data;
    if (!duplex.push(chunk)) ws.pause();
  });
  // Listening first, so the user's 'end' listeners find the stream destroyed (Node's autoDestroy
  // would destroy it only after them).
  duplex.on("end", () => {
    if (duplex.writableFinished && !duplex.destroyed) duplex.destroy();
  });
  ws.once("close", () => {
    waitForDrain();
    if (!duplex.destroyed) duplex.push(null);
  });
  ws.on("error", (error: Error) => {
    if (!duplex.destroyed) duplex.destroy(error);
  });
  return duplex;
}

/** ws's error for a write to a WebSocket that is not open: "WebSocket is not open: readyState 3 (CLOSED)". */
function notOpen(ws: WebSocket): Error {
  return new Error(`WebSocket is not open: readyState ${ws.readyState} (${STATE_NAMES[ws.readyState]})`);
}
