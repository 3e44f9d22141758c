// A TCP proxy on 127.0.0.1 for fault tests: forwards bytes to a target port until told to go
// silent (a network that stops delivering) or to reset every connection (a crash, a NAT reboot).
import net from "node:net";

export interface FaultProxy {
  /** The proxy's own port on 127.0.0.1. */
  readonly port: number;
  /** `ws://127.0.0.1:port` + `path` (default "/"). */
  url(path?: string): string;
  /**
   * Stops forwarding both ways without closing anything: bytes and closes on either side are
   * held (not lost) until `resume()`, as TCP over a network that stopped delivering. New
   * connections are accepted and held too.
   */
  blackhole(): void;
  /** Forwards again, delivering what was held (including a close that happened meanwhile). */
  resume(): void;
  /** Resets every current connection on both sides (TCP RST), at once. */
  dropAll(): void;
  /** Connections currently proxied (open on at least one side). */
  readonly connections: number;
  /** Whether `blackhole()` is in effect. */
  readonly blackholed: boolean;
  /** Resets every connection and stops listening. */
  close(): Promise<void>;
}

/** One proxied connection: the accepted socket and the one to the target. */
class Pair {
  readonly sockets: [net.Socket, net.Socket];
  /** Set once either side is gone (closed or reset); the pair stays until both are. */
  done = false;

  constructor(
    readonly client: net.Socket,
    readonly upstream: net.Socket,
    readonly isHeld: () => boolean,
    readonly onGone: (pair: Pair) => void,
  ) {
    this.sockets = [client, upstream];
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.#forward(client, upstream);
    this.#forward(upstream, client);
    let closed = 0;
    for (const socket of this.sockets) {
      socket.on("error", () => {
        // A reset or a write after the other side left: 'close' follows.
      });
      socket.once("close", () => {
        if (++closed === 2) onGone(this);
      });
    }
    if (isHeld()) this.hold();
  }

  #forward(from: net.Socket, to: net.Socket): void {
    from.on("data", (chunk: Buffer) => {
      if (!to.write(chunk)) {
        from.pause();
        to.once("drain", () => {
          if (!this.isHeld()) from.resume();
        });
      }
    });
    // A FIN is forwarded as a FIN (half-close), a reset or an error as a reset.
    from.once("end", () => to.end());
    from.once("close", (hadError) => {
      if (this.isHeld()) return; // told on release()
      if (hadError) reset(to);
      else if (!to.writableEnded) to.end();
    });
  }

  /** Stops reading both sockets: nothing is forwarded, the kernel's buffers hold the bytes. */
  hold(): void {
    for (const socket of this.sockets) socket.pause();
  }

  release(): void {
    const [a, b] = this.sockets;
    // A side that closed while held: tell the other side now.
    for (const [from, to] of [[a, b], [b, a]] as const) {
      if (from.destroyed && !to.destroyed) {
        if (from.errored) reset(to);
        else to.end();
      }
    }
    for (const socket of this.sockets) if (!socket.destroyed) socket.resume();
  }

  reset(): void {
    for (const socket of this.sockets) reset(socket);
  }
}

function reset(socket: net.Socket): void {
  if (socket.destroyed) return;
  // resetAndDestroy() sends an RST; it throws on a socket that isn't connected yet.
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

/** Starts a proxy on 127.0.0.1 (port from the kernel) in front of 127.0.0.1:targetPort. */
export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  const pairs = new Set<Pair>();
  let held = false;
  const isHeld = () => held;

  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    const upstream = net.connect({ port: targetPort, host: "127.0.0.1" });
    upstream.pause();
    const pair = new Pair(client, upstream, isHeld, (p) => pairs.delete(p));
    pairs.add(pair);
    // The upstream connection is refused: the client sees a reset, as from a dead server.
    upstream.once("error", () => reset(client));
    upstream.once("connect", () => {
      if (!held) {
        client.resume();
        upstream.resume();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  let closing: Promise<void> | undefined;

  return {
    port,
    url: (path = "/") => `ws://127.0.0.1:${port}${path.startsWith("/") ? path : `/${path}`}`,
    blackhole() {
      held = true;
      for (const pair of pairs) pair.hold();
    },
    resume() {
      held = false;
      for (const pair of pairs) pair.release();
    },
    dropAll() {
      for (const pair of pairs) pair.reset();
    },
    get connections() {
      return pairs.size;
    },
    get blackholed() {
      return held;
    },
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const pair of pairs) pair.reset();
      })),
  };
}
