// What the bench is doing now, on one line at the foot of a terminal: "[3/40] mqtt/qos1-publish vs
// mqtt, 12 s". Lines printed meanwhile go above it. Where stderr is not a terminal (CI logs,
// files) there is no status line, only the lines.

const REDRAW_MS = 1000;

export class Progress {
  readonly #stream: NodeJS.WriteStream;
  readonly #live: boolean;
  #status: (() => string) | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(stream: NodeJS.WriteStream = process.stderr) {
    this.#stream = stream;
    this.#live = stream.isTTY === true;
  }

  /** Shows `status()` as the status line from now on, redrawn every second (a clock in it moves). */
  show(status: () => string): void {
    this.#status = status;
    if (!this.#live) return;
    this.#draw();
    this.#timer ??= setInterval(() => this.#draw(), REDRAW_MS).unref();
  }

  /** Prints `text` (one or more lines) above the status line. */
  log(text = ""): void {
    if (this.#live) this.#stream.write("\r\x1b[K");
    this.#stream.write(`${text}\n`);
    if (this.#live && this.#status) this.#draw();
  }

  /** Removes the status line for good. */
  done(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#status = undefined;
    if (this.#live) this.#stream.write("\r\x1b[K");
  }

  #draw(): void {
    if (!this.#status) return;
    const columns = this.#stream.columns || 80;
    this.#stream.write(`\r\x1b[K${this.#status().slice(0, columns - 1)}`);
  }
}
