// Entry point of the page: the broker URL from ?broker=... (else the gateway that served the page,
// at /mqtt), MQTT 3.1.1 (every broker speaks it; ?mqtt=5 for MQTT 5), the topic base from
// ?base=..., the user from ?username=... and its password from the form (kept in sessionStorage,
// never in the URL). Where the browser has Web Serial, a button
// bridges a device plugged into this computer (?baud=..., default 115200).
import { Dashboard } from "./dashboard.js";
import type { SerialApi, SerialDevices } from "./serial-devices.js";

const PASSWORD_KEY = "edgews-dashboard-password";
const params = new URLSearchParams(location.search);
const sameHost = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/mqtt`;
const broker = params.get("broker") ?? sameHost;
const username = params.get("username") ?? undefined;
const form = document.getElementById("broker-form") as HTMLFormElement;
const field = (name: string) => form.elements.namedItem(name) as HTMLInputElement;
field("broker").value = broker;
field("username").value = username ?? "";
form.addEventListener("submit", (event) => {
  event.preventDefault();
  const next = new URL(location.href);
  next.searchParams.set("broker", field("broker").value);
  if (field("username").value) next.searchParams.set("username", field("username").value);
  else next.searchParams.delete("username");
  sessionStorage.setItem(PASSWORD_KEY, field("password").value);
  location.assign(next);
});

const protocolVersion: 4 | 5 = params.get("mqtt") === "5" ? 5 : 4;
const dashboard = new Dashboard(document.getElementById("dashboard")!, {
  broker,
  protocolVersion,
  ...(params.get("base") ? { base: params.get("base")! } : {}),
  ...(username ? { username, password: sessionStorage.getItem(PASSWORD_KEY) ?? "" } : {}),
});
Object.assign(globalThis, { dashboard }); // for the console, and for tests

const serial = (navigator as Navigator & { serial?: SerialApi }).serial;
if (serial) offerSerialDevices(serial);

function offerSerialDevices(serial: SerialApi): void {
  const button = document.getElementById("connect-device") as HTMLButtonElement;
  const status = document.getElementById("serial-status")!;
  const say = (message: string) => {
    status.hidden = false;
    status.textContent = message;
  };
  const options = {
    broker,
    protocolVersion,
    base: params.get("base") ?? "edgews",
    ...(username ? { username, password: sessionStorage.getItem(PASSWORD_KEY) ?? "" } : {}),
    baudRate: Number(params.get("baud") ?? 115_200),
    log: (level: "error" | "warn" | "info", message: string) => (level === "info" ? console.info(message) : say(`${level}: ${message}`)),
  };
  let devices: SerialDevices | undefined;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      // The bridge (link protocol, store) loads only when a device is connected.
      devices ??= new (await import("./serial-devices.js")).SerialDevices(serial, options);
      const name = await devices.connect();
      say(`${name}: bridging; the device appears below once it says hello`);
    } catch (error) {
      // The user closed the chooser (NotFoundError), or the port would not open.
      say(`no device connected: ${(error as Error).message}`);
    }
  });
  addEventListener("pagehide", () => void devices?.stop());
}
