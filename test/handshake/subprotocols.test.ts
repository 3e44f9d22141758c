import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkSubprotocols, parseSubprotocols } from "../../src/handshake/index.js";
import { attempt, wsSubprotocol } from "./helpers.js";

describe("parseSubprotocols", () => {
  it.each([
    ["mqtt", ["mqtt"]],
    ["mqtt, mqttv3.1", ["mqtt", "mqttv3.1"]],
    ["b,a ,\tc", ["b", "a", "c"]],
    [" mqtt ", ["mqtt"]],
    ["MQTT, mqtt", ["MQTT", "mqtt"]],
  ])("parses %j in order", (header, expected) => {
    expect(parseSubprotocols(header)).toEqual(expected);
  });

  it.each([
    ["", /expected a subprotocol name, found the end/],
    ["a,", /found the end/],
    [",a", /found "," at index 0/],
    ["a,,b", /found "," at index 2/],
    ["a b", /expected "," or the end/],
    ["a;b", /found ";"/],
    ["chat, chat", /"chat" is offered more than once/],
    ["ch\u00e4t", /found "ä"/],
  ])("rejects %j", (header, message) => {
    expect(() => parseSubprotocols(header)).toThrow(expect.objectContaining({ code: "WS_ERR_INVALID_SUBPROTOCOL", message: expect.stringMatching(message) }));
  });

  it("accepts exactly what ws's subprotocol.parse accepts (on values without surrounding whitespace)", () => {
    const piece = fc.constantFrom("a", "mqtt", "v1.2", ",", " ", "\t", ";", "=", '"', "é", "a");
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 10 }).map((pieces) => pieces.join("")), (header) => {
        const ws = attempt(() => [...wsSubprotocol.parse(header.replace(/^[ \t]+|[ \t]+$/g, ""))]);
        const ours = attempt(() => parseSubprotocols(header));
        expect({ header, ok: ours.ok }).toEqual({ header, ok: ws.ok });
        if (ours.ok && ws.ok) expect(ours.value).toEqual(ws.value);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("checkSubprotocols", () => {
  it("accepts distinct tokens", () => {
    expect(() => checkSubprotocols(["mqtt", "MQTT", "wamp.2.json", "!#$%&'*+-.^_`|~"])).not.toThrow();
  });

  it.each([[[""]], [["a b"]], [["a,b"]], [["(x)"]], [["ä"]], [["a\r\n"]], [["mqtt", "mqtt"]]])("rejects %j", (protocols) => {
    expect(() => checkSubprotocols(protocols)).toThrow(expect.objectContaining({ code: "WS_ERR_INVALID_SUBPROTOCOL" }));
  });
});
