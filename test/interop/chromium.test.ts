// Chromium's own WebSocket (headless, Debian's chromium through playwright-core) as a client of
// our server, with permessage-deflate off and on. (Chromium can't be a WebSocket server; the
// other direction is covered by the ws and Python suites.)
//
// The page is our routed server's blank page at http://127.0.0.1:PORT/ (a secure context, so
// crypto.subtle works). Payloads are made, sent, compared and hashed in the page; our server
// echoes and records the SHA-256 of what it received, which is checked against the page's.
//
// Functions given to page.evaluate run in the page: they may use only their argument, browser
// globals and `window.interop` (installed by installInterop), never anything imported here.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ASTRAL_TEXT, ECHO_SIZES, MAX_MESSAGE, withDeadline, type CloseInfo } from "../support/interop.js";
import { launchChromium, type ChromiumSession } from "../support/chromium.js";
import { startRoutedServer, type RoutedServer } from "../support/routed-server.js";

type Kind = "text" | "binary";

interface Opened {
  id: number;
  protocol: string;
  extensions: string;
}
type OpenResult = Opened | { failed: CloseInfo };

interface EchoResult {
  sentSha256: string;
  sentBytes: number;
  /** "text", "binary", or "close CODE REASON" when the connection closed instead. */
  gotType: string;
  gotBytes: number;
  same: boolean;
}

/** What installInterop puts on `window.interop`. */
interface PageApi {
  open(url: string, protocols: string[]): Promise<OpenResult>;
  /** Makes a payload of `size` bytes (text: `pattern` repeated, padded with "x"), sends it and waits for the next message. */
  echo(id: number, kind: Kind, size: number, pattern: string): Promise<EchoResult>;
  /** Sends without waiting for a reply; resolves with the payload's SHA-256. */
  send(id: number, kind: Kind, size: number, pattern: string): Promise<string>;
  nextText(id: number): Promise<string>;
  close(id: number, code?: number, reason?: string): void;
  closed(id: number): Promise<CloseInfo>;
}
type PageWindow = Window & { interop: PageApi };

/** In the page: keeps every socket's messages and close event, and offers PageApi on window.interop. */
function installInterop(): void {
  interface Entry {
    ws: WebSocket;
    messages: Array<string | ArrayBuffer>;
    wake: Array<() => void>;
    closed: Promise<CloseInfo>;
    closeInfo?: CloseInfo;
  }
  const entries: Entry[] = [];
  const hex = async (bytes: Uint8Array<ArrayBuffer>): Promise<string> =>
    Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
  const payload = (kind: Kind, size: number, pattern: string): { data: string | Uint8Array; bytes: Uint8Array<ArrayBuffer> } => {
    const bytes = new Uint8Array(size);
    if (kind === "binary") {
      for (let at = 0; at < size; at += 65536) crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65536)));
      return { data: bytes, bytes };
    }
    const unit = new TextEncoder().encode(`${pattern} | `);
    const whole = size - (size % unit.length);
    for (let at = 0; at < whole; at += unit.length) bytes.set(unit, at);
    let cut = size - whole;
    while (cut > 0 && cut < unit.length && (unit[cut]! & 0xc0) === 0x80) cut--;
    bytes.set(unit.subarray(0, cut), whole);
    bytes.fill(0x78, whole + cut);
    return { data: new TextDecoder().decode(bytes), bytes };
  };
  const next = async (entry: Entry): Promise<string | ArrayBuffer | CloseInfo> => {
    for (;;) {
      if (entry.messages.length > 0) return entry.messages.shift()!;
      if (entry.closeInfo) return entry.closeInfo;
      await new Promise<void>((resolve) => entry.wake.push(resolve));
    }
  };
  const api: PageApi = {
    open(url, protocols) {
      const ws = new WebSocket(url, protocols);
      ws.binaryType = "arraybuffer";
      const entry: Entry = { ws, messages: [], wake: [], closed: undefined as unknown as Promise<CloseInfo> };
      const wakeAll = () => entry.wake.splice(0).forEach((wake) => wake());
      entry.closed = new Promise<CloseInfo>((resolve) =>
        ws.addEventListener("close", (e) => {
          entry.closeInfo = { code: e.code, reason: e.reason, wasClean: e.wasClean };
          resolve(entry.closeInfo);
          wakeAll();
        }),
      );
      ws.addEventListener("message", (e: MessageEvent<string | ArrayBuffer>) => {
        entry.messages.push(e.data);
        wakeAll();
      });
      const id = entries.push(entry) - 1;
      return new Promise<OpenResult>((resolve) => {
        ws.addEventListener("open", () => resolve({ id, protocol: ws.protocol, extensions: ws.extensions }));
        entry.closed.then((failed) => resolve({ failed }));
      });
    },
    async send(id, kind, size, pattern) {
      const { data, bytes } = payload(kind, size, pattern);
      entries[id]!.ws.send(data);
      return hex(bytes);
    },
    async echo(id, kind, size, pattern) {
      const entry = entries[id]!;
      const { data, bytes } = payload(kind, size, pattern);
      const reply = next(entry);
      entry.ws.send(data);
      const sentSha256 = await hex(bytes);
      const got = await reply;
      if (typeof got === "object" && !(got instanceof ArrayBuffer)) {
        return { sentSha256, sentBytes: size, gotType: `close ${got.code} ${got.reason}`, gotBytes: 0, same: false };
      }
      const gotBytes = typeof got === "string" ? new TextEncoder().encode(got) : new Uint8Array(got);
      let same = gotBytes.length === bytes.length;
      for (let i = 0; same && i < bytes.length; i++) same = gotBytes[i] === bytes[i];
      return { sentSha256, sentBytes: size, gotType: typeof got === "string" ? "text" : "binary", gotBytes: gotBytes.length, same };
    },
    async nextText(id) {
      const got = await next(entries[id]!);
      return typeof got === "string" ? got : `not text: ${JSON.stringify(got instanceof ArrayBuffer ? got.byteLength : got)}`;
    },
    close(id, code, reason) {
      entries[id]!.ws.close(code, reason);
    },
    closed(id) {
      return entries[id]!.closed;
    },
  };
  (window as unknown as PageWindow).interop = api;
}

let browser: ChromiumSession | undefined;
let plain: RoutedServer;
let deflating: RoutedServer;
const pageErrors: string[] = [];

beforeAll(async () => {
  const handleProtocols = (offered: Set<string>) => (offered.has("chat.v2") ? "chat.v2" : false);
  plain = await startRoutedServer({ perMessageDeflate: false, handleProtocols });
  deflating = await startRoutedServer({ perMessageDeflate: true, compressThreshold: 0, handleProtocols });
  const t0 = performance.now();
  browser = await launchChromium(); // installs Debian's chromium first when it is missing
  console.log(`chromium ${browser.version} launched in ${Math.round(performance.now() - t0)} ms`);
  browser.page.on("pageerror", (e) => pageErrors.push(`pageerror: ${e.message}`));
  await browser.page.goto(`${plain.origin}/`);
  await browser.page.evaluate(installInterop);
}, 600_000); // a first run installs chromium with apt (about 120 MB)

afterAll(async () => {
  await browser?.close();
  await plain?.close();
  await deflating?.close();
});

function page() {
  if (!browser) throw new Error("chromium did not start");
  return browser.page;
}

let unique = 0;
const pathFor = (route: string) => `${route}?t=${++unique}`;

function openInPage(url: string, protocols: string[] = []): Promise<OpenResult> {
  return withDeadline(page().evaluate(([url, protocols]) => (window as unknown as PageWindow).interop.open(url, protocols), [url, protocols] as const), 10_000, `Chromium to open ${url}`);
}

async function opened(url: string, protocols: string[] = []): Promise<Opened> {
  const result = await openInPage(url, protocols);
  if ("failed" in result) throw new Error(`Chromium could not open ${url}: close ${JSON.stringify(result.failed)}`);
  return result;
}

const pageEcho = (id: number, kind: Kind, size: number) =>
  withDeadline(page().evaluate(([id, kind, size, pattern]) => (window as unknown as PageWindow).interop.echo(id, kind, size, pattern), [id, kind, size, ASTRAL_TEXT] as const), 30_000, `a ${size}-byte ${kind} echo in Chromium`);
const pageClosed = (id: number) => withDeadline(page().evaluate((id) => (window as unknown as PageWindow).interop.closed(id), id), 10_000, "the close event in Chromium");

it("the page has a secure context and no errors", async () => {
  expect(await page().evaluate(() => window.isSecureContext)).toBe(true);
  expect(pageErrors).toEqual([]);
});

describe.each([false, true])("permessage-deflate %s", (deflate) => {
  const server = () => (deflate ? deflating : plain);

  it(deflate ? "Chromium negotiates permessage-deflate with our server" : "no extension when our server doesn't offer one", async () => {
    const path = pathFor("/echo");
    const { extensions } = await opened(server().url + path);
    const side = await server().connection(path);
    if (deflate) {
      expect(extensions).toMatch(/^permessage-deflate\b/);
      expect(side.ws.extensions).toMatch(/^permessage-deflate\b/);
    } else {
      expect(extensions).toBe("");
      expect(side.ws.extensions).toBe("");
    }
  });

  /** Echo in the page, and check that our server got exactly what the page sent. */
  async function expectEcho(kind: Kind, sizes: readonly number[]): Promise<void> {
    const path = pathFor("/echo");
    const { id } = await opened(server().url + path);
    const side = await server().connection(path);
    for (const size of sizes) {
      const result = await pageEcho(id, kind, size);
      expect(result, `${size}-byte ${kind} echo`).toMatchObject({ gotType: kind, gotBytes: size, same: true });
      expect(side.messages.at(-1)).toEqual({ size, isBinary: kind === "binary", sha256: result.sentSha256 });
    }
    expect(side.messages).toHaveLength(sizes.length);
  }

  it.each(["text", "binary"] as const)("echoes %s of 0 B .. 1 MiB", async (kind) => {
    await expectEcho(kind, ECHO_SIZES);
  });

  it("echoes 16 MiB of text (our default maxMessage, exactly)", async () => {
    await expectEcho("text", [MAX_MESSAGE]);
  }, 40_000);

  // Deflated, 16 MiB of random bytes exceed 16 MiB on the wire (see ws.test.ts).
  it(
    "echoes 16 MiB of random binary",
    async () => {
      await expectEcho("binary", [MAX_MESSAGE]);
    },
    40_000,
  );

  it("our server refuses 16 MiB + 1 byte from Chromium with 1009", async () => {
    const path = pathFor("/echo");
    const { id } = await opened(server().url + path);
    const side = await server().connection(path);
    await page().evaluate(([id, size, pattern]) => (window as unknown as PageWindow).interop.send(id, "text", size, pattern), [id, MAX_MESSAGE + 1, ASTRAL_TEXT] as const);
    expect((await pageClosed(id)).code).toBe(1009);
    expect(await withDeadline(side.closed, 10_000, "our side's close")).toMatchObject({ code: 1009, wasClean: false });
    expect(side.messages).toEqual([]);
  }, 40_000);

  it("astral UTF-8 text arrives unchanged both ways", async () => {
    const path = pathFor("/echo");
    const { id } = await opened(server().url + path);
    const side = await server().connection(path);
    const reply = page().evaluate((id) => (window as unknown as PageWindow).interop.nextText(id), id);
    side.ws.send(ASTRAL_TEXT);
    expect(await withDeadline(reply, 10_000, "the text in Chromium")).toBe(ASTRAL_TEXT);
    const echoed = await pageEcho(id, "text", Buffer.byteLength(ASTRAL_TEXT));
    expect(echoed).toMatchObject({ gotType: "text", same: true });
  });

  it("our ping resolves with Chromium's pong", async () => {
    const path = pathFor("/ping/from-edgews");
    const { id } = await opened(server().url + path);
    const side = await server().connection(path);
    expect(await withDeadline(side.rtt!, 5000, "Chromium's pong")).toBeGreaterThanOrEqual(0);
    expect(await page().evaluate((id) => (window as unknown as PageWindow).interop.nextText(id), id)).toBe("pong from-edgews");
  });

  it("subprotocol: our server picks one that Chromium offered", async () => {
    const path = pathFor("/echo");
    const { protocol } = await opened(server().url + path, ["chat.v1", "chat.v2"]);
    expect(protocol).toBe("chat.v2");
    expect((await server().connection(path)).ws.protocol).toBe("chat.v2");
  });

  const pageCloses: Array<[string, number | undefined, string, number]> = [
    ["4000 'bye'", 4000, "bye", 4000],
    ["1000", 1000, "", 1000],
    ["no code (1005)", undefined, "", 1005],
  ];
  it.each(pageCloses)("the page closes with %s: both sides agree, cleanly", async (_name, code, reason, expected) => {
    const path = pathFor("/echo");
    const { id } = await opened(server().url + path);
    const side = await server().connection(path);
    await page().evaluate(([id, code, reason]) => (window as unknown as PageWindow).interop.close(id, code ?? undefined, code === null ? undefined : reason), [id, code ?? null, reason] as const);
    const want = { code: expected, reason, wasClean: true };
    expect(await pageClosed(id)).toEqual(want);
    expect(await withDeadline(side.closed, 10_000, "our side's close")).toEqual(want);
  });

  it.each([
    [1001, "going away"],
    [4001, "bye ✓"],
  ])("our server closes with %i: both sides agree, cleanly", async (code, reason) => {
    const path = pathFor(`/close/${code}/${encodeURIComponent(reason)}`);
    const { id } = await opened(server().url + path);
    const side = await server().connection(path);
    const want = { code, reason, wasClean: true };
    expect(await pageClosed(id)).toEqual(want);
    expect(await withDeadline(side.closed, 10_000, "our side's close")).toEqual(want);
  });
});

describe("origin check with a real browser's Origin header", () => {
  it("admits the page's origin and refuses Chromium (403) when it isn't allowed", async () => {
    const allowing = await startRoutedServer({ origins: [plain.origin] });
    const refusing = await startRoutedServer({ origins: ["https://dashboard.example"] });
    const refused: number[] = [];
    refusing.wss.on("refused", (_req, status) => refused.push(status));
    try {
      expect(await openInPage(`${allowing.url}/echo`)).toMatchObject({ protocol: "" });
      expect(await openInPage(`${refusing.url}/echo`)).toEqual({ failed: { code: 1006, reason: "", wasClean: false } });
      expect(refused).toEqual([403]);
    } finally {
      await allowing.close();
      await refusing.close();
    }
  });
});
