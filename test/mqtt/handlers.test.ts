import type { IPublishPacket } from "mqtt-packet";
import { describe, expect, it } from "vitest";
import { MessageHandlers } from "../../src/mqtt/handlers.js";

function publish(topic: string, subscriptionIdentifier?: number | number[]): IPublishPacket {
  return {
    cmd: "publish", topic, payload: Buffer.from("x"), qos: 0, dup: false, retain: false,
    ...(subscriptionIdentifier !== undefined ? { properties: { subscriptionIdentifier } } : {}),
  };
}

/** Handlers that record which filter each delivery came through. */
function recording() {
  const errors: Error[] = [];
  const handlers = new MessageHandlers((error) => errors.push(error));
  const seen: string[] = [];
  const on = (filter: string) => handlers.add(filter, (topic) => seen.push(`${filter} ${topic}`));
  return { handlers, seen, errors, on };
}

describe("MessageHandlers", () => {
  it("without Subscription Identifiers, reaches every handler whose filter matches", () => {
    const { handlers, seen, on } = recording();
    on("sensors/+/temp");
    on("sensors/#");
    on("other");
    handlers.dispatch(publish("sensors/a/temp"));
    expect(seen).toEqual(["sensors/+/temp sensors/a/temp", "sensors/# sensors/a/temp"]);
  });

  it("with Subscription Identifiers, reaches the tagged subscriptions' handlers only", () => {
    const { handlers, seen, on } = recording();
    on("sensors/+/temp");
    on("sensors/#");
    handlers.rememberSubscriptionId(1, ["sensors/+/temp"]);
    handlers.rememberSubscriptionId(2, ["sensors/#"]);
    handlers.dispatch(publish("sensors/a/temp", 2));
    handlers.dispatch(publish("sensors/a/temp", [1, 2]));
    expect(seen).toEqual(["sensors/# sensors/a/temp", "sensors/+/temp sensors/a/temp", "sensors/# sensors/a/temp"]);
  });

  it("a filter subscribed again takes its new identifier; the old one is forgotten when unused", () => {
    const { handlers, seen, on } = recording();
    on("a");
    handlers.rememberSubscriptionId(1, ["a", "b"]);
    handlers.rememberSubscriptionId(2, ["a"]);
    handlers.dispatch(publish("a", 1));
    expect(seen).toEqual([]);
    handlers.dispatch(publish("a", 2));
    expect(seen).toEqual(["a a"]);
    expect(handlers.subscriptionIdCount).toBe(2);
    handlers.rememberSubscriptionId(3, ["b"]);
    expect(handlers.subscriptionIdCount).toBe(2);
  });

  it("keeps no identifier for unsubscribed filters, however many subscriptions came and went", () => {
    const { handlers } = recording();
    for (let id = 1; id <= 1000; id++) {
      handlers.rememberSubscriptionId(id, [`t/${id}`]);
      handlers.removeAll(`t/${id}`);
    }
    expect(handlers.subscriptionIdCount).toBe(0);
  });

  it("a handler that throws is reported and the others still run", () => {
    const { handlers, seen, errors, on } = recording();
    handlers.add("#", () => {
      throw new Error("boom");
    });
    on("t");
    handlers.dispatch(publish("t"));
    expect(errors.map((e) => e.message)).toEqual(["boom"]);
    expect(seen).toEqual(["t t"]);
  });

  it("remove drops one handler, removeAll every handler of the filter", () => {
    const { handlers, seen } = recording();
    const a = () => seen.push("a");
    const b = () => seen.push("b");
    handlers.add("t", a);
    handlers.add("t", b);
    handlers.remove("t", a);
    handlers.dispatch(publish("t"));
    handlers.removeAll("t");
    handlers.dispatch(publish("t"));
    expect(seen).toEqual(["b"]);
  });
});
