// HTTP CONNECT tunnels for clients behind a proxy (HTTPS_PROXY / HTTP_PROXY / NO_PROXY, as
// curl and most Node HTTP clients read them).
import http from "node:http";
import { isIP, type Socket } from "node:net";
import type tls from "node:tls";
import { HandshakeError } from "../handshake/errors.js";
import { loadTls } from "./lazy-tls.js";

/** The proxy to use for `target`, from the option or the environment; undefined: connect directly. */
export function proxyFor(target: URL, option: string | false | undefined, env: NodeJS.ProcessEnv = process.env): URL | undefined {
  if (option === false) return undefined;
  const secure = target.protocol === "wss:" || target.protocol === "https:";
  const value = option ?? (secure ? env.HTTPS_PROXY ?? env.https_proxy : env.HTTP_PROXY ?? env.http_proxy);
  if (!value) return undefined;
  if (option === undefined && bypassed(target.hostname, env.NO_PROXY ?? env.no_proxy ?? "")) return undefined;
  const proxy = new URL(value.includes("://") ? value : `http://${value}`);
  if (proxy.protocol !== "http:") throw new HandshakeError("WS_ERR_INVALID_OPTION", `Unsupported proxy ${proxy.protocol}//: only http:// CONNECT proxies are supported`);
  return proxy;
}

/** NO_PROXY: comma-separated host names or suffixes (".example.com" or "example.com"), or "*". */
function bypassed(hostname: string, noProxy: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return noProxy.split(/[\s,]+/).filter(Boolean).some((entry) => {
    const rule = entry.toLowerCase().replace(/:\d+$/, "");
    if (rule === "*") return true;
    const bare = rule.replace(/^\*?\./, "");
    return host === bare || host.endsWith(`.${bare}`);
  });
}

/**
 * Opens a tunnel to `host:port` through `proxy` (then TLS inside it for wss). Resolves with the
 * socket the WebSocket handshake runs over; `signal` (the handshake's deadline) aborts it at any
 * stage, destroying what was opened.
 */
export function openTunnel(proxy: URL, host: string, port: number, secure: boolean, tlsOptions: tls.ConnectionOptions, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const authority = `${host.includes(":") ? `[${host}]` : host}:${port}`;
    const headers: Record<string, string> = { Host: authority };
    if (proxy.username) {
      const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
      headers["Proxy-Authorization"] = `Basic ${Buffer.from(credentials).toString("base64")}`;
    }
    const req = http.request({ host: proxy.hostname.replace(/^\[|\]$/g, ""), port: Number(proxy.port || 80), method: "CONNECT", path: authority, headers, agent: false });
    /** The tunnel once the proxy opened it, then the TLS socket inside it. */
    let tunnel: Socket | undefined;
    const abort = () => {
      req.destroy();
      tunnel?.destroy();
      reject(signal.reason);
    };
    signal.addEventListener("abort", abort, { once: true });
    const settle = (error: Error | undefined) => {
      signal.removeEventListener("abort", abort);
      if (error === undefined) return resolve(tunnel!);
      tunnel?.destroy();
      reject(error);
    };
    req.once("error", settle);
    req.once("connect", (res, socket) => {
      tunnel = socket;
      if (res.statusCode !== 200) {
        settle(new HandshakeError("WS_ERR_UNEXPECTED_STATUS", `The proxy ${proxy.host} refused the tunnel to ${authority}: ${res.statusCode} ${res.statusMessage ?? ""}`.trim(), { statusCode: res.statusCode }));
        return;
      }
      if (!secure) return settle(undefined);
      const secured = loadTls().connect({ ...tlsOptions, socket, servername: tlsOptions.servername ?? (isIP(host) ? undefined : host) });
      tunnel = secured;
      // A TLS socket over an existing one neither ends nor closes it: without these the
      // tunnel would stay open after the WebSocket closed.
      secured.once("end", () => socket.end());
      secured.once("close", () => socket.destroy());
      secured.once("secureConnect", () => settle(undefined));
      secured.once("error", settle);
    });
    req.end();
  });
}
