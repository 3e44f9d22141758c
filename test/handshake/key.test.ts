import { describe, expect, it } from "vitest";
import { acceptKey, generateKey, isValidKey, WEBSOCKET_GUID } from "../../src/handshake/index.js";
import { RFC_ACCEPT, RFC_KEY } from "./helpers.js";

describe("Sec-WebSocket-Key and Sec-WebSocket-Accept", () => {
  it("computes RFC 6455 §1.3's worked example", () => {
    expect(WEBSOCKET_GUID).toBe("258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    expect(acceptKey(RFC_KEY)).toBe(RFC_ACCEPT);
  });

  it("generates fresh 16-byte keys", () => {
    const keys = new Set(Array.from({ length: 64 }, generateKey));
    expect(keys.size).toBe(64);
    for (const key of keys) {
      expect(isValidKey(key)).toBe(true);
      expect(Buffer.from(key, "base64")).toHaveLength(16);
    }
  });

  it.each([
    [RFC_KEY, true],
    ["AAAAAAAAAAAAAAAAAAAAAA==", true],
    ["+/+/+/+/+/+/+/+/+/+/+/==", true],
    // Non-zero pad bits: still 16 bytes when decoded; ws accepts these too.
    ["AAAAAAAAAAAAAAAAAAAAAB==", true],
    ["", false],
    ["dGhlIHNhbXBsZSBub25jZQ=", false],
    ["dGhlIHNhbXBsZSBub25jZQ", false],
    ["dGhlIHNhbXBsZSBub25jZQ===", false],
    ["dGhlIHNhbXBsZSBub25jZQ==\r\n", false],
    ["dGhlIHNhbXBsZSBub25jZ-==", false],
    ["dGhlIHNhbXBsZSBub25jZ_==", false],
    ["AAAAAAAAAAAAAAAAAAAAAAAA", false],
    ["AAAAAAAAAAAAAAAAAAAAAAA=", false],
    [" dGhlIHNhbXBsZSBub25jZQ==", false],
  ])("isValidKey(%j) is %s", (key, valid) => {
    expect(isValidKey(key)).toBe(valid);
  });
});
