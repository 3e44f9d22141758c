// node:https and node:tls, loaded on first use. Loading Node's TLS stack leaves ~0.7 MB of objects
// alive on the heap, enough on its own to make V8 double its young generation; a ws:// client (a
// gateway on its LAN, a bridge talking to a local broker) never needs it.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
let httpsModule: typeof import("node:https") | undefined;
let tlsModule: typeof import("node:tls") | undefined;

export const loadHttps = (): typeof import("node:https") => (httpsModule ??= require("node:https") as typeof import("node:https"));
export const loadTls = (): typeof import("node:tls") => (tlsModule ??= require("node:tls") as typeof import("node:tls"));
