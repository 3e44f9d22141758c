import { describe, expect, it } from "vitest";
import {
  acceptKey,
  createClientRequest,
  HandshakeError,
  HandshakeSyntaxError,
  isValidKey,
  offerPerMessageDeflate,
  verifyServerResponse,
  type ClientHandshake,
  type ClientRequestOptions,
  type IncomingHeaders,
  type ServerResponse,
} from "../../src/handshake/index.js";
import { RFC_ACCEPT, RFC_KEY, upgradeHeaders } from "./helpers.js";

const pmd = "permessage-deflate";

function errorOf<E extends Error = HandshakeError>(run: () => unknown, type: new (...args: never[]) => E = HandshakeError as never): E {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as E;
  }
  throw new Error(`expected a ${type.name}`);
}

describe("createClientRequest", () => {
  it("builds the request head byte for byte", () => {
    const request = createClientRequest({
      url: "wss://broker.example:8884/mqtt?client=a%20b",
      key: RFC_KEY,
      protocols: ["mqtt", "mqttv3.1"],
      origin: "https://app.example",
      extensions: offerPerMessageDeflate(),
      headers: { Authorization: "Bearer t0ken", "X-Device": ["a", "b"] },
    });
    expect(request.toString()).toBe(
      "GET /mqtt?client=a%20b HTTP/1.1\r\n" +
        "Host: broker.example:8884\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        `Sec-WebSocket-Key: ${RFC_KEY}\r\n` +
        "Sec-WebSocket-Version: 13\r\n" +
        "Sec-WebSocket-Protocol: mqtt, mqttv3.1\r\n" +
        `Sec-WebSocket-Extensions: ${pmd}; client_max_window_bits\r\n` +
        "Origin: https://app.example\r\n" +
        "Authorization: Bearer t0ken\r\n" +
        "X-Device: a\r\n" +
        "X-Device: b\r\n" +
        "\r\n",
    );
    expect(request.toBytes()).toEqual(Buffer.from(request.toString(), "latin1"));
    expect(request).toMatchObject({
      method: "GET",
      secure: true,
      hostname: "broker.example",
      port: 8884,
      key: RFC_KEY,
      protocols: ["mqtt", "mqttv3.1"],
      offeredExtensions: [{ name: pmd, params: [{ name: "client_max_window_bits" }] }],
    });
  });

  it("sends only the handshake's own headers by default", () => {
    const request = createClientRequest({ url: "ws://h/", key: RFC_KEY });
    expect(request.headers.map(([name]) => name)).toEqual(["Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version"]);
    expect(request.protocols).toEqual([]);
    expect(request.offeredExtensions).toEqual([]);
  });

  it.each<[string | URL, { url: string; secure: boolean; host: string; hostname: string; port: number; path: string }]>([
    ["ws://example.com", { url: "ws://example.com/", secure: false, host: "example.com", hostname: "example.com", port: 80, path: "/" }],
    ["wss://example.com/", { url: "wss://example.com/", secure: true, host: "example.com", hostname: "example.com", port: 443, path: "/" }],
    ["ws://example.com:80/a", { url: "ws://example.com/a", secure: false, host: "example.com", hostname: "example.com", port: 80, path: "/a" }],
    ["wss://example.com:443/a", { url: "wss://example.com/a", secure: true, host: "example.com", hostname: "example.com", port: 443, path: "/a" }],
    ["ws://example.com:443/", { url: "ws://example.com:443/", secure: false, host: "example.com:443", hostname: "example.com", port: 443, path: "/" }],
    ["wss://example.com:80/", { url: "wss://example.com:80/", secure: true, host: "example.com:80", hostname: "example.com", port: 80, path: "/" }],
    ["http://example.com:8080/x?y=1&z", { url: "ws://example.com:8080/x?y=1&z", secure: false, host: "example.com:8080", hostname: "example.com", port: 8080, path: "/x?y=1&z" }],
    ["https://example.com/s", { url: "wss://example.com/s", secure: true, host: "example.com", hostname: "example.com", port: 443, path: "/s" }],
    ["http://example.com:443/", { url: "ws://example.com:443/", secure: false, host: "example.com:443", hostname: "example.com", port: 443, path: "/" }],
    ["ws://[::1]/", { url: "ws://[::1]/", secure: false, host: "[::1]", hostname: "::1", port: 80, path: "/" }],
    ["wss://[2001:db8::1]:8443/mqtt", { url: "wss://[2001:db8::1]:8443/mqtt", secure: true, host: "[2001:db8::1]:8443", hostname: "2001:db8::1", port: 8443, path: "/mqtt" }],
    ["ws://[::ffff:192.168.1.1]:9001", { url: "ws://[::ffff:c0a8:101]:9001/", secure: false, host: "[::ffff:c0a8:101]:9001", hostname: "::ffff:c0a8:101", port: 9001, path: "/" }],
    ["ws://127.0.0.1:9001/mqtt?x", { url: "ws://127.0.0.1:9001/mqtt?x", secure: false, host: "127.0.0.1:9001", hostname: "127.0.0.1", port: 9001, path: "/mqtt?x" }],
    ["ws://EXAMPLE.com/Path/", { url: "ws://example.com/Path/", secure: false, host: "example.com", hostname: "example.com", port: 80, path: "/Path/" }],
    ["ws://bücher.example/a b", { url: "ws://xn--bcher-kva.example/a%20b", secure: false, host: "xn--bcher-kva.example", hostname: "xn--bcher-kva.example", port: 80, path: "/a%20b" }],
    ["ws://h/%23not-a-fragment", { url: "ws://h/%23not-a-fragment", secure: false, host: "h", hostname: "h", port: 80, path: "/%23not-a-fragment" }],
    [new URL("wss://h:9443/u"), { url: "wss://h:9443/u", secure: true, host: "h:9443", hostname: "h", port: 9443, path: "/u" }],
  ])("reads the URL %s", (url, expected) => {
    const request = createClientRequest({ url, key: RFC_KEY });
    expect({ url: request.url, secure: request.secure, host: request.host, hostname: request.hostname, port: request.port, path: request.path }).toEqual(expected);
    expect(request.headers[0]).toEqual(["Host", expected.host]);
    expect(request.toString().startsWith(`GET ${expected.path} HTTP/1.1\r\nHost: ${expected.host}\r\n`)).toBe(true);
  });

  it.each([
    ["not a URL", "example.com/chat", /does not parse as an absolute URL/, "Invalid URL: example.com/chat"],
    ["an empty host", "ws://", /does not parse/, "Invalid URL: ws://"],
    ["ftp:", "ftp://example.com/", /the scheme must be ws:, wss:, http:, https: or ws\+unix:, not ftp:/, 'The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"'],
    ["file:", "file:///tmp/x", /not file:/, 'The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"'],
    ["ws+unix: without a socket path", "ws+unix::/chat", /needs a socket path/, "The URL's pathname is empty"],
    ["a fragment", "ws://example.com/chat#top", /fragment identifier/, "The URL contains a fragment identifier"],
    ["an empty fragment", "ws://example.com/chat#", /fragment identifier/, "The URL contains a fragment identifier"],
    ["a fragment on http:", "http://example.com/#x", /fragment identifier/, "The URL contains a fragment identifier"],
    ["a malformed %-escape in the credentials", "ws://user:%E0%A4%A@example.com/", /malformed %-escape/, "Invalid URL: the credentials \"%E0%A4%A\" contain a malformed %-escape"],
  ])("rejects %s with a SyntaxError in ws's words, and says why in `detail`", (_name, url, detail, wsMessage) => {
    const error = errorOf(() => createClientRequest({ url }), HandshakeSyntaxError);
    expect(error).toBeInstanceOf(SyntaxError);
    expect(String(error)).toBe(`SyntaxError: ${wsMessage}`);
    expect(error.code).toBe("WS_ERR_INVALID_URL");
    expect(error.detail).toMatch(detail);
  });

  it("accepts one subprotocol as a string", () => {
    expect(createClientRequest({ url: "ws://h", protocols: "mqtt" }).headers).toContainEqual(["Sec-WebSocket-Protocol", "mqtt"]);
  });

  it.each([[[""]], [["a b"]], [["a,b"]], [["a;b"]], [["(x)"]], [["ch\u00e4t"]], [["mqtt", "mqtt"]], ["a\r\nX: 1"], [null], [[7]]])("rejects the subprotocols %j with ws's SyntaxError", (protocols) => {
    const error = errorOf(() => createClientRequest({ url: "ws://h", protocols: protocols as string[] }), HandshakeSyntaxError);
    expect(String(error)).toBe("SyntaxError: An invalid or duplicated subprotocol was specified");
    expect(error.code).toBe("WS_ERR_INVALID_SUBPROTOCOL");
    expect(error.detail).toMatch(/Invalid subprotocol|offered more than once/);
  });

  it("generates a fresh 16-byte key each time", () => {
    const a = createClientRequest({ url: "ws://h" });
    const b = createClientRequest({ url: "ws://h" });
    expect(isValidKey(a.key)).toBe(true);
    expect(Buffer.from(a.key, "base64")).toHaveLength(16);
    expect(a.key).not.toBe(b.key);
  });

  it.each(["", "short", "dGhlIHNhbXBsZSBub25jZQ=", `${RFC_KEY}\r\nX: 1`])("rejects the key %j", (key) => {
    expect(errorOf(() => createClientRequest({ url: "ws://h", key })).code).toBe("WS_ERR_INVALID_KEY");
  });

  it.each([
    ["Upgrade", /part of the WebSocket handshake/],
    ["CONNECTION", /part of the WebSocket handshake/],
    ["Sec-WebSocket-Key", /part of the WebSocket handshake/],
    ["sec-websocket-version", /part of the WebSocket handshake/],
    ["Sec-WebSocket-Accept", /part of the WebSocket handshake/],
    ["Sec-WebSocket-Protocol", /use the `protocols` option/],
    ["Sec-WebSocket-Extensions", /use the `extensions` option/],
  ])("does not let the caller set %s", (name, reason) => {
    const error = errorOf(() => createClientRequest({ url: "ws://h", headers: { [name]: "x" } }));
    expect(error.code).toBe("WS_ERR_INVALID_HEADER");
    expect(error.message).toMatch(reason);
  });

  it("takes a Host header in place of the URL's, as ws does", () => {
    const request = createClientRequest({ url: "ws://10.0.0.7:8080/", headers: { host: "gateway.example" } });
    expect(request.headers.filter(([name]) => name.toLowerCase() === "host")).toEqual([["host", "gateway.example"]]);
    expect(request.hostname).toBe("10.0.0.7");
  });

  it("sends an Origin header, unless the origin option is set (which wins, as in ws)", () => {
    expect(createClientRequest({ url: "ws://h", headers: { Origin: "https://a.example" } }).headers).toContainEqual(["Origin", "https://a.example"]);
    const both = createClientRequest({ url: "ws://h", origin: "https://b.example", headers: { Origin: "https://a.example" } });
    expect(both.headers.filter(([name]) => name === "Origin")).toEqual([["Origin", "https://b.example"]]);
  });

  it("speaks Sec-WebSocket-Version 8 when asked (as ws), with the origin as Sec-WebSocket-Origin; no other version", () => {
    const request = createClientRequest({ url: "ws://h", protocolVersion: 8, origin: "https://a.example" });
    expect(request.headers).toContainEqual(["Sec-WebSocket-Version", "8"]);
    expect(request.headers).toContainEqual(["Sec-WebSocket-Origin", "https://a.example"]);
    expect(() => createClientRequest({ url: "ws://h", protocolVersion: 1000 })).toThrow(new RangeError("Unsupported protocol version: 1000 (supported versions: 8, 13)"));
  });

  it("reads a ws+unix: URL as a socket path and a request path", () => {
    const request = createClientRequest({ url: "ws+unix:/run/edge.sock:/chat?room=1" });
    expect(request.socketPath).toBe("/run/edge.sock");
    expect(request.path).toBe("/chat?room=1");
    expect(request.headers).toContainEqual(["Host", "localhost"]);
    expect(createClientRequest({ url: "ws+unix:/run/edge.sock" }).path).toBe("/");
  });

  it.each<[string, ClientRequestOptions["headers"], RegExp]>([
    ["a CRLF in a value (header injection)", { Cookie: "a=b\r\nX-Evil: 1" }, /control character/],
    ["a bare LF in a value", { Cookie: "a=b\nc" }, /control character/],
    ["a NUL in a value", { Cookie: "a\0" }, /control character/],
    ["a character above U+00FF", { "X-Name": "\u20ac" }, /above U\+00FF/],
    ["a CRLF in one of several values", { "X-A": ["ok", "no\r\n"] }, /control character/],
    ["a space in a name", { "X Y": "1" }, /Invalid header name/],
    ["a colon in a name", { "X:Y": "1" }, /Invalid header name/],
    ["an empty name", { "": "1" }, /Invalid header name/],
  ])("rejects %s", (_name, headers, message) => {
    const error = errorOf(() => createClientRequest({ url: "ws://h", headers }));
    expect(error.code).toBe("WS_ERR_INVALID_HEADER");
    expect(error.message).toMatch(message);
  });

  it("rejects an Origin with a line break", () => {
    expect(errorOf(() => createClientRequest({ url: "ws://h", origin: "https://a\r\nX: 1" })).code).toBe("WS_ERR_INVALID_HEADER");
  });

  it("sends obs-text as single bytes, as Node's http does", () => {
    const request = createClientRequest({ url: "ws://h", key: RFC_KEY, headers: { "X-Name": "caf\u00e9" } });
    expect(request.toBytes().includes(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0d, 0x0a]))).toBe(true);
  });

  it("turns URL credentials into Basic authentication", () => {
    const request = createClientRequest({ url: "ws://us%C3%A9r:p%40ss@h/", key: RFC_KEY });
    expect(request.headers).toContainEqual(["Authorization", `Basic ${Buffer.from("usér:p@ss").toString("base64")}`]);
    expect(request.path).toBe("/");
    expect(request.toString()).not.toContain("p%40ss");
  });

  it("lets the caller's Authorization header win over URL credentials", () => {
    const request = createClientRequest({ url: "ws://u:p@h/", key: RFC_KEY, headers: { authorization: "Bearer x" } });
    expect(request.headers.filter(([name]) => name.toLowerCase() === "authorization")).toEqual([["authorization", "Bearer x"]]);
  });

  it("takes extension offers as a header value or as elements", () => {
    const fromString = createClientRequest({ url: "ws://h", extensions: ` ${pmd};client_max_window_bits=10 , x-foo ` });
    expect(fromString.headers).toContainEqual(["Sec-WebSocket-Extensions", `${pmd}; client_max_window_bits=10, x-foo`]);
    const fromElements = createClientRequest({ url: "ws://h", extensions: [{ name: "x-foo", params: [{ name: "a", value: "1" }] }] });
    expect(fromElements.headers).toContainEqual(["Sec-WebSocket-Extensions", "x-foo; a=1"]);
    expect(createClientRequest({ url: "ws://h", extensions: [] }).headers.map(([n]) => n)).not.toContain("Sec-WebSocket-Extensions");
  });

  it.each([["", /expected an extension name/], [`${pmd},`, /found the end/], [[{ name: "a b", params: [] }], /must be an RFC 7230 token/]] as const)(
    "rejects the extension offer %j",
    (extensions, message) => {
      const error = errorOf(() => createClientRequest({ url: "ws://h", extensions }));
      expect(error.code).toBe("WS_ERR_INVALID_EXTENSION_HEADER");
      expect(error.message).toMatch(message);
    },
  );
});

describe("verifyServerResponse", () => {
  const plain: ClientHandshake = { key: RFC_KEY };
  const respond = (headers: IncomingHeaders = {}, statusCode = 101): ServerResponse => ({ statusCode, headers: upgradeHeaders(RFC_ACCEPT, headers) });

  it("accepts RFC 6455 §1.3's worked example", () => {
    expect(verifyServerResponse(plain, respond())).toEqual({ extensions: [] });
  });

  it.each<[string, IncomingHeaders]>([
    ["Upgrade in another case", { upgrade: "WebSocket" }],
    ["Upgrade in capitals", { upgrade: "WEBSOCKET" }],
    ["Upgrade with whitespace and an empty list element", { upgrade: " websocket , " }],
    ["Connection in lower case", { connection: "upgrade" }],
    ["Connection as a list", { connection: "keep-alive, Upgrade" }],
    ["Connection with odd spacing", { connection: "keep-alive ,\tUPGRADE" }],
    ["Connection as repeated fields", { connection: ["keep-alive", "Upgrade"] }],
    ["an accept value with surrounding whitespace", { "sec-websocket-accept": ` ${RFC_ACCEPT}\t` }],
  ])("accepts %s", (_name, headers) => {
    expect(verifyServerResponse(plain, respond(headers))).toEqual({ extensions: [] });
  });

  it.each<[string, ClientHandshake, ServerResponse, string, RegExp, string | undefined]>([
    ["200 instead of 101", plain, { statusCode: 200, headers: {} }, "WS_ERR_UNEXPECTED_STATUS", /Unexpected server response: 200 \(expected 101/, "Unexpected server response: 200"],
    ["no Upgrade", plain, respond({ upgrade: undefined }), "WS_ERR_INVALID_UPGRADE", /no Upgrade header/, "Invalid Upgrade header"],
    ["Upgrade: h2c", plain, respond({ upgrade: "h2c" }), "WS_ERR_INVALID_UPGRADE", /Upgrade is "h2c", expected "websocket"/, "Invalid Upgrade header"],
    ["Upgrade listing two protocols", plain, respond({ upgrade: "websocket, h2c" }), "WS_ERR_INVALID_UPGRADE", /expected "websocket"/, "Invalid Upgrade header"],
    ["an empty Upgrade", plain, respond({ upgrade: "" }), "WS_ERR_INVALID_UPGRADE", /Upgrade is ""/, "Invalid Upgrade header"],
    ["no Connection", plain, respond({ connection: undefined }), "WS_ERR_INVALID_UPGRADE", /no Connection header/, undefined],
    ["Connection without Upgrade", plain, respond({ connection: "keep-alive" }), "WS_ERR_INVALID_UPGRADE", /lacks the "Upgrade" token/, undefined],
    ["Connection: upgraded (not the token)", plain, respond({ connection: "upgraded" }), "WS_ERR_INVALID_UPGRADE", /lacks the "Upgrade" token/, undefined],
    ["no Sec-WebSocket-Accept", plain, respond({ "sec-websocket-accept": undefined }), "WS_ERR_INVALID_ACCEPT", /it is missing/, "Invalid Sec-WebSocket-Accept header"],
    ["a wrong Sec-WebSocket-Accept", plain, respond({ "sec-websocket-accept": acceptKey("AAAAAAAAAAAAAAAAAAAAAA==") }), "WS_ERR_INVALID_ACCEPT", /expected "s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=" for the key sent, got/, "Invalid Sec-WebSocket-Accept header"],
    ["the key echoed instead of the accept value", plain, respond({ "sec-websocket-accept": RFC_KEY }), "WS_ERR_INVALID_ACCEPT", /got "dGhl/, "Invalid Sec-WebSocket-Accept header"],
    ["Sec-WebSocket-Accept in another case", plain, respond({ "sec-websocket-accept": RFC_ACCEPT.toLowerCase() }), "WS_ERR_INVALID_ACCEPT", /got/, "Invalid Sec-WebSocket-Accept header"],
    ["Sec-WebSocket-Accept twice", plain, respond({ "sec-websocket-accept": [RFC_ACCEPT, RFC_ACCEPT] }), "WS_ERR_INVALID_ACCEPT", /appears more than once/, "Invalid Sec-WebSocket-Accept header"],
    ["a subprotocol when none was requested", plain, respond({ "sec-websocket-protocol": "mqtt" }), "WS_ERR_UNEXPECTED_PROTOCOL", /selected subprotocol "mqtt", but the client requested none/, "Server sent a subprotocol but none was requested"],
    ["a subprotocol not requested", { key: RFC_KEY, protocols: ["mqtt"] }, respond({ "sec-websocket-protocol": "mqttv5" }), "WS_ERR_UNEXPECTED_PROTOCOL", /"mqttv5", which is not one of those requested \("mqtt"\)/, "Server sent an invalid subprotocol"],
    ["a subprotocol in another case", { key: RFC_KEY, protocols: ["mqtt"] }, respond({ "sec-websocket-protocol": "MQTT" }), "WS_ERR_UNEXPECTED_PROTOCOL", /not one of those requested/, "Server sent an invalid subprotocol"],
    ["a list of subprotocols", { key: RFC_KEY, protocols: ["a", "b"] }, respond({ "sec-websocket-protocol": "a, b" }), "WS_ERR_UNEXPECTED_PROTOCOL", /"a, b"/, "Server sent an invalid subprotocol"],
    ["an empty subprotocol", { key: RFC_KEY, protocols: ["a"] }, respond({ "sec-websocket-protocol": "" }), "WS_ERR_UNEXPECTED_PROTOCOL", /""/, "Server sent an invalid subprotocol"],
    ["Sec-WebSocket-Protocol twice", { key: RFC_KEY, protocols: ["a"] }, respond({ "sec-websocket-protocol": ["a", "a"] }), "WS_ERR_UNEXPECTED_PROTOCOL", /more than once/, "Server sent an invalid subprotocol"],
    ["no subprotocol when one was requested", { key: RFC_KEY, protocols: ["mqtt", "mqttv3.1"] }, respond(), "WS_ERR_UNEXPECTED_PROTOCOL", /selected no subprotocol; the client requires one of "mqtt", "mqttv3.1"/, "Server sent no subprotocol"],
    ["an extension when none was offered", plain, respond({ "sec-websocket-extensions": pmd }), "WS_ERR_UNEXPECTED_EXTENSION", /accepted extensions \("permessage-deflate"\), but the client offered none/, "Server sent a Sec-WebSocket-Extensions header but no extension was requested"],
    ["an extension not offered", { key: RFC_KEY, offeredExtensions: [{ name: pmd, params: [] }] }, respond({ "sec-websocket-extensions": "x-foo" }), "WS_ERR_UNEXPECTED_EXTENSION", /"x-foo", which the client did not offer/, "Server indicated an extension that was not requested"],
    ["a malformed extension header", { key: RFC_KEY, offeredExtensions: [{ name: pmd, params: [] }] }, respond({ "sec-websocket-extensions": `${pmd};` }), "WS_ERR_UNEXPECTED_EXTENSION", /Invalid Sec-WebSocket-Extensions header/, "Invalid Sec-WebSocket-Extensions header"],
    ["an empty extension header", { key: RFC_KEY, offeredExtensions: [{ name: pmd, params: [] }] }, respond({ "sec-websocket-extensions": "" }), "WS_ERR_UNEXPECTED_EXTENSION", /expected an extension name/, "Invalid Sec-WebSocket-Extensions header"],
    ["permessage-deflate accepted twice", { key: RFC_KEY, offeredExtensions: [{ name: pmd, params: [] }] }, respond({ "sec-websocket-extensions": [pmd, pmd] }), "WS_ERR_UNEXPECTED_EXTENSION", /more than once/, "Invalid Sec-WebSocket-Extensions header"],
    ["client_max_window_bits not offered", { key: RFC_KEY, offeredExtensions: [{ name: pmd, params: [] }] }, respond({ "sec-websocket-extensions": `${pmd}; client_max_window_bits=10` }), "WS_ERR_UNEXPECTED_EXTENSION", /client_max_window_bits was not offered/, "Invalid Sec-WebSocket-Extensions header"],
    ["an unknown permessage-deflate parameter", { key: RFC_KEY, offeredExtensions: [{ name: pmd, params: [] }] }, respond({ "sec-websocket-extensions": `${pmd}; foo=1` }), "WS_ERR_UNEXPECTED_EXTENSION", /unknown parameter "foo"/, "Invalid Sec-WebSocket-Extensions header"],
  ])("rejects %s: ws's message (where ws checks it), the specifics in `detail`", (_name, request, response, code, detail, wsMessage) => {
    const error = errorOf(() => verifyServerResponse(request, response));
    expect(error.code).toBe(code);
    expect(error.detail).toMatch(detail);
    expect(error.message).toBe(wsMessage ?? error.detail);
  });

  it("returns the selected subprotocol", () => {
    expect(verifyServerResponse({ key: RFC_KEY, protocols: ["mqtt", "mqttv3.1"] }, respond({ "sec-websocket-protocol": " mqttv3.1 " }))).toEqual({ protocol: "mqttv3.1", extensions: [] });
  });

  it("returns accepted extensions and the permessage-deflate configuration", () => {
    const request: ClientHandshake = {
      key: RFC_KEY,
      offeredExtensions: [{ name: "x-foo", params: [] }, { name: pmd, params: [{ name: "client_max_window_bits" }] }],
    };
    const result = verifyServerResponse(request, respond({ "sec-websocket-extensions": [`${pmd}; client_max_window_bits=12`, "x-foo; a=1"] }));
    expect(result).toEqual({
      extensions: [
        { name: pmd, params: [{ name: "client_max_window_bits", value: "12" }] },
        { name: "x-foo", params: [{ name: "a", value: "1" }] },
      ],
      perMessageDeflate: { serverNoContextTakeover: false, clientNoContextTakeover: false, clientMaxWindowBits: 12 },
    });
  });

  it("accepts a server that declines every offered extension", () => {
    expect(verifyServerResponse({ key: RFC_KEY, offeredExtensions: [{ name: pmd, params: [] }] }, respond())).toEqual({ extensions: [] });
  });

  it.each<[number, string | undefined, IncomingHeaders, RegExp]>([
    [401, "Unauthorized", {}, /^Unexpected server response: 401 Unauthorized \(expected 101 Switching Protocols\): the server requires authentication/],
    [403, "Forbidden", {}, /403 Forbidden .*check the Origin and credentials/],
    [404, undefined, {}, /^Unexpected server response: 404 \(expected .*no WebSocket endpoint at this path/],
    [302, "Found", { location: "wss://elsewhere.example/" }, /redirects to "wss:\/\/elsewhere.example\/"; redirects are not followed/],
    [426, "Upgrade Required", { "sec-websocket-version": "8, 7" }, /supports Sec-WebSocket-Version "8, 7", this client speaks 13/],
    [503, "Service Unavailable", {}, /retry later/],
    [418, "I'm a teapot", {}, /^Unexpected server response: 418 I'm a teapot \(expected 101 Switching Protocols\)$/],
  ])("explains status %i", (statusCode, statusMessage, headers, message) => {
    const response: ServerResponse = statusMessage === undefined ? { statusCode, headers } : { statusCode, statusMessage, headers };
    const error = errorOf(() => verifyServerResponse(plain, response));
    expect(error).toMatchObject({ code: "WS_ERR_UNEXPECTED_STATUS", statusCode, message: `Unexpected server response: ${statusCode}` });
    expect(error.detail).toMatch(message);
    expect(error.bodyExcerpt).toBeUndefined();
  });

  it("carries a cleaned, bounded body excerpt", () => {
    const error = errorOf(() => verifyServerResponse(plain, { statusCode: 401, headers: {}, bodyExcerpt: "\r\n  Token\texpired\r\n\r\nlog in again  " }));
    expect(error.bodyExcerpt).toBe("Token expired log in again");
    expect(error.detail).toMatch(/\. Body: Token expired log in again$/);
    const long = errorOf(() => verifyServerResponse(plain, { statusCode: 500, headers: {}, bodyExcerpt: "x".repeat(1000) }));
    expect(long.bodyExcerpt).toBe(`${"x".repeat(200)}…`);
  });
});
