import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ByteArena } from "../../src/mqtt/arena.js";
import { RecordQueue } from "../../src/mqtt/record-queue.js";

/** Distinct bytes for each `seq`, as a Buffer (the queue hands out Buffer views in Node). */
function recordOf(seq: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (seq * 31 + i) & 0xff;
  return out;
}

describe("RecordQueue", () => {
  it("gives back what was pushed, in order, with its id and sent flag", () => {
    const q = new RecordQueue();
    q.push(3, 100, false, recordOf(3, 10));
    q.push(7, 200, true, recordOf(7, 20));
    expect(q.length).toBe(2);
    expect(q.bytes).toBe(30);
    expect(q.firstSeq).toBe(3);
    expect(q.shift()).toEqual({ seq: 3, messageId: 100, sent: false, record: recordOf(3, 10) });
    expect(q.shift()).toEqual({ seq: 7, messageId: 200, sent: true, record: recordOf(7, 20) });
    expect(q.shift()).toBeUndefined();
    expect(q.firstSeq).toBe(Infinity);
    expect(q.bytes).toBe(0);
  });

  it("does not copy: what it gives back is a view on the pushed bytes", () => {
    const q = new RecordQueue();
    const arena = new ByteArena();
    const pushed = [arena.copy(recordOf(1, 8)), arena.copy(recordOf(2, 8))];
    q.push(1, 1, false, pushed[0]!);
    q.push(2, 2, false, pushed[1]!);
    for (const p of pushed) {
      const { record } = q.shift()!;
      expect(record.buffer).toBe(p.buffer);
      expect([record.byteOffset, record.length]).toEqual([p.byteOffset, p.length]);
    }
  });

  it("refuses a sequence number that does not rise", () => {
    const q = new RecordQueue();
    q.push(5, 1, false, recordOf(5, 4));
    expect(() => q.push(5, 2, false, recordOf(5, 4))).toThrow(RangeError);
  });

  it("holds 100,000 records from arena chunks; views taken earlier stay intact as chunks are released", () => {
    const q = new RecordQueue();
    const arena = new ByteArena();
    const taken: Array<{ seq: number; record: Uint8Array }> = [];
    for (let seq = 0; seq < 100_000; seq++) {
      q.push(seq, (seq % 65_535) + 1, seq % 2 === 0, arena.copy(recordOf(seq, 50 + (seq % 90))));
      if (seq % 3 === 0) taken.push(q.shift()!);
    }
    while (q.length > 0) taken.push(q.shift()!);
    expect(taken.map((t) => t.seq)).toEqual(Array.from({ length: 100_000 }, (_, i) => i));
    const damaged = taken.filter(({ seq, record }) => Buffer.compare(record, recordOf(seq, 50 + (seq % 90))) !== 0);
    expect(damaged.map((t) => t.seq)).toEqual([]);
  });

  it("takes records of any buffers, in any pattern (an arena chunk, a buffer of its own, the chunk again)", () => {
    const q = new RecordQueue();
    const arena = new ByteArena();
    const records = [arena.copy(recordOf(1, 10)), arena.copy(recordOf(2, 200_000)), arena.copy(recordOf(3, 10))];
    records.forEach((r, i) => q.push(i + 1, i + 1, false, r));
    expect([1, 2, 3].map(() => q.shift()!.record)).toEqual(records);
  });

  it("behaves as an array of its records under any mix of pushes, shifts and clears", () => {
    const op = fc.oneof(fc.record({ push: fc.integer({ min: 0, max: 300 }) }), fc.constant("shift" as const), fc.constant("clear" as const));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const q = new RecordQueue();
        const model: Array<{ seq: number; record: Uint8Array }> = [];
        let seq = 0;
        for (const o of ops) {
          if (o === "shift") {
            const got = q.shift();
            const want = model.shift();
            expect(got?.seq).toBe(want?.seq);
            if (want) expect(got!.record).toEqual(want.record);
          } else if (o === "clear") {
            q.clear();
            model.length = 0;
          } else {
            seq++;
            const record = recordOf(seq, o.push);
            q.push(seq, seq & 0xffff, false, record);
            model.push({ seq, record });
          }
          expect(q.length).toBe(model.length);
          expect(q.bytes).toBe(model.reduce((n, m) => n + m.record.length, 0));
        }
      }),
    );
  });
});
