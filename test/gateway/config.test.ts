// The gateway's config: defaults, and for each kind of mistake an error naming the key, the
// value found and the fix; passwords hashed with scrypt and read from the environment; the
// per-role topic rights.
import { describe, expect, it } from "vitest";
import { accountsFrom, hashPassword, permissionsOf, verifyPassword } from "../../src/gateway/auth.js";
import { ConfigError, checkConfig, readConfigFile } from "../../src/gateway/config.js";
import { scratchDir } from "../support/gateway.js";

describe("checkConfig", () => {
  it("fills the defaults of an empty config", () => {
    expect(checkConfig(undefined, "x")).toEqual({
      stateDir: "./edgews-state",
      http: { host: "127.0.0.1", port: 8080 },
      mqtt: { host: "127.0.0.1", port: 1883 },
      auth: { anonymous: "refuse", users: [] },
      bridge: { base: "edgews", ports: [], baudRate: 115200, telemetryQos: 0, homeAssistant: false },
      log: { level: "info" },
    });
  });

  it.each([
    [{ http: { port: 70000 } }, 'gw.yaml: http.port = 70000: http.port takes 0 to 65535'],
    [{ http: { prot: 1 } }, "gw.yaml: http.prot = 1: unknown key: http has host and port"],
    [{ colour: "red" }, 'gw.yaml: colour = "red": unknown key: the top-level keys are'],
    [{ auth: { users: [{ username: "a", role: "root", passwordEnv: "A" }] } }, 'gw.yaml: auth.users.0.role = "root": use one of admin, dashboard, device'],
    [{ auth: { users: [{ username: "a", role: "device" }] } }, "gw.yaml: auth.users.0 = {\"username\":\"a\",\"role\":\"device\"}: give a user exactly one of passwordHash"],
    [{ auth: { users: [{ username: "a", role: "device", passwordHash: "plain" }] } }, 'auth.users.0.passwordHash = "plain": make one with: edgews gateway --hash-password'],
    [{ broker: { url: "http://host:1883" } }, 'broker.url = "http://host:1883": broker.url is mqtt://HOST:PORT, mqtts://HOST:PORT (TLS), ws://'],
    [{ broker: { url: "mqtt://" } }, 'broker.url = "mqtt://": broker.url is mqtt://HOST:PORT'],
    [{ bridge: { base: "a/#" } }, "bridge.base = \"a/#\": bridge.base is a topic level without '#'"],
    [{ log: { level: "loud" } }, 'log.level = "loud": log.level is one of fatal, error'],
  ])("names the key, the value and the fix: %j", (input, message) => {
    expect(() => checkConfig(input, "gw.yaml")).toThrow(ConfigError);
    expect(() => checkConfig(input, "gw.yaml")).toThrow(message);
  });

  it("takes an external broker by any scheme the MQTT client speaks", () => {
    for (const url of ["mqtt://broker:1883", "mqtts://broker", "tcp://broker:1883", "ssl://broker", "tls://broker:8883", "ws://broker:9001/", "wss://broker/mqtt"]) {
      expect(checkConfig({ broker: { url } }, "x").broker).toEqual({ url, protocolVersion: 5 });
    }
  });

  it("refuses a user listed twice", () => {
    const user = { username: "a", role: "admin", passwordEnv: "A" };
    expect(() => checkConfig({ auth: { users: [user, user] } }, "gw.yaml")).toThrow('gw.yaml: auth.users: "a" is listed twice');
  });
});

describe("readConfigFile", () => {
  it("reads YAML and JSON, and says which file is not valid or not a mapping", async () => {
    const { dir, remove } = scratchDir({ "a.yaml": "http:\n  port: 9000\n", "b.json": '{"stateDir": "/var/lib/edgews"}', "bad.json": "{", "list.yaml": "- 1\n" });
    try {
      expect(await readConfigFile(`${dir}/a.yaml`)).toEqual({ http: { port: 9000 } });
      expect(await readConfigFile(`${dir}/b.json`)).toEqual({ stateDir: "/var/lib/edgews" });
      await expect(readConfigFile(`${dir}/bad.json`)).rejects.toThrow(`${dir}/bad.json is not valid JSON`);
      await expect(readConfigFile(`${dir}/list.yaml`)).rejects.toThrow("holds a list: a config is a mapping");
      await expect(readConfigFile(`${dir}/missing.yaml`)).rejects.toThrow(`cannot read the config file ${dir}/missing.yaml`);
    } finally {
      remove();
    }
  });
});

describe("passwords", () => {
  it("verifies a scrypt hash, refuses another password and a malformed hash", async () => {
    const hash = await hashPassword("s3cret");
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$[\w+/=]+\$[\w+/=]+$/);
    expect(await verifyPassword("s3cret", hash)).toBe(true);
    expect(await verifyPassword(Buffer.from("s3cret"), hash)).toBe(true);
    expect(await verifyPassword("s3cres", hash)).toBe(false);
    expect(await verifyPassword("s3cret", "scrypt$1$2")).toBe(false);
  });

  it("hashes a password read from the environment variable a user names, or says which is unset", async () => {
    const [account] = await accountsFrom([{ username: "d", role: "dashboard", passwordEnv: "DASH_PW" }], { DASH_PW: "pw" });
    expect(await verifyPassword("pw", account!.passwordHash)).toBe(true);
    await expect(accountsFrom([{ username: "d", role: "dashboard", passwordEnv: "DASH_PW" }], {})).rejects.toThrow("the environment variable DASH_PW is not set");
  });
});

describe("permissionsOf", () => {
  it("keeps a device under <base>/<its id>/, a dashboard to reading and commands, an admin free", () => {
    const device = permissionsOf("device", "gh-7", "edgews");
    expect([device.publish("edgews/gh-7"), device.publish("edgews/gh-7/event"), device.subscribe("edgews/gh-7/set")]).toEqual([true, true, true]);
    expect([device.publish("edgews/gh-8"), device.publish("edgews/gh-70"), device.subscribe("edgews/+/set"), device.subscribe("#"), device.subscribe("edgews/gh-8/set")]).toEqual([false, false, false, false, false]);
    const dashboard = permissionsOf("dashboard", "ui", "edgews");
    expect([dashboard.subscribe("#"), dashboard.publish("edgews/gh-7/set")]).toEqual([true, true]);
    expect([dashboard.publish("edgews/gh-7"), dashboard.publish("edgews/gh-7/set/result"), dashboard.publish("edgews//set"), dashboard.publish("other/x/set")]).toEqual([false, false, false, false]);
    const admin = permissionsOf("admin", "root", "edgews");
    expect([admin.publish("anything"), admin.subscribe("#")]).toEqual([true, true]);
  });
});
