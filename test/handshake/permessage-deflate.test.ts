import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  acceptPerMessageDeflate,
  checkPerMessageDeflateResponse,
  formatExtensions,
  offerPerMessageDeflate,
  parseExtensions,
  perMessageDeflateExtension,
  type ExtensionOffer,
  type PerMessageDeflateOptions,
  type PerMessageDeflateParams,
} from "../../src/handshake/index.js";
import { attempt, WsPerMessageDeflate, wsExtension, type WsNegotiated, type WsParams } from "./helpers.js";

const pmd = "permessage-deflate";
const only = (header: string): ExtensionOffer => parseExtensions(header)[0]!;

describe("offerPerMessageDeflate", () => {
  it.each<[PerMessageDeflateOptions | undefined, string]>([
    [undefined, `${pmd}; client_max_window_bits`],
    [{ clientMaxWindowBits: true }, `${pmd}; client_max_window_bits`],
    [{ clientMaxWindowBits: false }, pmd],
    [{ clientMaxWindowBits: 10 }, `${pmd}; client_max_window_bits=10`],
    [{ serverMaxWindowBits: 9 }, `${pmd}; server_max_window_bits=9; client_max_window_bits`],
    [{ serverMaxWindowBits: false }, `${pmd}; client_max_window_bits`],
    [
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 8, clientMaxWindowBits: 15 },
      `${pmd}; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8; client_max_window_bits=15`,
    ],
  ])("offers %j as %j", (options, header) => {
    expect(offerPerMessageDeflate(options)).toBe(header);
  });

  it.each<PerMessageDeflateOptions>([
    { serverMaxWindowBits: true },
    { serverMaxWindowBits: 7 },
    { clientMaxWindowBits: 16 },
    { clientMaxWindowBits: 9.5 },
    { clientMaxWindowBits: Number.NaN },
  ])("refuses %j", (options) => {
    expect(() => offerPerMessageDeflate(options)).toThrow(expect.objectContaining({ code: "WS_ERR_INVALID_OPTION" }));
  });
});

describe("acceptPerMessageDeflate", () => {
  it.each<[string, string, PerMessageDeflateOptions, PerMessageDeflateParams | null]>([
    ["a bare offer", pmd, {}, { serverNoContextTakeover: false, clientNoContextTakeover: false }],
    ["no permessage-deflate offer", "x-foo; a=1", {}, null],
    ["client_max_window_bits without value: dropped from the answer", `${pmd}; client_max_window_bits`, {}, { serverNoContextTakeover: false, clientNoContextTakeover: false }],
    ["client_max_window_bits with value: echoed", `${pmd}; client_max_window_bits=10`, {}, { serverNoContextTakeover: false, clientNoContextTakeover: false, clientMaxWindowBits: 10 }],
    ["the server limiting the client's window", `${pmd}; client_max_window_bits`, { clientMaxWindowBits: 9 }, { serverNoContextTakeover: false, clientNoContextTakeover: false, clientMaxWindowBits: 9 }],
    ["a client that can't limit its window, when the server needs it", pmd, { clientMaxWindowBits: 9 }, null],
    ["a client whose own limit is below the server's", `${pmd}; client_max_window_bits=8`, { clientMaxWindowBits: 9 }, null],
    ["server_max_window_bits: kept", `${pmd}; server_max_window_bits=10`, {}, { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 10 }],
    ["server_max_window_bits below the server's window", `${pmd}; server_max_window_bits=10`, { serverMaxWindowBits: 12 }, null],
    ["server_max_window_bits above the server's window", `${pmd}; server_max_window_bits=12`, { serverMaxWindowBits: 10 }, { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 10 }],
    ["server_max_window_bits refused", `${pmd}; server_max_window_bits=12`, { serverMaxWindowBits: false }, null],
    ["server_no_context_takeover: echoed", `${pmd}; server_no_context_takeover`, {}, { serverNoContextTakeover: true, clientNoContextTakeover: false }],
    ["server_no_context_takeover refused", `${pmd}; server_no_context_takeover`, { serverNoContextTakeover: false }, null],
    ["client_no_context_takeover: echoed", `${pmd}; client_no_context_takeover`, {}, { serverNoContextTakeover: false, clientNoContextTakeover: true }],
    ["the server's own no-context settings", pmd, { serverNoContextTakeover: true, clientNoContextTakeover: true }, { serverNoContextTakeover: true, clientNoContextTakeover: true }],
    ["the first acceptable offer", `${pmd}; server_max_window_bits=8, ${pmd}`, { serverMaxWindowBits: 10 }, { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 10 }],
    // RFC 7692 §5: invalid offers are declined, not fatal (ws answers these with 400).
    ["an unknown parameter, declined", `${pmd}; foo`, {}, null],
    ["a duplicate parameter, declined", `${pmd}; server_no_context_takeover; server_no_context_takeover`, {}, null],
    ["window bits out of range, declined", `${pmd}; server_max_window_bits=16`, {}, null],
    ["window bits with a leading zero, declined", `${pmd}; client_max_window_bits=010`, {}, null],
    ["server_max_window_bits without value, declined", `${pmd}; server_max_window_bits`, {}, null],
    ["a value on a flag, declined", `${pmd}; client_no_context_takeover=1`, {}, null],
    ["a later valid offer after an invalid one", `${pmd}; foo, x-bar, ${pmd}; client_max_window_bits=11`, {}, { serverNoContextTakeover: false, clientNoContextTakeover: false, clientMaxWindowBits: 11 }],
    ["a quoted value", `${pmd}; client_max_window_bits="12"`, {}, { serverNoContextTakeover: false, clientNoContextTakeover: false, clientMaxWindowBits: 12 }],
  ])("%s", (_name, header, options, expected) => {
    expect(acceptPerMessageDeflate(parseExtensions(header), options)).toEqual(expected);
  });

  it("formats the answer as one element", () => {
    const params = acceptPerMessageDeflate(parseExtensions(`${pmd}; client_max_window_bits; server_no_context_takeover`), { clientMaxWindowBits: 12, serverMaxWindowBits: 14 });
    expect(formatExtensions([perMessageDeflateExtension(params!)])).toBe(`${pmd}; server_no_context_takeover; server_max_window_bits=14; client_max_window_bits=12`);
  });

  it("refuses invalid server options", () => {
    expect(() => acceptPerMessageDeflate([], { serverMaxWindowBits: 20 })).toThrow(expect.objectContaining({ code: "WS_ERR_INVALID_OPTION" }));
  });
});

describe("checkPerMessageDeflateResponse", () => {
  const offers = (header: string): ExtensionOffer[] => parseExtensions(header);

  it.each<[string, string, string, PerMessageDeflateParams]>([
    ["a bare answer", pmd, pmd, { serverNoContextTakeover: false, clientNoContextTakeover: false }],
    ["client_max_window_bits offered without value", `${pmd}; client_max_window_bits`, `${pmd}; client_max_window_bits=9`, { serverNoContextTakeover: false, clientNoContextTakeover: false, clientMaxWindowBits: 9 }],
    ["the client's own limit, when the answer leaves it out", `${pmd}; client_max_window_bits=10`, pmd, { serverNoContextTakeover: false, clientNoContextTakeover: false, clientMaxWindowBits: 10 }],
    ["a smaller client window than offered", `${pmd}; client_max_window_bits=10`, `${pmd}; client_max_window_bits=8`, { serverNoContextTakeover: false, clientNoContextTakeover: false, clientMaxWindowBits: 8 }],
    ["server_no_context_takeover not asked for (RFC 7692 §7.1.1.1 allows it)", pmd, `${pmd}; server_no_context_takeover`, { serverNoContextTakeover: true, clientNoContextTakeover: false }],
    ["client_no_context_takeover demanded", pmd, `${pmd}; client_no_context_takeover`, { serverNoContextTakeover: false, clientNoContextTakeover: true }],
    ["the client's own client_no_context_takeover, when not echoed (RFC 7692 §7.1.1.2)", `${pmd}; client_no_context_takeover`, pmd, { serverNoContextTakeover: false, clientNoContextTakeover: true }],
    ["server_max_window_bits not asked for", pmd, `${pmd}; server_max_window_bits=12`, { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 12 }],
    ["server_max_window_bits as asked", `${pmd}; server_max_window_bits=10`, `${pmd}; server_max_window_bits=9`, { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 9 }],
    ["the second of two offers", `${pmd}; server_max_window_bits=10, ${pmd}; client_max_window_bits`, `${pmd}; client_max_window_bits=15`, { serverNoContextTakeover: false, clientNoContextTakeover: false, clientMaxWindowBits: 15 }],
  ])("accepts %s", (_name, offer, response, expected) => {
    expect(checkPerMessageDeflateResponse(only(response), offers(offer))).toEqual(expected);
  });

  it.each([
    ["client_max_window_bits not offered", pmd, `${pmd}; client_max_window_bits=10`, /client_max_window_bits was not offered/],
    ["a client window above the offered one", `${pmd}; client_max_window_bits=10`, `${pmd}; client_max_window_bits=11`, /exceeds the offered 10/],
    ["client_max_window_bits without value", `${pmd}; client_max_window_bits`, `${pmd}; client_max_window_bits`, /needs a value from 8 to 15, got none/],
    ["server_max_window_bits asked for and ignored", `${pmd}; server_max_window_bits=10`, pmd, /server_max_window_bits=10 was asked for and the response allows 15/],
    ["server_max_window_bits above the asked one", `${pmd}; server_max_window_bits=10`, `${pmd}; server_max_window_bits=11`, /response allows 11/],
    ["server_no_context_takeover asked for and left out", `${pmd}; server_no_context_takeover`, pmd, /server_no_context_takeover was asked for/],
    ["an unknown parameter", pmd, `${pmd}; foo`, /unknown parameter "foo"/],
    ["a duplicate parameter", pmd, `${pmd}; server_no_context_takeover; server_no_context_takeover`, /appears more than once/],
    ["window bits out of range", pmd, `${pmd}; server_max_window_bits=7`, /from 8 to 15, got "7"/],
    ["window bits not in decimal", pmd, `${pmd}; server_max_window_bits=0xA`, /got "0xA"/],
    ["a value on a flag", pmd, `${pmd}; server_no_context_takeover=true`, /takes no value/],
    ["no permessage-deflate offer at all", "x-foo", pmd, /it was not offered/],
    ["another extension", pmd, "x-foo", /is not permessage-deflate/],
  ])("rejects %s", (_name, offer, response, message) => {
    expect(() => checkPerMessageDeflateResponse(only(response), offers(offer))).toThrow(
      expect.objectContaining({ code: "WS_ERR_UNEXPECTED_EXTENSION", message: expect.stringMatching(message) }),
    );
  });
});

// Differential against ws/lib/permessage-deflate.js.

/** `ws`'s negotiated params in our shape. */
function fromWs(params: WsNegotiated): PerMessageDeflateParams {
  const out: { -readonly [K in keyof PerMessageDeflateParams]: PerMessageDeflateParams[K] } = {
    serverNoContextTakeover: params.server_no_context_takeover === true,
    clientNoContextTakeover: params.client_no_context_takeover === true,
  };
  if (typeof params.server_max_window_bits === "number") out.serverMaxWindowBits = params.server_max_window_bits;
  if (typeof params.client_max_window_bits === "number") out.clientMaxWindowBits = params.client_max_window_bits;
  return out;
}

function wsOffers(header: string): WsParams[] {
  return wsExtension.parse(header)[pmd] ?? [];
}

function wsNegotiate(header: string, options: PerMessageDeflateOptions, isServer: boolean): PerMessageDeflateParams | null {
  const result = attempt(() => new WsPerMessageDeflate({ ...options, isServer }).accept(wsOffers(header)));
  return result.ok ? fromWs(result.value) : null;
}

function wsValid(header: string, isServer: boolean): boolean {
  return attempt(() => new WsPerMessageDeflate({ isServer }).normalizeParams(wsOffers(header))).ok;
}

const flag = fc.constantFrom(undefined, true, false);
const bits = fc.constantFrom(undefined, true, false, 8, 9, 10, 12, 15);
const options: fc.Arbitrary<PerMessageDeflateOptions> = fc
  .record({ serverNoContextTakeover: flag, clientNoContextTakeover: flag, serverMaxWindowBits: bits, clientMaxWindowBits: bits })
  .map((o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)));

// Values include the non-canonical numbers ws reads with `+value` and edgews refuses.
const NON_CANONICAL = ["010", "+10", "1e1", "0xA"];
const windowValue = fc.constantFrom("", "=8", "=9", "=10", "=15", "=7", "=16", "=x", ...NON_CANONICAL.map((v) => `=${v}`));
const param = fc.oneof(
  fc.constantFrom("server_no_context_takeover", "client_no_context_takeover", "server_no_context_takeover=1", "foo"),
  windowValue.map((v) => `server_max_window_bits${v}`),
  windowValue.map((v) => `client_max_window_bits${v}`),
);
const element = fc.array(param, { maxLength: 4 }).map((params) => [pmd, ...params].join("; "));
const nonCanonical = (header: string): boolean => NON_CANONICAL.some((v) => header.includes(`=${v}`));

describe("negotiation against ws's PerMessageDeflate", () => {
  it("server: validates each offer as ws does, except for non-canonical numbers", () => {
    fc.assert(
      fc.property(element, (header) => {
        const ours = acceptPerMessageDeflate(parseExtensions(header), { serverMaxWindowBits: true, clientMaxWindowBits: true }) !== null;
        if (nonCanonical(header)) expect(ours).toBe(false);
        else expect({ header, valid: ours }).toEqual({ header, valid: wsValid(header, true) });
      }),
      { numRuns: 1500 },
    );
  });

  it("server: picks the same params as ws.accept", () => {
    fc.assert(
      fc.property(fc.array(element, { minLength: 1, maxLength: 3 }), options, (elements, opts) => {
        const header = elements.join(", ");
        const ours = acceptPerMessageDeflate(parseExtensions(header), opts);
        // Ours is ws applied to the first offer that both are willing to accept on its own...
        const valid = elements.filter((e) => !nonCanonical(e) && wsValid(e, true));
        const firstAcceptable = valid.map((e) => wsNegotiate(e, opts, true)).find((p) => p !== null) ?? null;
        expect({ header, opts, ours }).toEqual({ header, opts, ours: firstAcceptable });
        // ...which is ws on the whole list whenever every offer is valid. (With an invalid offer in
        // the list, ws fails the handshake with 400 where ours declines just that offer.)
        if (valid.length === elements.length) expect(ours).toEqual(wsNegotiate(header, opts, true));
      }),
      { numRuns: 3000 },
    );
  });

  it("client: offers what ws offers", () => {
    fc.assert(
      fc.property(options, (opts) => {
        const wsOffer = wsExtension.format({ [pmd]: new WsPerMessageDeflate({ ...opts, isServer: false }).offer() });
        // ws sends a bare server_max_window_bits for `true`, which no server can accept; ours refuses.
        if (opts.serverMaxWindowBits === true) expect(() => offerPerMessageDeflate(opts)).toThrow();
        else expect(offerPerMessageDeflate(opts)).toBe(wsOffer);
      }),
      { numRuns: 500 },
    );
  });

  it("client: accepts the same responses as ws.accept, except where edgews is deliberately stricter", () => {
    const clientOptions = options.filter((o) => o.serverMaxWindowBits !== true);
    fc.assert(
      fc.property(clientOptions, element, (opts, response) => {
        const offer = only(offerPerMessageDeflate(opts));
        const ours = attempt(() => checkPerMessageDeflateResponse(only(response), [offer]));
        const ws = wsNegotiate(response, opts, false);
        const answered = only(response).params;
        const has = (name: string): boolean => answered.some((p) => p.name === name);
        const value = (name: string): number => Number(answered.find((p) => p.name === name)?.value ?? 15);
        // ws only checks client_max_window_bits; ours also holds the server to the limits asked of it.
        const stricter =
          nonCanonical(response) ||
          (typeof opts.serverMaxWindowBits === "number" && value("server_max_window_bits") > opts.serverMaxWindowBits) ||
          (opts.serverNoContextTakeover === true && !has("server_no_context_takeover"));
        // ws refuses client_no_context_takeover when the option says `false`; the offer can't say
        // "refuse", and RFC 7692 §7.1.1.2 lets a server ask it of any client.
        const laxer = opts.clientNoContextTakeover === false && has("client_no_context_takeover");
        // An offered client_no_context_takeover is kept even when the server does not echo it.
        const expected = ws === null ? null : { ...ws, clientNoContextTakeover: ws.clientNoContextTakeover || opts.clientNoContextTakeover === true };
        if (stricter) expect(ours.ok).toBe(false);
        else if (laxer) expect(ws).toBeNull();
        else expect({ opts, response, ours: ours.ok ? ours.value : null }).toEqual({ opts, response, ours: expected });
      }),
      { numRuns: 3000 },
    );
  });
});
