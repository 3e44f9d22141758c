// Both halves together, through the bytes: client request → server check → 101 → client check.
import { describe, expect, it } from "vitest";
import {
  acceptPerMessageDeflate,
  buildUpgradeResponse,
  checkUpgradeRequest,
  createClientRequest,
  offerPerMessageDeflate,
  perMessageDeflateExtension,
  verifyServerResponse,
  type ClientRequestOptions,
  type HandshakeResult,
  type PerMessageDeflateOptions,
  type UpgradeCheckOptions,
} from "../../src/handshake/index.js";
import { parseHead } from "./helpers.js";

interface Scenario {
  client: ClientRequestOptions;
  server: UpgradeCheckOptions & { deflate?: PerMessageDeflateOptions };
  expected: HandshakeResult;
}

const scenarios: Record<string, Scenario> = {
  "a bare connection": { client: { url: "ws://127.0.0.1:8080/" }, server: {}, expected: { extensions: [] } },
  "MQTT over wss with an IPv6 host and a query": {
    client: { url: "wss://[fd00::1]:8884/mqtt?id=7", protocols: ["mqtt"], origin: "https://app.example" },
    server: { path: "/mqtt", origins: ["https://app.example"] },
    expected: { protocol: "mqtt", extensions: [] },
  },
  "permessage-deflate with window limits both ways": {
    client: { url: "ws://h/", extensions: offerPerMessageDeflate({ serverMaxWindowBits: 10, clientMaxWindowBits: 12 }) },
    server: { deflate: { clientMaxWindowBits: 11, serverNoContextTakeover: true } },
    expected: {
      extensions: [{ name: "permessage-deflate", params: [{ name: "server_no_context_takeover" }, { name: "server_max_window_bits", value: "10" }, { name: "client_max_window_bits", value: "11" }] }],
      perMessageDeflate: { serverNoContextTakeover: true, clientNoContextTakeover: false, serverMaxWindowBits: 10, clientMaxWindowBits: 11 },
    },
  },
  "a server that declines permessage-deflate (it must limit a client that can't be limited)": {
    client: { url: "ws://h/", extensions: offerPerMessageDeflate({ clientMaxWindowBits: false }) },
    server: { deflate: { clientMaxWindowBits: 9 } },
    expected: { extensions: [] },
  },
  "a subprotocol chosen by handleProtocols": {
    client: { url: "http://h/", protocols: ["v1.json", "v2.json"] },
    server: { handleProtocols: (set) => (set.has("v2.json") ? "v2.json" : false) },
    expected: { protocol: "v2.json", extensions: [] },
  },
};

describe("client and server handshakes together", () => {
  it.each(Object.entries(scenarios))("%s", (_name, { client, server, expected }) => {
    const request = createClientRequest(client);
    const sent = parseHead(request.toBytes());
    const [method = "", url = "", version = ""] = sent.startLine.split(" ");
    const check = checkUpgradeRequest({ method, url, httpVersion: version.replace("HTTP/", ""), headers: sent.headers }, server);
    if (!check.ok) throw check.error;

    const deflate = server.deflate === undefined ? null : acceptPerMessageDeflate(check.requestedExtensions, server.deflate);
    const answer = parseHead(
      buildUpgradeResponse({
        key: check.key,
        ...(check.protocol === undefined ? {} : { protocol: check.protocol }),
        extensions: deflate === null ? [] : [perMessageDeflateExtension(deflate)],
      }),
    );
    expect(answer.startLine).toBe("HTTP/1.1 101 Switching Protocols");
    expect(verifyServerResponse(request, { statusCode: 101, headers: answer.headers })).toEqual(expected);
  });
});
