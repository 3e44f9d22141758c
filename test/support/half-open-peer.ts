// Raw TCP peers that misbehave below WebSocket: they finish the upgrade, then never read again
// and never close (a half-open peer), and may write as fast as the other side reads.
import net from "node:net";
import { withDeadline } from "./interop.js";
import { requestHead, upgradeHeaders } from "./net.js";

/** Connects to our server on 127.0.0.1:`port`, upgrades, and stops reading. Destroy it when done. */
export async function halfOpenClient(port: number): Promise<net.Socket> {
  const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
  socket.on("error", () => {});
  socket.write(requestHead("/", upgradeHeaders()));
  try {
    await withDeadline(new Promise<void>((resolve) => {
      let head = "";
      const onData = (d: Buffer) => {
        head += d.toString("latin1");
        if (!head.includes("\r\n\r\n")) return;
        socket.off("data", onData);
        socket.pause();
        resolve();
      };
      socket.on("data", onData);
    }), 5000, "the upgrade");
  } catch (error) {
    socket.destroy();
    throw error;
  }
  return socket;
}

/** Writes `batch` over and over, as fast as the other side reads, until the socket is gone. */
export function flood(socket: net.Socket, batch: Buffer): void {
  const pump = () => {
    while (!socket.destroyed && socket.write(batch));
    if (!socket.destroyed) socket.once("drain", pump);
  };
  pump();
}
