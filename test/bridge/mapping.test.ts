// The pure pieces: topics, command validation (every bad request answered with what the device
// accepts), result and value JSON, Home Assistant discovery, the config file's checks, and the
// CLI's usage errors (exit code 2, a message saying what to do).
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/bridge/config.js";
import { discoveryMessages } from "../../src/bridge/home-assistant.js";
import { deviceOfCommandTopic, deviceResult, deviceTopics, jsonValue, mergeTelemetry, parseCommand } from "../../src/bridge/mapping.js";
import { run as main } from "../../src/cli/bridge.js";
import { ResultStatus, ValueType, encodeResult, encodeTelemetry, type Hello } from "../../src/link/index.js";
import { greenhouse } from "./device-stub.js";

const bytes = (text: string) => new TextEncoder().encode(text);

describe("topics", () => {
  it("follow Zigbee2MQTT's layout under the base", () => {
    expect(deviceTopics("edgews", "gh-7")).toEqual({
      state: "edgews/gh-7", availability: "edgews/gh-7/availability", info: "edgews/gh-7/info", set: "edgews/gh-7/set",
      result: "edgews/gh-7/set/result", event: "edgews/gh-7/event", log: "edgews/gh-7/log",
    });
    expect(deviceOfCommandTopic("edgews", "edgews/gh-7/set")).toBe("gh-7");
    expect(deviceOfCommandTopic("home/edgews", "home/edgews/gh-7/set")).toBe("gh-7");
    expect(deviceOfCommandTopic("edgews", "edgews/gh-7/set/result")).toBeUndefined();
    expect(deviceOfCommandTopic("edgews", "other/gh-7/set")).toBeUndefined();
  });
});

describe("commands", () => {
  const cases: Array<[string, unknown]> = [
    [`{"fan": 3}`, { ok: true, request: { index: 1, name: "fan", argument: 3 } }],
    [`{"reboot": null, "transaction": "t1"}`, { ok: true, request: { index: 0, name: "reboot", argument: null, transaction: "t1" } }],
    [`{"label": "north"}`, { ok: true, request: { index: 2, name: "label", argument: "north" } }],
    [`{"fan": -1}`, { ok: false, answer: { command: "fan", status: "bad_argument", error: `"fan" takes an integer from 0 to 255, got -1` } }],
    [`{"fan": 2.5}`, { ok: false, answer: { command: "fan", status: "bad_argument", error: `"fan" takes an integer from 0 to 255, got 2.5` } }],
    [`{"reboot": 1, "transaction": 9}`, { ok: false, answer: { command: "reboot", status: "bad_argument", error: `"reboot" takes null, got 1`, transaction: 9 } }],
    [`{"label": "${"x".repeat(256)}"}`, { ok: false, answer: { command: "label", status: "bad_argument", error: expect.stringContaining(`"label" takes a string of at most 255 UTF-8 bytes`) } }],
    [`{"dance": 1}`, { ok: false, answer: { command: "dance", status: "unknown_command", error: expect.stringMatching(/^gh-7 has no command "dance"; gh-7 accepts: reboot \(null\)/) } }],
    [`[1]`, { ok: false, answer: { status: "bad_request", error: expect.stringMatching(/a command is a JSON object .*e\.g\. \{"reboot": null\}/) } }],
    [`{}`, { ok: false, answer: { status: "bad_request", error: expect.stringMatching(/exactly one command/) } }],
    [`not json`, { ok: false, answer: { status: "bad_request", error: expect.any(String) } }],
  ];
  it.each(cases)("%s", (payload, expected) => {
    expect(parseCommand(bytes(payload), greenhouse)).toEqual(expected);
  });

  it("takes bytes as a hex string", () => {
    const hello: Hello = { ...greenhouse, commands: [{ name: "raw", argument: ValueType.Bytes }] };
    expect(parseCommand(bytes(`{"raw": "00ff"}`), hello)).toEqual({ ok: true, request: { index: 0, name: "raw", argument: Uint8Array.of(0, 0xff) } });
    expect(parseCommand(bytes(`{"raw": "0g"}`), hello)).toMatchObject({ ok: false, answer: { status: "bad_argument" } });
  });

  it("reads a device's result", () => {
    expect(deviceResult(encodeResult({ id: 513, status: ResultStatus.Busy, type: ValueType.String, value: "later" }))).toEqual({ id: 513, result: { status: "busy", value: "later" } });
  });
});

describe("values and state", () => {
  it("gives bytes as hex and keeps every channel's latest reading", () => {
    expect(jsonValue(Uint8Array.of(1, 0xab))).toBe("01ab");
    const state: Record<string, unknown> = {};
    mergeTelemetry(state, encodeTelemetry([{ channel: 0, value: 21.5 }, { channel: 2, value: false }], greenhouse), greenhouse);
    mergeTelemetry(state, encodeTelemetry([{ channel: 0, value: 22 }], greenhouse), greenhouse);
    expect(state).toEqual({ temperature: 22, door: false });
    expect(() => mergeTelemetry(state, Uint8Array.of(9, 1), greenhouse)).toThrow(/channel 9 is not declared/);
  });
});

describe("Home Assistant discovery", () => {
  it("announces a sensor per channel and an entity per command, available while bridge and device are", () => {
    const messages = discoveryMessages("homeassistant", "edgews", greenhouse);
    expect(messages.map((m) => m.topic)).toEqual([
      "homeassistant/sensor/edgews_gh-7/temperature/config",
      "homeassistant/sensor/edgews_gh-7/humidity/config",
      "homeassistant/binary_sensor/edgews_gh-7/door/config",
      "homeassistant/button/edgews_gh-7/reboot/config",
      "homeassistant/number/edgews_gh-7/fan/config",
      "homeassistant/text/edgews_gh-7/label/config",
    ]);
    const [temperature, , door, reboot, fan] = messages.map((m) => JSON.parse(m.payload));
    expect(temperature).toMatchObject({
      name: "temperature", unique_id: "edgews_gh-7_sensor_temperature", state_topic: "edgews/gh-7", value_template: `{{ value_json["temperature"] }}`,
      unit_of_measurement: "°C", state_class: "measurement", availability_mode: "all",
      availability: [{ topic: "edgews/bridge/state" }, { topic: "edgews/gh-7/availability" }],
      device: { identifiers: ["edgews_gh-7"], name: "gh-7", sw_version: "1.4.2" },
    });
    expect(door.value_template).toBe(`{{ 'ON' if value_json["door"] else 'OFF' }}`);
    expect(reboot).toMatchObject({ command_topic: "edgews/gh-7/set", payload_press: `{"reboot": null}` });
    expect(fan).toMatchObject({ command_topic: "edgews/gh-7/set", command_template: `{"fan": {{ value }}}`, min: 0, max: 255, step: 1 });
    // What Home Assistant would send is a command the bridge accepts.
    expect(parseCommand(bytes(reboot.payload_press), greenhouse).ok).toBe(true);
    expect(parseCommand(bytes(fan.command_template.replace("{{ value }}", "2.0")), greenhouse).ok).toBe(true);
  });

  it("keeps object ids to the characters discovery allows", () => {
    const hello: Hello = { ...greenhouse, deviceId: "greenhouse 7", channels: [{ name: "air temp", unit: "°C", type: ValueType.F32 }, { name: "air_temp", unit: "", type: ValueType.F32 }], commands: [] };
    expect(discoveryMessages("ha", "b", hello).map((m) => m.topic)).toEqual(["ha/sensor/edgews_greenhouse_7/air_temp/config", "ha/sensor/edgews_greenhouse_7/air_temp_/config"]);
  });
});

describe("the config file", () => {
  it("turns a file into bridge options", () => {
    const text = JSON.stringify({
      mqtt: { url: "ws://broker:9001", protocolVersion: 4, clientId: "gw-7", reconnect: { initialDelay: 500 } },
      store: "/var/lib/edgews/bridge.store",
      ports: ["/dev/ttyUSB0", { path: "/dev/ttyAMA0", baudRate: 57_600, parity: "even" }],
      homeAssistant: { prefix: "ha" },
      limits: { rate: 5 },
    });
    expect(parseConfig(text, "bridge.json")).toEqual({
      url: "ws://broker:9001", protocolVersion: 4, clientId: "gw-7", mqttReconnect: { initialDelay: 500 }, store: "/var/lib/edgews/bridge.store",
      ports: ["/dev/ttyUSB0", { path: "/dev/ttyAMA0", baudRate: 57_600, parity: "even" }], homeAssistant: { prefix: "ha" }, limits: { rate: 5 },
    });
  });

  it.each([
    [`{"mqtt": {"url": "ws://b"}, "limts": {}}`, /^bridge\.json\.limts is not a setting \(known: mqtt, base, store/],
    [`{"mqtt": {}}`, /^bridge\.json\.mqtt\.url is required$/],
    [`{"ports": [{"baudRate": 9600}]}`, /^bridge\.json\.ports\[0\] must be a path or an object with a path and UART settings/],
    [`{"limits": {"rate": 0}}`, /^bridge\.json\.limits\.rate must be a number from 0\.001 to 1000000, got 0$/],
    [`{"link": {"maxPacket": 1024}}`, /^bridge\.json\.link\.maxPacket must be an integer from 32 to 512, got 1024$/],
    [`{"serial": {"parity": "Even"}}`, /^bridge\.json\.serial\.parity must be one of "none", "even", "odd", "mark", "space", got "Even"$/],
    [`{"mqtt": `, /^bridge\.json is not JSON/],
  ])("refuses %s", (text, message) => {
    expect(() => parseConfig(text, "bridge.json")).toThrow(message);
  });
});

describe("edgews bridge usage errors", () => {
  const run = async (argv: string[]) => {
    let out = "";
    let err = "";
    const sink = (write: (s: string) => void) => new Writable({ write: (chunk, _enc, done) => (write(String(chunk)), done()) });
    const code = await main(argv, { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) });
    return { code, out, err };
  };

  it("exits 2 with what to do", async () => {
    expect(await run(["--port", "/dev/ttyUSB0"])).toMatchObject({ code: 2, err: expect.stringMatching(/which broker\? give --url mqtt:\/\/HOST:1883 \(or mqtts:\/\/, ws:\/\/, wss:\/\/\)/) });
    expect(await run(["--url", "ws://b", "--port", "/dev/x", "--baud", "fast"])).toMatchObject({ code: 2, err: expect.stringMatching(/--baud takes a positive integer, not fast/) });
    expect(await run(["--url", "ws://b", "--mqtt-version", "3"])).toMatchObject({ code: 2, err: expect.stringMatching(/--mqtt-version takes 4 or 5, not 3/) });
    expect(await run(["--config", "/nonexistent/bridge.json"])).toMatchObject({ code: 2, err: expect.stringMatching(/cannot read \/nonexistent\/bridge\.json/) });
    expect(await run(["--frobnicate"])).toMatchObject({ code: 2, err: expect.stringMatching(/Unknown option '--frobnicate'/) });
    expect(await run(["--help"])).toMatchObject({ code: 0, out: expect.stringMatching(/^usage: edgews bridge/) });
  });
});
