// Entry point of the page: the broker URL from ?broker=... (else the gateway that served the page,
// at /mqtt), the topic base from ?base=..., the user from ?username=... and its password from the
// form (kept in sessionStorage, never in the URL).
import { Dashboard } from "./dashboard.js";

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

const dashboard = new Dashboard(document.getElementById("dashboard")!, {
  broker,
  ...(params.get("base") ? { base: params.get("base")! } : {}),
  ...(username ? { username, password: sessionStorage.getItem(PASSWORD_KEY) ?? "" } : {}),
});
Object.assign(globalThis, { dashboard }); // for the console, and for tests
