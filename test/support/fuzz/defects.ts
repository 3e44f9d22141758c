// Input classes that reveal defects found by these fuzzers (issue 11). Until a defect's fix is
// merged, the CI tests leave its inputs out (each test file lists which, and why), so that they
// pass for every property that holds; the soak bench (`npm run bench -- soak`) leaves nothing out.

export type KnownDefect =
  /** Server: a second Host or Upgrade header field still gets a 101 (issue 11 defect 8). */
  | "duplicate-headers"
  /** Server: a CONNECT request is dropped without an answer (Node's default with no 'connect' listener). */
  | "connect-method"
  /**
   * Server and client: a connection that closes while one of its messages is being inflated
   * leaves that inflation unsettled forever, holding one of the process's four zlib slots;
   * after four, permessage-deflate stalls for every connection in the process.
   */
  | "deflate-close-race"
  /**
   * Server and client: an uncompressed message on a connection with permessage-deflate may exceed maxPayload
   * and maxMessage by zlib's worst-case expansion (the allowance meant for compressed frames).
   */
  | "uncompressed-over-limit"
  /** Client: a refusal (non-101) whose body never ends leaves it CONNECTING forever (issue 11 defect 4). */
  | "endless-refusal-body"
  /**
   * Client: `close()` or `terminate()` while CONNECTING reports the close but leaves the HTTP
   * request and its socket open, until the handshake timeout, or for good once a response head
   * has arrived.
   */
  | "abandoned-handshake-leak";

export type Exclusions = ReadonlySet<KnownDefect>;

export const NOTHING_EXCLUDED: Exclusions = new Set();
