// mqtt-packet's table of every two-byte number (~6 MiB of heap) is off unless a client asks for it.
import mqttPacket from "mqtt-packet";
import { afterEach, describe, expect, it } from "vitest";
import { connect, type MqttClient } from "../../src/mqtt/index.js";

describe("writeCache", () => {
  const clients: MqttClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end(true)));
  });
  const make = (writeCache?: boolean) => {
    // Nothing listens on port 1: the client never connects, which is all this needs.
    const client = connect("ws://127.0.0.1:1/", { reconnect: false, ...(writeCache === undefined ? {} : { writeCache }) });
    client.on("error", () => {});
    clients.push(client);
  };

  it("is off by default and on when asked (mqtt-packet's process-wide setting, as MQTT.js sets it)", () => {
    make(true);
    expect(mqttPacket.writeToStream.cacheNumbers).toBe(true);
    make();
    expect(mqttPacket.writeToStream.cacheNumbers).toBe(false);
  });
});
