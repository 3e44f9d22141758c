// Refusals by a Mosquitto with a password file and an ACL: CONNACK and SUBACK failures as typed errors.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ConnackError, PublishError, connectAsync, type MqttClient } from "../../src/mqtt/index.js";
import { useMosquitto } from "../support/mosquitto.js";

const aclDir = mkdtempSync(join(tmpdir(), "edgews-acl-"));
const aclFile = join(aclDir, "acl");
writeFileSync(aclFile, "user gateway\ntopic readwrite allowed/#\n");
afterAll(() => rmSync(aclDir, { recursive: true, force: true }));
const broker = useMosquitto({ auth: { username: "gateway", password: "s3cret" }, config: [`acl_file ${aclFile}`] });

const open: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.end(true)));
});

describe.each([4, 5] as const)("Mosquitto with auth, v%i", (protocolVersion) => {
  it("a wrong password is a ConnackError with an actionable message", async () => {
    const error = await connectAsync(broker().url, { protocolVersion, username: "gateway", password: "wrong", reconnect: false }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(ConnackError);
    const connack = error as ConnackError;
    expect(connack.code).toBe("EDGEWS_MQTT_CONNACK");
    if (protocolVersion === 4) {
      expect([4, 5]).toContain(connack.returnCode);
    } else {
      expect([0x86, 0x87]).toContain(connack.returnCode);
    }
    expect(connack.message).toMatch(/refused the connection: (Bad user name or password|Not authorized)/i);
  });

  it("no credentials is refused too", async () => {
    await expect(connectAsync(broker().url, { protocolVersion, reconnect: false })).rejects.toBeInstanceOf(ConnackError);
  });

  it("the right password connects; a publish the ACL denies is a PublishError in v5 (and silently dropped in 3.1.1)", async () => {
    const client = await connectAsync(broker().url, { protocolVersion, username: "gateway", password: "s3cret" });
    open.push(client);
    expect(await client.subscribe("allowed/x", { qos: 1 })).toEqual([{ topic: "allowed/x", qos: 1 }]);
    const result = await client.publish("denied/x", "no", { qos: 1 }).then(() => undefined, (e: Error) => e);
    if (protocolVersion === 5) {
      expect(result).toBeInstanceOf(PublishError);
      expect((result as PublishError).reasonCode).toBe(0x87);
      expect((result as PublishError).message).toMatch(/refused the message to "denied\/x": Not authorized/);
    } else {
      expect(result).toBeUndefined();
    }
    expect(client.outgoingCount).toBe(0);
  });
});
