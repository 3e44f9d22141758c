// The session core without I/O: packets built as mqtt-packet parses them, no network.
import type { IConnackPacket, IPublishPacket } from "mqtt-packet";
import mqttPacket from "mqtt-packet";
import { describe, expect, it } from "vitest";
import { Backoff } from "../../src/mqtt/backoff.js";
import { MessageDroppedError, MessageExpiredError, MqttProtocolError, OfflineQueueFullError } from "../../src/mqtt/errors.js";
import { OfflineQueue } from "../../src/mqtt/offline-queue.js";
import { OutState, decodeOut, decodePublish, encodeOut, inKey, outKey, publishOf, seqOfKey, setPacketId, idOfInKey, withDup, withState } from "../../src/mqtt/record.js";
import { Session, fingerprint, outEntry, type OutEntry } from "../../src/mqtt/session.js";
import { ByteArena } from "../../src/mqtt/arena.js";

const connack = (props: IConnackPacket["properties"] = {}, sessionPresent = false): IConnackPacket => ({ cmd: "connack", sessionPresent, reasonCode: 0, properties: props });

function entry(session: Session, seq: number, qos: 1 | 2 = 1, extra: Partial<IPublishPacket> = {}, createdAt = 0): OutEntry {
  const messageId = session.ids.allocate();
  session.ids.release(messageId);
  const packet: IPublishPacket = { cmd: "publish", topic: "t", payload: Buffer.from(`m${seq}`), qos, dup: false, retain: false, messageId, ...extra };
  const version = packet.properties ? 5 : 4;
  return outEntry(seq, packet, encodeOut(packet, OutState.Publish, createdAt, version, new ByteArena()), OutState.Publish, createdAt, false);
}

/** The PUBLISH the session would send for `e`, decoded. */
function wire(s: Session, e: OutEntry): IPublishPacket {
  const out = s.wirePublish(e);
  return out instanceof Uint8Array ? decodePublish(out, e.expiry === undefined ? 4 : 5) : out;
}

describe("Session: outgoing", () => {
  it("sends nothing offline; on connect sends in order up to the window", () => {
    const s = new Session({ maxInflight: 3 });
    for (let i = 0; i < 5; i++) s.add(entry(s, i));
    expect(s.pump().send).toEqual([]);
    s.connected(connack({ receiveMaximum: 2 }));
    expect(s.window).toBe(2);
    const first = s.pump().send;
    expect(first.map((e) => e.seq)).toEqual([0, 1]);
    expect(s.pump().send).toEqual([]);
    for (const e of first) e.sent = true;
    expect(s.complete(first[0]!.messageId, "puback")).toBe(first[0]);
    expect(s.pump().send.map((e) => e.seq)).toEqual([2]);
    expect(s.outgoingCount).toBe(4);
  });

  it("puts in-flight entries back in front on disconnect, and resends them with DUP", () => {
    const s = new Session();
    s.connected(connack());
    for (let i = 0; i < 3; i++) s.add(entry(s, i));
    const sent = s.pump().send;
    for (const e of sent) e.sent = true;
    s.disconnected();
    s.add(entry(s, 3));
    s.connected(connack());
    const again = s.pump().send;
    expect(again.map((e) => e.seq)).toEqual([0, 1, 2, 3]);
    expect(again.map((e) => wire(s, e).dup)).toEqual([true, true, true, false]);
    expect(again.map((e) => e.messageId)).toEqual(sent.map((e) => e.messageId).concat(again[3]!.messageId));
  });

  it.each([
    [true, [0, 1]],
    [false, [0]],
  ])("QoS 2 with windowUntilPubrel %s: the window slot is free once PUBREL is sent (3.1.1), else at PUBCOMP", (windowUntilPubrel, before) => {
    const s = new Session({ maxInflight: 1, windowUntilPubrel });
    s.connected(connack());
    for (let i = 0; i < 2; i++) s.add(entry(s, i, 2));
    const [first] = s.pump().send;
    expect(first!.seq).toBe(0);
    expect(s.received(first!.messageId)?.failed).toBe(false);
    s.releasing(first!);
    const next = s.pump().send.map((e) => e.seq);
    expect([0, ...next]).toEqual(before);
    // PUBCOMP completes it either way, and the window accounts for it once.
    expect(s.complete(first!.messageId, "pubcomp")).toBe(first);
    const after = s.pump().send.map((e) => e.seq);
    expect([...next, ...after]).toEqual([1]);
    expect(s.inflightCount).toBe(1);
  });

  it("keeps entries with no promise to settle as bytes only, and sends both kinds in publish order", () => {
    const s = new Session({ maxInflight: 2 });
    const settled: number[] = [];
    const withPromise = (seq: number) => {
      const e = entry(s, seq);
      e.settle = () => settled.push(seq);
      return e;
    };
    // Online: 0 and 1 go in flight, 2 and 3 wait as objects; the connection drops; 4..6 are
    // published offline (bytes); back online, 7 waits as an object behind them.
    s.connected(connack());
    for (let i = 0; i < 4; i++) s.add(withPromise(i));
    for (const e of s.pump().send) e.sent = true;
    s.disconnected();
    for (let i = 4; i < 7; i++) s.add(entry(s, i, 2, { properties: { userProperties: { k: "v" } } }));
    s.connected(connack());
    s.add(withPromise(7));
    expect(s.outgoingCount).toBe(8);
    expect([...s.entries()].map((e) => e.seq)).toEqual([0, 1, 2, 3, 7]);
    const order: number[] = [];
    for (let round = 0; round < 4; round++) {
      const { send } = s.pump();
      for (const e of send) {
        order.push(e.seq);
        s.complete(e.messageId, e.qos === 1 ? "puback" : "pubcomp") ?? s.drop(e.messageId);
      }
    }
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(s.outgoingCount).toBe(0);
    expect(s.outgoingBytes).toBe(0);
    expect(s.ids.inUse).toBe(0);
  });

  it("an entry taken from the bytes is the one that was added", () => {
    const s = new Session();
    const added = entry(s, 5, 2, { topic: "a/b", retain: true, properties: { messageExpiryInterval: 60 } }, 1_000);
    added.sent = true;
    s.add(added);
    expect([...s.entries()]).toEqual([]);
    s.connected(connack());
    const [taken] = s.pump().send;
    expect(taken).not.toBe(added);
    expect({ ...taken, record: Buffer.from(taken!.record) }).toEqual({ ...added, record: Buffer.from(added.record) });
  });

  it("QoS 2: PUBREC keeps the entry in flight; PUBCOMP only after the PUBREL state; a PUBACK does not complete it", () => {
    const s = new Session();
    s.connected(connack());
    s.add(entry(s, 0, 2));
    const [e] = s.pump().send;
    const id = e!.messageId;
    expect(s.complete(id, "puback")).toBeUndefined();
    expect(s.complete(id, "pubcomp")).toBeUndefined();
    expect(s.received(id)).toEqual({ entry: e, failed: false });
    e!.state = OutState.Pubrel;
    expect(s.inflightCount).toBe(1);
    expect(s.complete(id, "pubcomp")).toBe(e);
    expect(s.ids.has(id)).toBe(false);
  });

  it("a PUBREC failure code ends the exchange", () => {
    const s = new Session();
    s.connected(connack());
    s.add(entry(s, 0, 2));
    const [e] = s.pump().send;
    expect(s.received(e!.messageId, 0x87)).toEqual({ entry: e, failed: true });
    expect(s.outgoingCount).toBe(0);
  });

  it("drops never-sent entries whose message expiry passed, and sends the remaining interval", () => {
    let now = 10_000;
    const s = new Session({ now: () => now });
    s.add(entry(s, 0, 1, { properties: { messageExpiryInterval: 5 } }, 0));
    s.add(entry(s, 1, 1, { properties: { messageExpiryInterval: 60 } }, 0));
    s.connected(connack());
    const { send, expired } = s.pump();
    expect(expired.map((e) => e.seq)).toEqual([0]);
    expect(send.map((e) => wire(s, e).properties?.messageExpiryInterval)).toEqual([50]);
    now = 0;
  });

  it("outgoing aliases: first topicAliasMaximum topics get one; reset on each connection", () => {
    const s = new Session();
    s.connected(connack({ topicAliasMaximum: 2 }));
    const p = (topic: string): IPublishPacket => ({ cmd: "publish", topic, payload: Buffer.alloc(0), qos: 0, dup: false, retain: false });
    expect(["a", "b", "c", "a", "b", "c"].map((t) => s.applyAlias(p(t))).map((x) => [x.topic, x.properties?.topicAlias])).toEqual([
      ["a", 1], ["b", 2], ["c", undefined], ["", 1], ["", 2], ["c", undefined],
    ]);
    s.disconnected();
    s.connected(connack({ topicAliasMaximum: 2 }));
    expect(s.applyAlias(p("b")).properties?.topicAlias).toBe(1);
    s.connected(connack());
    expect(s.applyAlias(p("b")).properties).toBeUndefined();
  });
});

describe("Session: incoming", () => {
  it("QoS 2 ids: new once, then a DUP resend until released", () => {
    const s = new Session();
    const a = fingerprint("t", Buffer.from("a"));
    const b = fingerprint("t", Buffer.from("b"));
    expect(a).not.toBe(b);
    expect(s.incomingQos2(5, false, a)).toEqual({ deliver: true, persist: true });
    expect(s.incomingQos2(5, true, a)).toEqual({ deliver: false, persist: false });
    // DUP 0 under a held id: a new message (the broker reused the id after losing its state).
    expect(s.incomingQos2(5, false, b)).toEqual({ deliver: true, persist: true });
    expect(s.release(5)).toBe(true);
    expect(s.release(5)).toBe(false);
    expect(s.incomingQos2(5, false, a)).toEqual({ deliver: true, persist: true });
  });

  it("a DUP resend of a completed exchange with the same content is not delivered again (broker lost our PUBCOMP)", () => {
    const s = new Session();
    const a = fingerprint("t", Buffer.from("a"));
    s.incomingQos2(7, false, a);
    s.release(7);
    expect(s.incomingQos2(7, true, a)).toEqual({ deliver: false, persist: true });
    s.release(7);
    // Different content, or DUP 0, under that id: new messages.
    expect(s.incomingQos2(7, true, fingerprint("t", Buffer.from("other")))).toEqual({ deliver: true, persist: true });
    s.release(7);
    expect(s.incomingQos2(7, false, fingerprint("t", Buffer.from("other")))).toEqual({ deliver: true, persist: true });
  });

  it("held ids are forgotten when the broker has no session", () => {
    const s = new Session();
    s.holdIncoming(3);
    s.connected(connack({}, true));
    expect(s.incomingIds.has(3)).toBe(true);
    s.connected(connack({}, false));
    expect(s.incomingIds.size).toBe(0);
    expect(s.incomingIds.has(3)).toBe(false);
  });

  it("aliases: mapped, reused, and refused when unknown, zero or above our maximum", () => {
    const s = new Session({ topicAliasMaximum: 3 });
    s.connected(connack());
    const p = (topic: string, topicAlias?: number): IPublishPacket => ({ cmd: "publish", topic, payload: Buffer.alloc(0), qos: 0, dup: false, retain: false, ...(topicAlias ? { properties: { topicAlias } } : {}) });
    expect(s.resolveIncomingAlias(p("x/y", 1)).topic).toBe("x/y");
    expect(s.resolveIncomingAlias(p("", 1)).topic).toBe("x/y");
    expect(s.resolveIncomingAlias(p("z", 1)).topic).toBe("z");
    expect(s.resolveIncomingAlias(p("", 1)).topic).toBe("z");
    expect(() => s.resolveIncomingAlias(p("", 2))).toThrow(MqttProtocolError);
    expect(() => s.resolveIncomingAlias(p("a", 4))).toThrow(/outside 1..3/);
    expect(() => s.resolveIncomingAlias(p(""))).toThrow(MqttProtocolError);
    s.connected(connack());
    expect(() => s.resolveIncomingAlias(p("", 1))).toThrow(/before mapping/);
  });
});

describe("store records", () => {
  it.each([4, 5] as const)("round-trip a PUBLISH with its state (v%i)", (v) => {
    const packet = { cmd: "publish" as const, topic: "a/b", payload: Buffer.from("hello"), qos: 2 as const, dup: false, retain: true, messageId: 513, ...(v === 5 ? { properties: { userProperties: { k: "v" }, messageExpiryInterval: 9 } } : {}) };
    const decoded = decodeOut(encodeOut(packet, OutState.Pubrel, 1234.5, v, new ByteArena()));
    expect(decoded.state).toBe(OutState.Pubrel);
    expect(decoded.protocolVersion).toBe(v);
    expect(decoded.createdAt).toBe(1234.5);
    expect(decoded.packet).toMatchObject({ topic: "a/b", qos: 2, retain: true, messageId: 513 });
    expect(String(decoded.packet.payload)).toBe("hello");
    if (v === 5) expect(decoded.packet.properties).toMatchObject({ userProperties: { k: "v" }, messageExpiryInterval: 9 });
  });

  it("refuses garbage", () => {
    expect(() => decodeOut(new Uint8Array([9, 9, 9]))).toThrow();
    expect(() => decodeOut(new Uint8Array(20))).toThrow();
  });

  it("keys sort in publish order and parse back", () => {
    const keys = [10, 2, 100, 1].map(outKey);
    expect([...keys].sort()).toEqual([1, 2, 10, 100].map(outKey));
    expect(seqOfKey(outKey(42))).toBe(42);
    expect(idOfInKey(inKey(65_535))).toBe(65_535);
    expect(seqOfKey(inKey(1))).toBeUndefined();
  });
});

describe("Backoff (full jitter)", () => {
  it("stays within [0, min(maxDelay, initialDelay·factor^n)) and resets", () => {
    const top = new Backoff({ initialDelay: 100, maxDelay: 1000, fastWindow: 0, random: () => 0.999999 });
    expect(Array.from({ length: 6 }, () => top.next())).toEqual([99, 199, 399, 799, 999, 999]);
    top.reset();
    expect(top.next()).toBe(99);
    const bottom = new Backoff({ random: () => 0 });
    expect(bottom.next()).toBe(0);
  });

  it("spreads a thousand clients over the whole interval", () => {
    const delays = Array.from({ length: 1000 }, () => new Backoff({ initialDelay: 1000 }).next());
    const buckets = [0, 0, 0, 0];
    for (const d of delays) buckets[Math.floor(d / 250)]!++;
    for (const b of buckets) expect(b).toBeGreaterThan(150);
  });

  it("keeps delays within fastMaxDelay for the first minute of an outage, then backs off to maxDelay", () => {
    let now = 0;
    const backoff = new Backoff({ random: () => 0.999999, now: () => now });
    const delays: number[] = [];
    // A broker gone for 59 s: every retry comes within 1.5 s, so the client is back within ~1.5 s of its return.
    while (now < 59_000) {
      const delay = backoff.next();
      delays.push(delay);
      now += delay;
    }
    expect(Math.max(...delays)).toBe(1499);
    now = 61_000;
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([29_999, 29_999, 29_999]);
    backoff.reset();
    expect(backoff.next()).toBe(999);
  });

  it("counts attempts against maxAttempts", () => {
    const b = new Backoff({ maxAttempts: 2 });
    b.next();
    expect(b.exhausted).toBe(false);
    b.next();
    expect(b.exhausted).toBe(true);
  });
});

describe("OfflineQueue", () => {
  const p = (payload: string): IPublishPacket => ({ cmd: "publish", topic: "t", payload: Buffer.from(payload), qos: 0, dup: false, retain: false });
  it("drops the oldest when the count or byte bound is reached, and refuses what can never fit", () => {
    const q = new OfflineQueue({ maxMessages: 2, maxBytes: 10 });
    const outcomes: Array<string | Error | undefined> = [];
    const track = (name: string) => (error?: Error) => outcomes.push(error ? `${name}:${error.constructor.name}` : name);
    q.push(p("a"), track("a"));
    q.push(p("b"), track("b"));
    q.push(p("c"), track("c"));
    expect(outcomes).toEqual(["a:MessageDroppedError"]);
    q.push(p("dddddddd"), track("d")); // 9 bytes: b and c must go
    expect(outcomes).toEqual(["a:MessageDroppedError", "b:MessageDroppedError", "c:MessageDroppedError"]);
    expect(q.length).toBe(1);
    expect(q.bytes).toBe(9);
    expect(() => q.push(p("x".repeat(10)), track("x"))).toThrow(OfflineQueueFullError);
    expect(String(q.shift()!.packet.payload)).toBe("dddddddd");
    expect(q.shift()).toBeUndefined();
    expect(new MessageDroppedError("t").code).toBe("EDGEWS_MQTT_MESSAGE_DROPPED");
  });

  it("runs an MQTT 5 Message Expiry Interval while a message waits: sent with the time left, refused when none is", () => {
    let now = 0;
    const q = new OfflineQueue({}, () => now);
    const expiring = (payload: string, messageExpiryInterval: number) => ({ ...p(payload), properties: { messageExpiryInterval, userProperties: { k: "v" } } });
    q.push(expiring("short", 2), () => {});
    q.push(expiring("long", 60), () => {});
    q.push(p("forever"), () => {});
    now = 2_999;
    expect(() => q.sendable(q.shift()!)).toThrow(MessageExpiredError);
    expect(q.sendable(q.shift()!).properties).toEqual({ messageExpiryInterval: 58, userProperties: { k: "v" } });
    const plain = q.shift()!;
    expect(q.sendable(plain)).toBe(plain.packet);
    q.push(expiring("fresh", 5), () => {});
    now += 999;
    const fresh = q.shift()!;
    expect(q.sendable(fresh).properties?.messageExpiryInterval).toBe(5);
  });
});

describe("encoded PUBLISH records", () => {
  const packet: IPublishPacket = { cmd: "publish", topic: "a/b", payload: Buffer.from("hi"), qos: 1, dup: false, retain: false, messageId: 7 };

  it("sends the stored bytes: DUP set on a copy, the record untouched", () => {
    const record = encodeOut(packet, OutState.Publish, 0, 4, new ByteArena());
    const first = publishOf(record);
    expect(first).toEqual(mqttPacket.generate(packet, { protocolVersion: 4 }));
    const again = withDup(first);
    expect(decodePublish(again, 4)).toMatchObject({ dup: true, messageId: 7, topic: "a/b" });
    expect(decodePublish(publishOf(record), 4).dup).toBe(false);
  });

  it.each([4, 5] as const)("rewrites the packet id in place (v%i)", (v) => {
    const record = encodeOut({ ...packet, topic: "x".repeat(200), properties: v === 5 ? { userProperties: { k: "v" } } : undefined }, OutState.Publish, 0, v, new ByteArena());
    setPacketId(record, 65_000);
    expect(decodePublish(publishOf(record), v)).toMatchObject({ messageId: 65_000, topic: "x".repeat(200) });
    expect(String(decodePublish(publishOf(record), v).payload)).toBe("hi");
  });

  it("a copy in another state keeps the rest", () => {
    const arena = new ByteArena();
    const record = encodeOut(packet, OutState.Publish, 42, 4, arena);
    const pubrel = withState(record, OutState.Pubrel, arena);
    expect(decodeOut(record).state).toBe(OutState.Publish);
    expect(decodeOut(pubrel)).toMatchObject({ state: OutState.Pubrel, createdAt: 42, packet: { messageId: 7, topic: "a/b" } });
  });
});
