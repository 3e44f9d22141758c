// Deterministic inputs: the same bytes on every run and in every child.

/** mulberry32: a small seeded PRNG giving uint32s. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

export function randomBytes(n: number, seed: number): Buffer {
  const next = prng(seed);
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = next() & 0xff;
  return out;
}

/** Printable ASCII. */
export function asciiText(n: number, seed: number): Buffer {
  const next = prng(seed);
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = 0x20 + (next() % 95);
  return out;
}

// Words of several scripts: Latin with accents (2-byte characters), Cyrillic (2), CJK and
// Hangul (3), emoji (4, some in sequences). Plain ASCII words are mixed in after the first word.
const NON_ASCII_WORDS = [
  "élan", "über", "ñandú", "Łódź", "Ørsted", "çà", "Größe", "façade",
  "привет", "мир", "данные", "сообщение", "Москва",
  "你好", "世界", "数据", "日本語", "한국어",
  "😀", "🚀", "👍🏽", "🇫🇷", "🧪",
];
const ASCII_WORDS = ["hello", "sensor", "data", "42", "temp", "ok"];

/**
 * Valid UTF-8 of mixed scripts, exactly `n` bytes: words cut at a character boundary, padded
 * with spaces. It starts with a non-ASCII character, so even 4 bytes are not all ASCII.
 */
export function mixedText(n: number, seed: number): Buffer {
  const next = prng(seed);
  const words: string[] = [];
  let bytes = 0;
  while (bytes < n) {
    const pool = words.length === 0 || next() % 4 !== 0 ? NON_ASCII_WORDS : ASCII_WORDS;
    const word = pool[next() % pool.length]!;
    words.push(word);
    bytes += Buffer.byteLength(word) + 1;
  }
  const encoded = Buffer.from(words.join(" "));
  let cut = Math.min(n, encoded.length);
  while (cut > 0 && cut < encoded.length && (encoded[cut]! & 0xc0) === 0x80) cut--;
  const out = Buffer.alloc(n, 0x20);
  encoded.copy(out, 0, 0, cut);
  return out;
}

/** A copy of valid text with one 0xFF (never valid in UTF-8) in place of a space near its end. */
export function withInvalidByteNearEnd(text: Buffer): Buffer {
  const out = Buffer.from(text);
  const at = out.lastIndexOf(0x20, out.length - 8);
  if (at < 0) throw new Error("no space to replace near the end");
  out[at] = 0xff;
  return out;
}

/** `count` FIN frames of `payload`, masked as a client sends them, each with its own key. */
export function maskedFrames(payload: Uint8Array, opcode: number, count: number, seed: number): Buffer {
  const len = payload.length;
  const header = 2 + (len < 126 ? 0 : len < 65536 ? 2 : 8) + 4;
  const out = Buffer.allocUnsafe((header + len) * count);
  const next = prng(seed);
  let at = 0;
  for (let f = 0; f < count; f++) {
    out[at++] = 0x80 | opcode;
    if (len < 126) out[at++] = 0x80 | len;
    else if (len < 65536) {
      out[at++] = 0x80 | 126;
      out.writeUInt16BE(len, at);
      at += 2;
    } else {
      out[at++] = 0x80 | 127;
      out.writeBigUInt64BE(BigInt(len), at);
      at += 8;
    }
    const key = out.subarray(at, at + 4);
    out.writeUInt32LE(next(), at);
    at += 4;
    for (let i = 0; i < len; i++) out[at + i] = payload[i]! ^ key[i & 3]!;
    at += len;
  }
  return out;
}

/** Views of `buf` in pieces of `size` bytes (the last may be shorter), as TCP would deliver it. */
export function chunks(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < buf.length; off += size) out.push(buf.subarray(off, off + size));
  return out;
}

/** Little-endian u32 of a 4-byte masking key: its octets in memory order, as the core takes it. */
export const keyWord = (key: Uint8Array) => (key[0]! | (key[1]! << 8) | (key[2]! << 16) | (key[3]! << 24)) >>> 0;
