// HTTP/1.1 header field syntax (RFC 7230 §3.2) shared by the client and server halves.
import { HandshakeError, quote, type HandshakeErrorCode } from "./errors.js";

/** A received header value as Node's `IncomingMessage.headers` gives it; names are lower-cased. */
export type HeaderValue = string | readonly string[] | undefined;
export type IncomingHeaders = Readonly<Record<string, HeaderValue>>;

/** Headers a caller adds to a message; an array value is sent as repeated fields. */
export type UserHeaders = Readonly<Record<string, string | readonly string[]>>;

/** One header line, in the order it is sent. */
export type HeaderField = readonly [name: string, value: string];

// RFC 7230 §3.2.6: token = 1*tchar; tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" /
// "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 7230 §3.2: field-value = *( field-content ), made of HTAB, SP, VCHAR and obs-text. CR and LF
// are what matter: one in a value would let a caller's string inject header lines.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export function isToken(value: string): boolean {
  return TOKEN.test(value);
}

function isTokenChar(char: string): boolean {
  return TOKEN.test(char);
}

const isOws = (char: string | undefined): boolean => char === " " || char === "\t";

/**
 * RFC 7230 §3.2.4: "The field value does not include any leading or trailing whitespace". Node's
 * parser already strips it; a value from elsewhere might not have.
 */
export function trimOws(value: string): string {
  // The usual case, every handshake: nothing to trim, nothing to allocate.
  if (!isOws(value[0]) && !isOws(value[value.length - 1])) return value;
  const [start, end] = owsBounds(value);
  return value.slice(start, end);
}

function owsBounds(value: string): [start: number, end: number] {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value[start])) start++;
  while (end > start && isOws(value[end - 1])) end--;
  return [start, end];
}

/** Every field value received for `name`, untrimmed. */
export function fieldValues(headers: IncomingHeaders, name: string): readonly string[] {
  const value = headers[name];
  if (value === undefined) return [];
  return typeof value === "string" ? [value] : value;
}

/**
 * The value of a header that may appear only once, trimmed; `undefined` when absent and `null`
 * when it appears more than once (as separate fields, which is how an array arrives).
 */
export function singleValue(headers: IncomingHeaders, name: string): string | undefined | null {
  const value = headers[name];
  if (typeof value === "string") return trimOws(value);
  if (value === undefined || value.length === 0) return undefined;
  return value.length > 1 ? null : trimOws(value[0]!);
}

/**
 * The value of a list-valued header. RFC 7230 §3.2.2: a recipient "MAY combine multiple header
 * fields with the same field name into one "field-name: field-value" pair ... by appending each
 * subsequent field value to the combined field value in order, separated by a comma".
 */
export function listValue(headers: IncomingHeaders, name: string): string | undefined {
  const values = fieldValues(headers, name);
  return values.length === 0 ? undefined : values.map(trimOws).join(", ");
}

/**
 * The lower-cased elements of a `#token` list such as `Connection: keep-alive, Upgrade`. RFC 7230
 * §7: "a recipient MUST accept lists that satisfy the following syntax" and ignore empty elements.
 */
export function lowerCaseTokens(value: string): string[] {
  return value
    .split(",")
    .map((element) => trimOws(element).toLowerCase())
    .filter((element) => element !== "");
}

/**
 * Whether a `#token` list holds `token` (given lower-case), compared ASCII case-insensitively:
 * `lowerCaseTokens(value).includes(token)` without building the list, for every handshake.
 */
export function hasToken(value: string, token: string): boolean {
  for (let start = 0; start <= value.length; ) {
    let end = value.indexOf(",", start);
    if (end === -1) end = value.length;
    let from = start;
    let to = end;
    while (from < to && isOws(value[from])) from++;
    while (to > from && isOws(value[to - 1])) to--;
    if (to - from === token.length && value.slice(from, to).toLowerCase() === token) return true;
    start = end + 1;
  }
  return false;
}

/**
 * A cursor over a header value for the comma-list grammars of RFC 6455 §4.3 and §9.1. Leading and
 * trailing whitespace is skipped (it is not part of the value); every other deviation throws a
 * `HandshakeError` with `code`, naming what was expected and where.
 */
export class Scanner {
  private pos: number;
  private readonly end: number;

  constructor(
    private readonly text: string,
    private readonly header: string,
    private readonly code: HandshakeErrorCode,
  ) {
    [this.pos, this.end] = owsBounds(text);
  }

  peek(): string | undefined {
    return this.pos < this.end ? this.text[this.pos] : undefined;
  }

  /** Consumes `char` if it is next. */
  eat(char: string): boolean {
    if (this.peek() !== char) return false;
    this.pos++;
    return true;
  }

  ows(): void {
    while (isOws(this.peek())) this.pos++;
  }

  token(what: string): string {
    const start = this.pos;
    while (this.pos < this.end && isTokenChar(this.text[this.pos]!)) this.pos++;
    if (this.pos === start) this.fail(what);
    return this.text.slice(start, this.pos);
  }

  /**
   * A quoted-string whose content, after unescaping, is a token. RFC 6455 §9.1: "When using the
   * quoted-string syntax variant, the value after quoted-string unescaping MUST conform to the
   * 'token' ABNF."
   */
  quotedToken(): string {
    this.pos++; // the opening quote, which the caller has seen
    let value = "";
    for (;;) {
      const char = this.peek();
      if (char === '"' && value !== "") {
        this.pos++;
        return value;
      }
      if (char === "\\") {
        this.pos++;
        const escaped = this.peek();
        if (escaped === undefined || !isTokenChar(escaped)) this.fail("a token character after the backslash");
        value += escaped;
      } else if (char !== undefined && isTokenChar(char)) {
        value += char;
      } else {
        this.fail(value === "" ? "a token character" : "a token character or a closing quote");
      }
      this.pos++;
    }
  }

  /** After a list element: `false` at the end of the value, else consumes the "," and whitespace. */
  next(): boolean {
    if (this.pos === this.end) return false;
    if (!this.eat(",")) this.fail('"," or the end of the value');
    this.ows();
    return true;
  }

  private fail(what: string): never {
    const found = this.pos < this.end ? `${quote(this.text[this.pos]!)} at index ${this.pos}` : "the end of the value";
    throw new HandshakeError(this.code, `Invalid ${this.header} header ${quote(this.text)}: expected ${what}, found ${found}`);
  }
}

/**
 * A caller's headers as lines to send, after checking that they are well-formed and leave alone
 * the headers the handshake itself sets. `owned` maps those lower-cased names to the reason.
 */
export function userHeaderFields(headers: UserHeaders | undefined, owned: ReadonlyMap<string, string>): HeaderField[] {
  const fields: HeaderField[] = [];
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (!isToken(name)) throw new HandshakeError("WS_ERR_INVALID_HEADER", `Invalid header name ${quote(name)}: it must be an RFC 7230 token`);
    const reason = owned.get(name.toLowerCase());
    if (reason !== undefined) throw new HandshakeError("WS_ERR_INVALID_HEADER", `Header ${quote(name)} cannot be set: ${reason}`);
    for (const item of typeof value === "string" ? [value] : value) {
      fields.push([name, checkFieldValue(name, item)]);
    }
  }
  return fields;
}

export function checkFieldValue(name: string, value: string): string {
  if (!FIELD_VALUE.test(value)) {
    throw new HandshakeError("WS_ERR_INVALID_HEADER", `Invalid value for header ${quote(name)}: ${quote(value)} contains a control character or a character above U+00FF`);
  }
  return value;
}

export function hasField(fields: readonly HeaderField[], name: string): boolean {
  return fields.some(([field]) => field.toLowerCase() === name);
}

/** A start line and header lines as the text of an HTTP/1.1 message head, blank line included. */
export function serializeHead(startLine: string, fields: readonly HeaderField[]): string {
  let head = `${startLine}\r\n`;
  for (const [name, value] of fields) head += `${name}: ${value}\r\n`;
  return `${head}\r\n`;
}

/**
 * The bytes of a message head. Header values may carry obs-text (U+0080..U+00FF), one byte each
 * on the wire, which is how Node's `http` writes them too.
 */
export function headBytes(head: string): Buffer {
  return Buffer.from(head, "latin1");
}
