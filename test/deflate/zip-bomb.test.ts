// Zip bombs cost bounded work (issue 11): inflation stops for good at the limit, a message holds
// a zlib slot one turn at a time, and maxInflateTime cuts off a message that inflates to little
// but costs much. Timing bounds are orders of magnitude apart from the unbounded cost.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Limiter } from "../../src/deflate/limiter.js";
import { InflateTimeExceededError, MessageTooBigError, PerMessageDeflate, type DeflateOptions } from "../../src/deflate/permessage-deflate.js";
import { resetAndContinueBomb, workBomb, zerosBomb } from "./bombs.js";

const inflater = (options: Partial<DeflateOptions> = {}) => new PerMessageDeflate({ role: "server", params: {}, maxMessage: 1 << 20, ...options });
const compressed = (text: string) => new PerMessageDeflate({ role: "client", params: {}, maxMessage: 0 }).compress(Buffer.from(text));
const since = (start: number) => performance.now() - start;

describe("zip bombs cost bounded work", () => {
  it("inflation stops at the limit and frees the slot: 1 GiB of zeros after the cut is never inflated", async () => {
    // Inflated in full (as a reset-and-continue inflater did), the rest takes ~5 s of zlib work.
    const bomb = await resetAndContinueBomb(1 << 20, 1 << 30);
    const limiter = new Limiter(1);
    const started = performance.now();
    const refused = inflater({ limiter }).decompress(bomb).then(() => "inflated", (error: unknown) => error);
    // Another connection's message, queued for the only slot.
    const next = inflater({ limiter }).decompress(await compressed("next")).then(() => since(started));
    expect(await refused).toBeInstanceOf(MessageTooBigError);
    expect(since(started)).toBeLessThan(500);
    expect(await next).toBeLessThan(500);
  });

  it("after a refused message, every later one is refused at once, without a slot or any inflating", async () => {
    const limiter = new Limiter(1);
    const codec = inflater({ limiter });
    const failure = await codec.decompress(zerosBomb(64 << 20)).catch((error: unknown) => error);
    expect(failure).toMatchObject({ closeCode: 1009 });
    // The connection is failing with 1009: the messages behind the bomb cost nothing.
    await expect(codec.decompress(await compressed("behind the bomb"))).rejects.toBe(failure);
    let releaseSlot = () => {};
    const hold = limiter.run(() => new Promise<void>((resolve) => (releaseSlot = resolve)));
    const tooLate = new Promise((resolve) => setTimeout(resolve, 1000, "waiting for a slot"));
    await expect(Promise.race([codec.decompress(zerosBomb(64 << 20)), tooLate])).rejects.toBe(failure);
    expect(limiter.pending).toBe(0);
    releaseSlot();
    await hold;
  });

  it("maxInflateTime cuts off a message of empty blocks, which no output limit sees (1009)", async () => {
    const bomb = workBomb(16 << 20); // inflates to nothing in ~1.2 s of zlib work
    const started = performance.now();
    const failure = await inflater({ maxInflateTime: 100 }).decompress(bomb).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InflateTimeExceededError);
    expect(failure).toMatchObject({ closeCode: 1009, code: "WS_ERR_INFLATE_TIME_EXCEEDED" });
    expect((failure as Error).message).toMatch(/maxInflateTime \(100 ms\)/);
    // The budget plus at most one turn (~5 ms of work).
    expect(since(started)).toBeLessThan(600);
  });

  it("a long message gives its slot up between turns: a short one queued behind it goes first", async () => {
    const limiter = new Limiter(1);
    const started = performance.now();
    const long = inflater({ limiter, maxInflateTime: 0 }).decompress(workBomb(16 << 20)).then(() => since(started));
    const short = await inflater({ limiter }).decompress(await compressed("short")).then(() => since(started));
    expect(short).toBeLessThan(await long);
    expect(short).toBeLessThan(500); // a turn or two of the long message, not all ~1.2 s of it
  });

  it("maxInflateTime counts time on a slot, not time waiting for one", async () => {
    const limiter = new Limiter(1);
    // The hog takes its slot in 1 MiB turns of a work bomb: ~75 ms of zlib work each on a quiet
    // machine, longer on a loaded one.
    const hog = inflater({ limiter, maxInflateTime: 0, turnSize: 1 << 20 }).decompress(workBomb(16 << 20));
    // ~12 turns of 1 KiB (random base64 compresses to 3/4), each waiting behind a turn of the hog:
    // ~900 ms of waiting in all, yet its own turns take well under a millisecond each on a quiet
    // machine (the 400 ms budget leaves a loaded one 30 ms a turn).
    const text = randomBytes(12 * 1024).toString("base64");
    const started = performance.now();
    const inflated = await inflater({ limiter, maxInflateTime: 400, turnSize: 1024 }).decompress(await compressed(text));
    expect(Buffer.from(inflated).toString()).toBe(text);
    expect(since(started)).toBeGreaterThan(400);
    await hog;
  });

  it("close() mid-message fails the message within a turn and frees its slot", async () => {
    const limiter = new Limiter(1);
    const codec = inflater({ limiter, maxInflateTime: 0 });
    const pending = codec.decompress(workBomb(8 << 20)).then(() => "inflated", (error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const closedAt = performance.now();
    codec.close();
    expect(await pending).toMatchObject({ message: expect.stringMatching(/closed/) });
    expect(since(closedAt)).toBeLessThan(200);
    expect(limiter.pending).toBe(0);
    await limiter.run(async () => {});
  });
});
