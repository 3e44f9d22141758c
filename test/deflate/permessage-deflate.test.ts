// permessage-deflate codec: round trips, byte-level interop with ws's implementation in both
// directions, context takeover, and zip bombs.
import { randomBytes } from "node:crypto";
import zlib from "node:zlib";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { Limiter } from "../../src/deflate/limiter.js";
import { InvalidDeflateDataError, MessageTooBigError, PerMessageDeflate, type DeflateParams } from "../../src/deflate/permessage-deflate.js";

interface WsDeflate {
  accept(offers: object[]): object;
  compress(data: Buffer, fin: boolean, cb: (err: Error | null, out: Buffer) => void): void;
  decompress(data: Buffer, fin: boolean, cb: (err: Error | null, out: Buffer) => void): void;
  cleanup(): void;
}
// ws doesn't export its deflate module; load it by path.
const require = createRequire(import.meta.url);
const WsPerMessageDeflate = require(join(dirname(require.resolve("ws")), "lib/permessage-deflate.js")) as new (opts: object, isServer: boolean, maxPayload: number) => WsDeflate;

function wsDeflate(params: DeflateParams, isServer: boolean): WsDeflate {
  const d = new WsPerMessageDeflate({}, isServer, 0);
  const wire: Record<string, unknown> = {};
  // ws takes parameters as its header parser yields them: each value in an array.
  if (params.serverNoContextTakeover) wire.server_no_context_takeover = [true];
  if (params.clientNoContextTakeover) wire.client_no_context_takeover = [true];
  if (params.serverMaxWindowBits) wire.server_max_window_bits = [String(params.serverMaxWindowBits)];
  if (params.clientMaxWindowBits) wire.client_max_window_bits = [String(params.clientMaxWindowBits)];
  // A client accepts the server's response params as they are; a server normalizes an offer.
  d.accept([wire]);
  return d;
}
const wsCall = (d: WsDeflate, op: "compress" | "decompress", data: Buffer) =>
  new Promise<Buffer>((resolve, reject) => d[op](data, true, (err, out) => (err ? reject(err) : resolve(out))));

const sample = (n: number, seed = 1) => Buffer.from(Array.from({ length: n }, (_, i) => "edge sensor reading temperature humidity "[(i * seed) % 41]!.charCodeAt(0)));

const paramSets: DeflateParams[] = [
  {},
  { serverNoContextTakeover: true, clientNoContextTakeover: true },
  { serverMaxWindowBits: 9, clientMaxWindowBits: 9 },
  { serverMaxWindowBits: 12, clientNoContextTakeover: true },
  { clientMaxWindowBits: 10 },
];

describe("permessage-deflate", () => {
  for (const params of paramSets) {
    it(`client ⇄ server round trips with ${JSON.stringify(params)}, also against ws both ways`, async () => {
      const client = new PerMessageDeflate({ role: "client", params, maxMessage: 0 });
      const server = new PerMessageDeflate({ role: "server", params, maxMessage: 0 });
      const wsServer = wsDeflate(params, true);
      const wsClient = wsDeflate(params, false);
      for (const [i, msg] of [sample(0), sample(10), sample(5000, 3), randomBytes(3000), sample(70_000, 7)].entries()) {
        const fromClient = await client.compress(msg);
        expect(Buffer.from(await server.decompress(fromClient)).equals(msg), `ours→ours #${i}`).toBe(true);
        expect((await wsCall(wsServer, "decompress", Buffer.from(fromClient))).equals(msg), `ours→ws #${i}`).toBe(true);
        const fromWs = await wsCall(wsServer, "compress", msg);
        expect(Buffer.from(await client.decompress(fromWs)).equals(msg), `ws→ours #${i}`).toBe(true);
        // And the other direction of the same connection.
        const fromWsClient = await wsCall(wsClient, "compress", msg);
        expect(Buffer.from(await server.decompress(fromWsClient)).equals(msg)).toBe(true);
      }
      client.close();
      server.close();
      wsServer.cleanup();
      wsClient.cleanup();
    });
  }

  it("strips the 00 00 ff ff tail (RFC 7692 §7.2.1) and matches the RFC's 'Hello' example", async () => {
    const server = new PerMessageDeflate({ role: "server", params: { serverNoContextTakeover: true }, maxMessage: 0 });
    // RFC 7692 §7.2.3.1: "Hello" compressed without context takeover is f2 48 cd c9 c9 07 00.
    expect(Buffer.from(await server.compress(Buffer.from("Hello"))).toString("hex")).toBe("f248cdc9c90700");
    const client = new PerMessageDeflate({ role: "client", params: {}, maxMessage: 0 });
    expect(Buffer.from(await client.decompress(Buffer.from("f248cdc9c90700", "hex"))).toString()).toBe("Hello");
  });

  it("compresses each of several empty messages in a row to 0x00, which inflates to nothing", async () => {
    const client = new PerMessageDeflate({ role: "client", params: {}, maxMessage: 0 });
    const server = new PerMessageDeflate({ role: "server", params: {}, maxMessage: 0 });
    for (let i = 0; i < 3; i++) {
      // An empty stored block, its 00 00 ff ff stripped (RFC 7692 §7.2.1).
      const compressed = await client.compress(new Uint8Array(0));
      expect(Buffer.from(compressed).toString("hex"), `message ${i}`).toBe("00");
      expect((await server.decompress(compressed)).length).toBe(0);
    }
  });

  it("inflates every message that ends with a BFINAL block (RFC 7692 §7.2.3.4), not only the first", async () => {
    const client = new PerMessageDeflate({ role: "client", params: {}, maxMessage: 0 });
    // §7.2.3.4: "Hello" in one DEFLATE block with BFINAL set, then an empty stored block's header.
    const hello = Buffer.from("f348cdc9c907" + "0000", "hex");
    for (let i = 0; i < 3; i++) expect(Buffer.from(await client.decompress(hello)).toString(), `message ${i}`).toBe("Hello");
  });

  it("with context takeover a repeated message shrinks; without it, it does not", async () => {
    const msg = Buffer.from(randomBytes(1500).toString("base64"));
    const keep = new PerMessageDeflate({ role: "client", params: {}, maxMessage: 0 });
    const fresh = new PerMessageDeflate({ role: "client", params: { clientNoContextTakeover: true }, maxMessage: 0 });
    const [k1, k2] = [await keep.compress(msg), await keep.compress(msg)];
    const [f1, f2] = [await fresh.compress(msg), await fresh.compress(msg)];
    expect(k2.length).toBeLessThan(k1.length / 4);
    expect(Buffer.from(f2).equals(Buffer.from(f1))).toBe(true);
  });

  it("a zip bomb stops at maxMessage with 1009, and no later message is inflated", async () => {
    const bomb = zlib.deflateRawSync(Buffer.alloc(200 * 1024 * 1024), { level: 9 });
    expect(bomb.length).toBeLessThan(300 * 1024);
    const inflater = new PerMessageDeflate({ role: "server", params: {}, maxMessage: 1024 * 1024 });
    const before = process.memoryUsage().arrayBuffers;
    const failure = await inflater.decompress(bomb).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(MessageTooBigError);
    expect((failure as MessageTooBigError).closeCode).toBe(1009);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * 1024 * 1024);
    // 1009 fails the connection: what it sent after the bomb is refused, not inflated.
    const ok = new PerMessageDeflate({ role: "client", params: {}, maxMessage: 0 });
    await expect(inflater.decompress(await ok.compress(Buffer.from("after")))).rejects.toBe(failure);
  });

  it("garbage is an InvalidDeflateDataError with 1007", async () => {
    const inflater = new PerMessageDeflate({ role: "server", params: {}, maxMessage: 0 });
    const failure = await inflater.decompress(Buffer.from([0xff, 0xff, 0xff, 0x00, 0x12])).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(InvalidDeflateDataError);
    expect((failure as InvalidDeflateDataError).closeCode).toBe(1007);
  });

  it("refuses an 8-bit sending window, which zlib can't produce", () => {
    expect(() => new PerMessageDeflate({ role: "client", params: { clientMaxWindowBits: 8 }, maxMessage: 0 })).toThrow(/9\.\.15/);
    expect(() => new PerMessageDeflate({ role: "server", params: { clientMaxWindowBits: 8 }, maxMessage: 0 })).not.toThrow();
  });

  it("the limiter bounds concurrent jobs", async () => {
    const limiter = new Limiter(2);
    let running = 0;
    let peak = 0;
    const job = () => limiter.run(async () => {
      peak = Math.max(peak, ++running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
    });
    await Promise.all(Array.from({ length: 10 }, job));
    expect(peak).toBe(2);
    expect(limiter.pending).toBe(0);
  });

  it("the limiter hands a freed slot to the first job waiting, even if another asks in between", async () => {
    const limiter = new Limiter(1);
    const order: string[] = [];
    let running = 0;
    let peak = 0;
    const job = (name: string) => async () => {
      peak = Math.max(peak, ++running);
      order.push(name);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
    };
    let endFirst = () => {};
    const firstEnds = new Promise<void>((resolve) => (endFirst = resolve));
    const first = limiter.run(() => firstEnds);
    const second = limiter.run(job("second"));
    // Asks for a slot as soon as the first job ends: after the limiter saw it end, before
    // "second" has resumed.
    const late = firstEnds.then(() => limiter.run(job("late")));
    endFirst();
    await Promise.all([first, second, late]);
    expect(order).toEqual(["second", "late"]);
    expect(peak).toBe(1);
  });
});
