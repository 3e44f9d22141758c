// Incremental UTF-8 validation written from RFC 3629 §4 (the table of well-formed byte sequences),
// independent of the core's validator: the fuzzers' reference receiver uses it to decide where a
// text message becomes invalid.

/** Feeds bytes one piece at a time; `invalid` turns true at the first byte no continuation could fix. */
export class Utf8Checker {
  invalid = false;
  /** Continuation bytes still owed by the current sequence. */
  #owed = 0;
  /** The range the next continuation byte must fall in (narrower after E0, ED, F0, F4). */
  #lower = 0x80;
  #upper = 0xbf;

  /** True while the bytes so far are valid or a valid prefix. */
  push(bytes: Uint8Array): boolean {
    for (let i = 0; i < bytes.length && !this.invalid; i++) this.#byte(bytes[i]!);
    return !this.invalid;
  }

  /** The bytes so far are complete, valid UTF-8 (no sequence left unfinished). */
  get complete(): boolean {
    return !this.invalid && this.#owed === 0;
  }

  #byte(b: number): void {
    if (this.#owed > 0) {
      if (b < this.#lower || b > this.#upper) this.invalid = true;
      this.#lower = 0x80;
      this.#upper = 0xbf;
      this.#owed--;
      return;
    }
    if (b <= 0x7f) return;
    if (b >= 0xc2 && b <= 0xdf) this.#owed = 1;
    else if (b >= 0xe0 && b <= 0xef) this.#lead(2, b === 0xe0 ? 0xa0 : 0x80, b === 0xed ? 0x9f : 0xbf);
    else if (b >= 0xf0 && b <= 0xf4) this.#lead(3, b === 0xf0 ? 0x90 : 0x80, b === 0xf4 ? 0x8f : 0xbf);
    else this.invalid = true; // 80..C1 (continuation or overlong lead), F5..FF
  }

  #lead(owed: number, lower: number, upper: number): void {
    this.#owed = owed;
    this.#lower = lower;
    this.#upper = upper;
  }
}

export function isValidUtf8(bytes: Uint8Array): boolean {
  const checker = new Utf8Checker();
  checker.push(bytes);
  return checker.complete;
}
