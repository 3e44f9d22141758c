import { describe, expect, it } from "vitest";
import {
  buildErrorResponse,
  buildUpgradeResponse,
  checkUpgradeRequest,
  DEFAULT_UPGRADE_LIMITS,
  HandshakeError,
  type IncomingHeaders,
  type UpgradeCheckOptions,
  type UpgradeRejected,
  type UpgradeRequest,
} from "../../src/handshake/index.js";
import { parseHead, RFC_ACCEPT, RFC_KEY, withOverrides } from "./helpers.js";

const pmd = "permessage-deflate";

/** A valid upgrade request, changed by `headers` (`undefined` removes one) and `fields`. */
function request(headers: IncomingHeaders = {}, fields: Partial<UpgradeRequest> = {}): UpgradeRequest {
  return {
    method: "GET",
    httpVersion: "1.1",
    url: "/chat?room=1",
    headers: withOverrides(
      { host: "server.example", upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": RFC_KEY, "sec-websocket-version": "13" },
      headers,
    ),
    ...fields,
  };
}

function rejected(req: UpgradeRequest, options?: UpgradeCheckOptions): UpgradeRejected {
  const result = checkUpgradeRequest(req, options);
  if (result.ok) throw new Error("expected a rejection");
  return result;
}

describe("checkUpgradeRequest", () => {
  it("accepts RFC 6455 §1.3's request", () => {
    expect(checkUpgradeRequest(request())).toEqual({
      ok: true,
      key: RFC_KEY,
      version: 13,
      protocols: [],
      requestedExtensions: [],
      host: "server.example",
      path: "/chat",
    });
  });

  it.each<[string, IncomingHeaders, Partial<UpgradeRequest>]>([
    ["HTTP/1.2", {}, { httpVersion: "1.2" }],
    ["HTTP/2.0", {}, { httpVersion: "2.0" }],
    ["Upgrade in another case", { upgrade: "WebSocket" }, {}],
    ["Upgrade listing websocket among others", { upgrade: "h2c, WEBSOCKET" }, {}],
    ["Connection as a list", { connection: "keep-alive, Upgrade" }, {}],
    ["Connection in lower case", { connection: "upgrade" }, {}],
    ["Connection as repeated fields", { connection: ["keep-alive", "upgrade"] }, {}],
    ["an empty Host (RFC 7230 allows it)", { host: "" }, {}],
    ["a key with surrounding whitespace", { "sec-websocket-key": ` ${RFC_KEY} ` }, {}],
    ["an unrelated extension offer", { "sec-websocket-extensions": "x-foo; a=1" }, {}],
  ])("accepts %s", (_name, headers, fields) => {
    expect(checkUpgradeRequest(request(headers, fields))).toMatchObject({ ok: true, key: RFC_KEY });
  });

  it("accepts version 8 as ws does, its origin taken from Sec-WebSocket-Origin", () => {
    const draft = request({ "sec-websocket-version": "8", "sec-websocket-origin": "https://a.example" });
    expect(checkUpgradeRequest(draft, { origins: ["https://a.example"] })).toMatchObject({ ok: true, version: 8, origin: "https://a.example" });
    expect(checkUpgradeRequest(draft, { origins: ["https://b.example"] })).toMatchObject({ ok: false, status: 403 });
  });

  it.each<[string, IncomingHeaders, Partial<UpgradeRequest>, UpgradeCheckOptions, number, string, Record<string, string>, RegExp]>([
    ["a POST", {}, { method: "POST" }, {}, 405, "WS_ERR_INVALID_METHOD", { Allow: "GET" }, /Invalid method "POST": a WebSocket handshake is a GET request/],
    ["a lower-case get (methods are case-sensitive)", {}, { method: "get" }, {}, 405, "WS_ERR_INVALID_METHOD", { Allow: "GET" }, /"get"/],
    ["HTTP/1.0", {}, { httpVersion: "1.0" }, {}, 400, "WS_ERR_INVALID_HTTP_VERSION", {}, /needs HTTP\/1.1 or later/],
    ["a garbled HTTP version", {}, { httpVersion: "1" }, {}, 400, "WS_ERR_INVALID_HTTP_VERSION", {}, /"1"/],
    ["no Host", { host: undefined }, {}, {}, 400, "WS_ERR_INVALID_HOST", {}, /Missing Host header/],
    ["two Host fields", { host: ["a", "b"] }, {}, {}, 400, "WS_ERR_INVALID_HOST", {}, /appears more than once/],
    ["no Upgrade (a plain HTTP request)", { upgrade: undefined }, {}, {}, 426, "WS_ERR_UPGRADE_REQUIRED", { Upgrade: "websocket", "Sec-WebSocket-Version": "13, 8" }, /needs Upgrade: websocket and Connection: Upgrade/],
    ["Upgrade: h2c", { upgrade: "h2c" }, {}, {}, 400, "WS_ERR_INVALID_UPGRADE", {}, /Invalid Upgrade header "h2c": it must include "websocket"/],
    ["Upgrade: websocket/13 (not the token)", { upgrade: "websocket/13" }, {}, {}, 400, "WS_ERR_INVALID_UPGRADE", {}, /"websocket\/13"/],
    ["no Connection", { connection: undefined }, {}, {}, 400, "WS_ERR_INVALID_UPGRADE", {}, /Missing Connection header: it must include "Upgrade"/],
    ["Connection without Upgrade", { connection: "keep-alive" }, {}, {}, 400, "WS_ERR_INVALID_UPGRADE", {}, /Invalid Connection header "keep-alive"/],
    ["no Sec-WebSocket-Version", { "sec-websocket-version": undefined }, {}, {}, 400, "WS_ERR_INVALID_VERSION", { "Sec-WebSocket-Version": "13, 8" }, /Missing Sec-WebSocket-Version header: this server speaks versions 13 and 8/],
    ["two Sec-WebSocket-Version fields", { "sec-websocket-version": ["13", "13"] }, {}, {}, 400, "WS_ERR_INVALID_VERSION", { "Sec-WebSocket-Version": "13, 8" }, /Repeated/],
    ["a garbled version", { "sec-websocket-version": "thirteen" }, {}, {}, 400, "WS_ERR_INVALID_VERSION", { "Sec-WebSocket-Version": "13, 8" }, /Invalid Sec-WebSocket-Version/],
    ["a version list", { "sec-websocket-version": "13, 8" }, {}, {}, 400, "WS_ERR_INVALID_VERSION", { "Sec-WebSocket-Version": "13, 8" }, /Invalid/],
    ["a version with a leading zero", { "sec-websocket-version": "013" }, {}, {}, 400, "WS_ERR_INVALID_VERSION", { "Sec-WebSocket-Version": "13, 8" }, /Invalid/],
    ["a version above 255", { "sec-websocket-version": "256" }, {}, {}, 400, "WS_ERR_INVALID_VERSION", { "Sec-WebSocket-Version": "13, 8" }, /Invalid/],
    ["version 12", { "sec-websocket-version": "12" }, {}, {}, 426, "WS_ERR_UNSUPPORTED_VERSION", { Upgrade: "websocket", "Sec-WebSocket-Version": "13, 8" }, /Unsupported Sec-WebSocket-Version "12": this server speaks versions 13 and 8/],
    ["version 14", { "sec-websocket-version": "14" }, {}, {}, 426, "WS_ERR_UNSUPPORTED_VERSION", { Upgrade: "websocket", "Sec-WebSocket-Version": "13, 8" }, /"14"/],
    ["no key", { "sec-websocket-key": undefined }, {}, {}, 400, "WS_ERR_INVALID_KEY", {}, /Missing Sec-WebSocket-Key header: it must be 16 random bytes in base64/],
    ["two keys", { "sec-websocket-key": [RFC_KEY, RFC_KEY] }, {}, {}, 400, "WS_ERR_INVALID_KEY", {}, /Repeated Sec-WebSocket-Key/],
    ["two keys joined by Node", { "sec-websocket-key": `${RFC_KEY}, ${RFC_KEY}` }, {}, {}, 400, "WS_ERR_INVALID_KEY", {}, /Invalid Sec-WebSocket-Key/],
    ["a 15-byte key", { "sec-websocket-key": Buffer.alloc(15).toString("base64") }, {}, {}, 400, "WS_ERR_INVALID_KEY", {}, /Invalid/],
    ["a 17-byte key", { "sec-websocket-key": Buffer.alloc(17).toString("base64") }, {}, {}, 400, "WS_ERR_INVALID_KEY", {}, /Invalid/],
    ["a base64url key", { "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZ-==" }, {}, {}, 400, "WS_ERR_INVALID_KEY", {}, /Invalid/],
    ["an empty subprotocol list", { "sec-websocket-protocol": "" }, {}, {}, 400, "WS_ERR_INVALID_SUBPROTOCOL", {}, /Invalid Sec-WebSocket-Protocol header "": expected a subprotocol name/],
    ["a malformed subprotocol list", { "sec-websocket-protocol": "mqtt,,v2" }, {}, {}, 400, "WS_ERR_INVALID_SUBPROTOCOL", {}, /found "," at index 5/],
    ["a duplicated subprotocol", { "sec-websocket-protocol": "mqtt, mqtt" }, {}, {}, 400, "WS_ERR_INVALID_SUBPROTOCOL", {}, /"mqtt" is offered more than once/],
    ["a subprotocol duplicated across fields", { "sec-websocket-protocol": ["mqtt", "mqtt"] }, {}, {}, 400, "WS_ERR_INVALID_SUBPROTOCOL", {}, /more than once/],
    ["a malformed extension list", { "sec-websocket-extensions": `${pmd}; ` }, {}, {}, 400, "WS_ERR_INVALID_EXTENSION_HEADER", {}, /Invalid Sec-WebSocket-Extensions header .*expected a parameter name/],
    ["an empty extension list", { "sec-websocket-extensions": "" }, {}, {}, 400, "WS_ERR_INVALID_EXTENSION_HEADER", {}, /expected an extension name/],
    ["two Origin fields", { origin: ["https://a", "https://b"] }, {}, {}, 400, "WS_ERR_INVALID_HEADER", {}, /Origin header appears more than once/],
    ["an origin not in the list", { origin: "https://evil.example" }, {}, { origins: ["https://app.example"] }, 403, "WS_ERR_ORIGIN_NOT_ALLOWED", {}, /Forbidden: origin "https:\/\/evil.example" is not allowed/],
    ["the origin null", { origin: "null" }, {}, { origins: ["https://app.example"] }, 403, "WS_ERR_ORIGIN_NOT_ALLOWED", {}, /"null"/],
    ["an origin refused by the predicate", { origin: "https://a" }, {}, { origins: () => false }, 403, "WS_ERR_ORIGIN_NOT_ALLOWED", {}, /not allowed/],
    ["a missing origin refused by the predicate", {}, {}, { origins: (origin) => origin !== undefined }, 403, "WS_ERR_ORIGIN_NOT_ALLOWED", {}, /the request has no Origin/],
    ["another path", {}, { url: "/other?room=1" }, { path: "/chat" }, 404, "WS_ERR_PATH_NOT_FOUND", {}, /No WebSocket endpoint at "\/other"/],
    ["a path with a trailing slash", {}, { url: "/chat/" }, { path: "/chat" }, 404, "WS_ERR_PATH_NOT_FOUND", {}, /"\/chat\/"/],
    ["a POST to another path (404 first)", {}, { method: "POST", url: "/x" }, { path: "/chat" }, 404, "WS_ERR_PATH_NOT_FOUND", {}, /"\/x"/],
  ])("rejects %s", (_name, headers, fields, options, status, code, responseHeaders, body) => {
    const result = rejected(request(headers, fields), options);
    expect(result).toMatchObject({ ok: false, status, headers: responseHeaders });
    expect(Object.keys(result.headers)).toHaveLength(Object.keys(responseHeaders).length);
    expect(result.body).toMatch(body);
    expect(result.error).toBeInstanceOf(HandshakeError);
    expect(result.error).toMatchObject({ code, status, message: result.body });
  });

  describe("fields that may appear once, repeated where Node's `headers` hides it (rawHeaders decides)", () => {
    /** A request as Node's http hands it over: `headers` with the repeat dropped or joined, and the raw list. */
    function nodeRequest(name: string, [first, second]: [string, string], asNodeHasIt: string): UpgradeRequest {
      const base = request({ [name.toLowerCase()]: asNodeHasIt });
      const rawHeaders = Object.entries(base.headers).flatMap(([field, value]) => (field === name.toLowerCase() ? [name, first, name, second] : [field, String(value)]));
      return { ...base, rawHeaders };
    }

    it.each<[string, [string, string], string, string, RegExp, Record<string, string>]>([
      // Node keeps the first Host and drops the second.
      ["Host", ["server.example", "evil.example"], "server.example", "WS_ERR_INVALID_HOST", /^Host header appears more than once$/, {}],
      // Node joins the others with ", ".
      ["Sec-WebSocket-Key", [RFC_KEY, RFC_KEY], `${RFC_KEY}, ${RFC_KEY}`, "WS_ERR_INVALID_KEY", /^Repeated Sec-WebSocket-Key header/, {}],
      ["Sec-WebSocket-Version", ["13", "13"], "13, 13", "WS_ERR_INVALID_VERSION", /^Repeated Sec-WebSocket-Version header/, { "Sec-WebSocket-Version": "13, 8" }],
      ["Upgrade", ["websocket", "websocket"], "websocket, websocket", "WS_ERR_INVALID_UPGRADE", /^Upgrade header appears more than once$/, {}],
      ["Origin", ["https://a.example", "https://b.example"], "https://a.example, https://b.example", "WS_ERR_INVALID_HEADER", /^Origin header appears more than once$/, {}],
    ])("a second %s field answers 400 naming it", (name, values, asNodeHasIt, code, body, headers) => {
      const result = rejected(nodeRequest(name, values, asNodeHasIt));
      expect(result).toMatchObject({ status: 400, headers, error: { code } });
      expect(result.body).toMatch(body);
    });

    it.each<[string, [string, string], string]>([
      ["Connection", ["keep-alive", "Upgrade"], "keep-alive, Upgrade"],
      ["Sec-WebSocket-Protocol", ["a", "b"], "a, b"],
      ["Sec-WebSocket-Extensions", ["x-foo", "x-bar"], "x-foo, x-bar"],
    ])("a repeated %s field (a list) is accepted", (name, values, asNodeHasIt) => {
      expect(checkUpgradeRequest(nodeRequest(name, values, asNodeHasIt))).toMatchObject({ ok: true });
    });
  });

  describe("header limits (431)", () => {
    const manyHeaders = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`x-h${i}`, "v"]));

    it("counts fields", () => {
      expect(checkUpgradeRequest(request(manyHeaders), { maxHeaderCount: 15 }).ok).toBe(true);
      const result = rejected(request(manyHeaders), { maxHeaderCount: 14 });
      expect(result).toMatchObject({ status: 431, error: { code: "WS_ERR_HEADERS_TOO_LARGE" } });
      expect(result.body).toBe("Too many header fields: 15, the limit is 14");
    });

    it("counts repeated fields one by one", () => {
      expect(rejected(request({ cookie: ["a=1", "b=2", "c=3"] }), { maxHeaderCount: 6 }).body).toBe("Too many header fields: 8, the limit is 6");
    });

    it("counts rawHeaders when given, seeing fields that Node merged", () => {
      const req = request({}, { rawHeaders: ["Host", "a", "X-A", "1", "X-A", "2", "X-A", "3"] });
      expect(rejected(req, { maxHeaderCount: 3 }).body).toBe("Too many header fields: 4, the limit is 3");
      const bytes = "Host".length + "a".length + 4 + 3 * ("X-A".length + 1 + 4);
      expect(checkUpgradeRequest(req, { maxHeaderBytes: bytes }).ok).toBe(true);
      expect(rejected(req, { maxHeaderBytes: bytes - 1 }).body).toBe(`Header fields too large: ${bytes} bytes, the limit is ${bytes - 1}`);
    });

    it("measures bytes as name, value, \": \" and CRLF", () => {
      const size = (["host", "server.example"].join("") + ["upgrade", "websocket"].join("") + ["connection", "Upgrade"].join("") + ["sec-websocket-key", RFC_KEY].join("") + ["sec-websocket-version", "13"].join("")).length + 5 * 4;
      expect(checkUpgradeRequest(request(), { maxHeaderBytes: size }).ok).toBe(true);
      expect(rejected(request(), { maxHeaderBytes: size - 1 })).toMatchObject({ status: 431, body: `Header fields too large: ${size} bytes, the limit is ${size - 1}` });
    });

    it("defaults to 16 KiB and 100 fields", () => {
      expect(DEFAULT_UPGRADE_LIMITS).toEqual({ maxHeaderBytes: 16384, maxHeaderCount: 100 });
      expect(rejected(request({ cookie: "x".repeat(16 * 1024) })).status).toBe(431);
      expect(rejected(request(Object.fromEntries(Array.from({ length: 96 }, (_, i) => [`x-${i}`, ""])))).status).toBe(431);
      expect(checkUpgradeRequest(request(Object.fromEntries(Array.from({ length: 95 }, (_, i) => [`x-${i}`, ""])))).ok).toBe(true);
    });

    it("checks limits before anything else", () => {
      expect(rejected(request(manyHeaders, { method: "POST" }), { maxHeaderCount: 5 }).status).toBe(431);
    });
  });

  describe("origins", () => {
    it.each<[string, IncomingHeaders, UpgradeCheckOptions["origins"], boolean]>([
      ["a listed origin", { origin: "https://app.example" }, ["https://app.example"], true],
      ["a listed origin in another case", { origin: "HTTPS://App.Example" }, ["https://app.example"], true],
      ["no Origin (not a browser) with a list", {}, ["https://app.example"], true],
      ["an origin accepted by the predicate", { origin: "https://x.example" }, (origin) => origin?.endsWith(".example") ?? false, true],
      ["an origin with a port not listed", { origin: "https://app.example:8443" }, ["https://app.example"], false],
    ])("%s", (_name, headers, origins, ok) => {
      const result = checkUpgradeRequest(request(headers), { origins });
      expect(result.ok).toBe(ok);
      if (result.ok && headers.origin !== undefined) expect(result.origin).toBe(headers.origin);
    });
  });

  describe("subprotocols", () => {
    it("selects the client's first preference by default, as ws does", () => {
      expect(checkUpgradeRequest(request({ "sec-websocket-protocol": "mqtt, mqttv3.1" }))).toMatchObject({ ok: true, protocol: "mqtt", protocols: ["mqtt", "mqttv3.1"] });
    });

    it("joins repeated fields into one list", () => {
      expect(checkUpgradeRequest(request({ "sec-websocket-protocol": ["a, b", "c"] }))).toMatchObject({ protocols: ["a", "b", "c"] });
    });

    it("lets handleProtocols choose, or choose none", () => {
      const req = request({ "sec-websocket-protocol": "mqtt, mqttv3.1" });
      const seen: unknown[] = [];
      const chosen = checkUpgradeRequest(req, {
        handleProtocols: (set, r) => {
          seen.push([...set], r);
          return "mqttv3.1";
        },
      });
      expect(chosen).toMatchObject({ ok: true, protocol: "mqttv3.1" });
      expect(seen).toEqual([["mqtt", "mqttv3.1"], req]);
      const none = checkUpgradeRequest(req, { handleProtocols: () => false });
      expect(none.ok && none.protocol).toBeUndefined();
    });

    it("does not call handleProtocols when none were offered", () => {
      let called = false;
      checkUpgradeRequest(request(), { handleProtocols: () => ((called = true), false) });
      expect(called).toBe(false);
    });

    it("throws when handleProtocols returns a subprotocol the client did not offer (a bug in the handler)", () => {
      expect(() => checkUpgradeRequest(request({ "sec-websocket-protocol": "a" }), { handleProtocols: () => "b" })).toThrow(TypeError);
    });
  });

  it("returns the extension offers in order", () => {
    const result = checkUpgradeRequest(request({ "sec-websocket-extensions": [`${pmd}; client_max_window_bits`, "x-foo"] }));
    expect(result).toMatchObject({
      ok: true,
      requestedExtensions: [
        { name: pmd, params: [{ name: "client_max_window_bits" }] },
        { name: "x-foo", params: [] },
      ],
    });
  });

  it("matches the path without the query, as ws does", () => {
    expect(checkUpgradeRequest(request({}, { url: "/chat?x=/other" }), { path: "/chat" })).toMatchObject({ ok: true, path: "/chat" });
    expect(checkUpgradeRequest(request({}, { url: "/chat" }), { path: "/chat" }).ok).toBe(true);
  });
});

describe("buildUpgradeResponse", () => {
  it("builds RFC 6455 §1.3's response", () => {
    expect(buildUpgradeResponse({ key: RFC_KEY }).toString("latin1")).toBe(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${RFC_ACCEPT}\r\n\r\n`,
    );
  });

  it("adds the subprotocol, extensions and extra headers in ws's order", () => {
    const bytes = buildUpgradeResponse({
      key: RFC_KEY,
      protocol: "mqtt",
      extensions: [{ name: pmd, params: [{ name: "server_no_context_takeover" }] }],
      headers: { "Set-Cookie": ["a=1", "b=2"] },
    });
    expect(bytes.toString("latin1")).toBe(
      "HTTP/1.1 101 Switching Protocols\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${RFC_ACCEPT}\r\n` +
        "Sec-WebSocket-Protocol: mqtt\r\n" +
        `Sec-WebSocket-Extensions: ${pmd}; server_no_context_takeover\r\n` +
        "Set-Cookie: a=1\r\n" +
        "Set-Cookie: b=2\r\n" +
        "\r\n",
    );
  });

  it("takes extensions as a header value", () => {
    expect(parseHead(buildUpgradeResponse({ key: RFC_KEY, extensions: `${pmd};client_max_window_bits=10` })).headers["sec-websocket-extensions"]).toBe(`${pmd}; client_max_window_bits=10`);
  });

  it.each<[string, Parameters<typeof buildUpgradeResponse>[0], string]>([
    ["an invalid key", { key: "nope" }, "WS_ERR_INVALID_KEY"],
    ["an invalid subprotocol", { key: RFC_KEY, protocol: "a b" }, "WS_ERR_INVALID_SUBPROTOCOL"],
    ["a malformed extension value", { key: RFC_KEY, extensions: "a;" }, "WS_ERR_INVALID_EXTENSION_HEADER"],
    ["Sec-WebSocket-Accept as an extra header", { key: RFC_KEY, headers: { "sec-websocket-accept": "x" } }, "WS_ERR_INVALID_HEADER"],
    ["Connection as an extra header", { key: RFC_KEY, headers: { Connection: "close" } }, "WS_ERR_INVALID_HEADER"],
    ["Sec-WebSocket-Protocol as an extra header", { key: RFC_KEY, headers: { "Sec-WebSocket-Protocol": "x" } }, "WS_ERR_INVALID_HEADER"],
    ["a header value with CRLF", { key: RFC_KEY, headers: { "Set-Cookie": "a\r\nb: c" } }, "WS_ERR_INVALID_HEADER"],
  ])("refuses %s", (_name, options, code) => {
    expect(() => buildUpgradeResponse(options)).toThrow(expect.objectContaining({ code }));
  });
});

describe("buildErrorResponse", () => {
  it("builds a complete response that closes the connection", () => {
    expect(buildErrorResponse(400, "Missing Sec-WebSocket-Key header").toString("latin1")).toBe(
      "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 32\r\n\r\nMissing Sec-WebSocket-Key header",
    );
  });

  it("counts Content-Length in UTF-8 bytes", () => {
    const parsed = parseHead(buildErrorResponse(403, "Zugriff verweigert: Ursprung ungültig ✗"));
    expect(parsed.body).toBe("Zugriff verweigert: Ursprung ungültig ✗");
    expect(parsed.headers["content-length"]).toBe(String(Buffer.byteLength(parsed.body)));
  });

  it("marks Upgrade as a connection option when the answer carries one (426)", () => {
    const result = rejected(request({ "sec-websocket-version": "12" }));
    const parsed = parseHead(buildErrorResponse(result.status, result.body, result.headers));
    expect(parsed.startLine).toBe("HTTP/1.1 426 Upgrade Required");
    expect(parsed.headers).toMatchObject({ connection: "Upgrade, close", upgrade: "websocket", "sec-websocket-version": "13, 8" });
  });

  it("sends the Allow header of a 405", () => {
    const result = rejected(request({}, { method: "PUT" }));
    expect(parseHead(buildErrorResponse(result.status, result.body, result.headers)).headers).toMatchObject({ connection: "close", allow: "GET" });
  });

  it("lets the caller replace Content-Type and add headers", () => {
    const parsed = parseHead(buildErrorResponse(401, "{}", { "Content-Type": "application/json", "WWW-Authenticate": 'Bearer realm="edge"' }));
    expect(parsed.headers).toEqual({ connection: "close", "content-length": "2", "content-type": "application/json", "www-authenticate": 'Bearer realm="edge"' });
  });

  it("keeps the space before an empty reason phrase", () => {
    expect(buildErrorResponse(418, "").toString("latin1").startsWith("HTTP/1.1 418 \r\n")).toBe(true);
  });

  it.each<[string, number, Record<string, string> | undefined, string]>([
    ["a 1xx status", 101, undefined, "WS_ERR_INVALID_OPTION"],
    ["a 2xx status", 200, undefined, "WS_ERR_INVALID_OPTION"],
    ["a status above 599", 600, undefined, "WS_ERR_INVALID_OPTION"],
    ["a fractional status", 400.5, undefined, "WS_ERR_INVALID_OPTION"],
    ["a Content-Length header", 400, { "Content-Length": "0" }, "WS_ERR_INVALID_HEADER"],
    ["a Transfer-Encoding header", 400, { "transfer-encoding": "chunked" }, "WS_ERR_INVALID_HEADER"],
    ["a Connection header", 400, { Connection: "keep-alive" }, "WS_ERR_INVALID_HEADER"],
  ])("refuses %s", (_name, status, headers, code) => {
    expect(() => buildErrorResponse(status, "x", headers)).toThrow(expect.objectContaining({ code }));
  });
});
