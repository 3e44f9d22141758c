// The gateway's config file (YAML or JSON), checked with valibot: an error names the key, the
// value found and how to fix it. Secrets never sit in the file: a user's password is stored
// hashed (`edgews gateway --hash-password`), or read from an environment variable it names.
import { readFile } from "node:fs/promises";
import * as v from "valibot";
import { parse as parseYaml } from "yaml";
import { TCP_SCHEMES, TLS_SCHEMES, WEBSOCKET_SCHEMES } from "../mqtt/transport/transport.js";

export const ROLES = ["admin", "dashboard", "device"] as const;
export type Role = (typeof ROLES)[number];
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const port = (what: string) =>
  v.pipe(v.number(`${what} takes a TCP port number`), v.integer(`${what} takes a whole number`), v.minValue(0, `${what} takes 0 to 65535 (0: any free port)`), v.maxValue(65535, `${what} takes 0 to 65535`));
const text = (fix: string) => v.pipe(v.string(fix), v.nonEmpty(fix));
const BROKER_SCHEMES = new Set([...TCP_SCHEMES, ...TLS_SCHEMES, ...WEBSOCKET_SCHEMES]);
/** A URL with a host and a scheme edgews's MQTT client speaks (MQTT.js's: mqtt:, mqtts:, ws: ...). */
const isBrokerUrl = (url: string) => URL.canParse(url) && BROKER_SCHEMES.has(new URL(url).protocol) && new URL(url).host !== "";

const UserSchema = v.pipe(
  v.strictObject(
    {
      username: v.pipe(text("give each user a username"), v.regex(/^[\w.-]{1,64}$/, "a username is 1 to 64 letters, digits, '_', '.' or '-' (a device's username is its device id)")),
      role: v.picklist(ROLES, `use one of ${ROLES.join(", ")}`),
      passwordHash: v.optional(v.pipe(v.string(), v.startsWith("scrypt$", "make one with: edgews gateway --hash-password"))),
      passwordEnv: v.optional(v.pipe(v.string(), v.regex(/^[A-Z_][A-Z0-9_]*$/, "name an environment variable, e.g. EDGEWS_DASHBOARD_PASSWORD"))),
    },
    "unknown key: a user has username, role, passwordHash or passwordEnv",
  ),
  v.check((user) => (user.passwordHash === undefined) !== (user.passwordEnv === undefined), "give a user exactly one of passwordHash (edgews gateway --hash-password) and passwordEnv"),
);

const PortSchema = v.union(
  [text("a serial port path"), v.looseObject({ path: text("a serial port path"), baudRate: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))) })],
  "a serial port is a path (\"/dev/ttyUSB0\") or { path, baudRate }",
);

export const ConfigSchema = v.strictObject(
  {
    stateDir: v.optional(text("stateDir is a directory (e.g. /var/lib/edgews)"), "./edgews-state"),
    http: v.optional(
      v.strictObject({ host: v.optional(text("http.host is an address to listen on, e.g. 0.0.0.0"), "127.0.0.1"), port: v.optional(port("http.port"), 8080) }, "unknown key: http has host and port"),
      {},
    ),
    mqtt: v.optional(
      v.strictObject({ host: v.optional(text("mqtt.host is an address to listen on"), "127.0.0.1"), port: v.optional(v.nullable(port("mqtt.port")), 1883) }, "unknown key: mqtt has host and port (null: no plain TCP listener)"),
      {},
    ),
    broker: v.optional(
      v.strictObject(
        {
          url: v.pipe(v.string("broker.url is a URL"), v.check(isBrokerUrl, "broker.url is mqtt://HOST:PORT, mqtts://HOST:PORT (TLS), ws://HOST:PORT/PATH or wss://... (MQTT over WebSocket); tcp:, ssl:, tls: as in MQTT.js")),
          username: v.optional(text("broker.username")),
          protocolVersion: v.optional(v.picklist([4, 5], "broker.protocolVersion is 4 (MQTT 3.1.1) or 5"), 5),
        },
        "unknown key: broker has url, username and protocolVersion (the password comes from EDGEWS_MQTT_PASSWORD)",
      ),
    ),
    auth: v.optional(
      v.strictObject(
        {
          anonymous: v.optional(v.picklist(["refuse", "dashboard"], "auth.anonymous is refuse or dashboard (anyone may read all and command: a demo on loopback only)"), "refuse"),
          users: v.optional(v.array(UserSchema, "auth.users is a list of { username, role, passwordHash | passwordEnv }"), []),
        },
        "unknown key: auth has anonymous and users",
      ),
      {},
    ),
    bridge: v.optional(
      v.strictObject(
        {
          base: v.optional(v.pipe(v.string(), v.regex(/^[^#+/][^#+]*$/, "bridge.base is a topic level without '#', '+' or a leading '/'")), "edgews"),
          ports: v.optional(v.array(PortSchema, "bridge.ports is a list of serial ports"), []),
          baudRate: v.optional(v.pipe(v.number(), v.integer("bridge.baudRate is a whole number, e.g. 115200"), v.minValue(1)), 115200),
          telemetryQos: v.optional(v.picklist([0, 1], "bridge.telemetryQos is 0 or 1"), 0),
          homeAssistant: v.optional(v.boolean("bridge.homeAssistant is true or false"), false),
        },
        "unknown key: bridge has base, ports, baudRate, telemetryQos and homeAssistant",
      ),
      {},
    ),
    dashboard: v.optional(text("dashboard is the directory of the dashboard's static files")),
    log: v.optional(v.strictObject({ level: v.optional(v.picklist(LOG_LEVELS, `log.level is one of ${LOG_LEVELS.join(", ")}`), "info") }, "unknown key: log has level"), {}),
  },
  "unknown key: the top-level keys are stateDir, http, mqtt, broker, auth, bridge, dashboard and log",
);

export type GatewayConfig = v.InferOutput<typeof ConfigSchema>;
export type UserConfig = GatewayConfig["auth"]["users"][number];

/** A config that does not hold: every problem, one per line, each naming the key, the value and the fix. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Validates `input` (parsed YAML or JSON); `source` names it in errors. */
export function checkConfig(input: unknown, source: string): GatewayConfig {
  const result = v.safeParse(ConfigSchema, input ?? {});
  if (result.success) {
    checkUniqueUsers(result.output, source);
    return result.output;
  }
  throw new ConfigError(result.issues.map((issue) => `${source}: ${describeIssue(issue)}`).join("\n"));
}

function describeIssue(issue: v.BaseIssue<unknown>): string {
  const key = v.getDotPath(issue) ?? "(top level)";
  // An unknown key's issue has the key as its input; its value is on the path.
  const value = issue.type === "strict_object" ? issue.path?.at(-1)?.value : issue.input;
  return `${key} = ${JSON.stringify(value) ?? "undefined"}: ${issue.message}`;
}

function checkUniqueUsers(config: GatewayConfig, source: string): void {
  const names = config.auth.users.map((u) => u.username);
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice) throw new ConfigError(`${source}: auth.users: "${twice}" is listed twice: give each user one entry`);
}

/** Reads a config file: .json as JSON, anything else as YAML (a superset of JSON); checkConfig validates it. */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let content: string;
  try {
    content = await readFile(path, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read the config file ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = path.endsWith(".json") ? JSON.parse(content) : parseYaml(content);
  } catch (error) {
    throw new ConfigError(`${path} is not valid ${path.endsWith(".json") ? "JSON" : "YAML"}: ${(error as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) throw new ConfigError(`${path} holds ${Array.isArray(parsed) ? "a list" : `a ${typeof parsed}`}: a config is a mapping of keys (stateDir, http, mqtt, broker, auth, bridge, dashboard, log)`);
  return parsed as Record<string, unknown>;
}
