// One device's card: availability, hello facts, a chart of its numeric channels over the window,
// its latest state, a control per command with the results, and its recent events and logs.
import uPlot from "uplot";
import type { CommandInfo, Device, Fleet } from "./fleet.js";

export type SendCommand = (device: string, command: string, argument: unknown) => void;

const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2"];

export class DeviceCard {
  readonly element: HTMLElement;
  readonly #fleet: Fleet;
  readonly #id: string;
  readonly #send: SendCommand;
  readonly #parts: { badge: HTMLElement; facts: HTMLElement; state: HTMLElement; chart: HTMLElement; commands: HTMLElement; outcomes: HTMLElement; events: HTMLElement };
  #plot: uPlot | undefined;
  #plotted = "";
  #commandsShown = "";

  constructor(fleet: Fleet, id: string, send: SendCommand) {
    this.#fleet = fleet;
    this.#id = id;
    this.#send = send;
    this.element = el("article", { class: "device", "data-device": id, "aria-labelledby": `device-${id}` });
    const heading = el("header", {}, el("h2", { id: `device-${id}` }, id));
    const badge = el("span", { class: "badge", role: "status" });
    heading.append(badge);
    const facts = el("p", { class: "facts" });
    const chart = el("div", { class: "chart", role: "img", "aria-label": `readings of ${id}` });
    const state = el("dl", { class: "state" });
    const commands = el("div", { class: "commands" });
    const outcomes = el("ul", { class: "outcomes", "aria-live": "polite", "aria-label": `command results of ${id}` });
    const events = el("ul", { class: "events", "aria-label": `events of ${id}` });
    this.#parts = { badge, facts, state, chart, commands, outcomes, events };
    this.element.append(heading, facts, chart, state, commands, outcomes, events);
  }

  get #device(): Device {
    return this.#fleet.devices.get(this.#id)!;
  }

  update(now: number): void {
    const device = this.#device;
    const availability = this.#fleet.effectiveAvailability(device);
    this.element.dataset.availability = availability;
    this.#parts.badge.textContent = availability;
    this.#parts.facts.textContent = [device.firmware && `firmware ${device.firmware}`, device.port, device.lastSeen && `seen ${ago(now - device.lastSeen)}`]
      .filter(Boolean)
      .join(" · ");
    this.#renderState(device);
    this.#renderCommands(device);
    this.#parts.outcomes.replaceChildren(
      ...device.outcomes.map((o) => el("li", { "data-status": o.status }, `${o.command} → ${o.status}${o.value !== undefined ? ` (${JSON.stringify(o.value)})` : ""}${o.error ? `: ${o.error}` : ""}`)),
    );
    this.#parts.events.replaceChildren(...device.events.map((e) => el("li", { "data-kind": e.topic }, `${clock(e.at)} ${e.text}`)));
    this.#renderChart(device, now);
  }

  destroy(): void {
    this.#plot?.destroy();
  }

  #renderState(device: Device): void {
    const units = new Map(device.channels.map((c) => [c.name, c.unit]));
    this.#parts.state.replaceChildren(
      ...Object.entries(device.state).flatMap(([name, value]) => [el("dt", {}, name), el("dd", { "data-channel": name }, `${formatValue(value)}${units.get(name) ? ` ${units.get(name)}` : ""}`)]),
    );
  }

  #renderCommands(device: Device): void {
    const key = JSON.stringify(device.commands);
    if (key === this.#commandsShown) return; // keep focus and typed input across updates
    this.#commandsShown = key;
    this.#parts.commands.replaceChildren(...device.commands.map((command) => commandControl(command, (argument) => this.#send(device.id, command.name, argument))));
  }

  #renderChart(device: Device, now: number): void {
    const names = [...device.series.keys()];
    if (names.length === 0) return;
    const width = Math.max(200, this.#parts.chart.clientWidth || 320);
    if (!this.#plot || this.#plotted !== names.join()) {
      this.#plot?.destroy();
      this.#plotted = names.join();
      this.#plot = new uPlot(chartOptions(device, names, width), alignedData(device, names), this.#parts.chart);
    } else {
      if (this.#plot.width !== width) this.#plot.setSize({ width, height: 160 });
      this.#plot.setData(alignedData(device, names), false);
    }
    const right = now / 1000;
    this.#plot.setScale("x", { min: right - this.#fleet.options.window / 1000, max: right });
  }
}

function chartOptions(device: Device, names: string[], width: number): uPlot.Options {
  const units = new Map(device.channels.map((c) => [c.name, c.unit]));
  return {
    width,
    height: 160,
    legend: { show: true, live: false },
    cursor: { show: false },
    scales: { x: { time: true } },
    series: [{}, ...names.map((name, i) => ({ label: units.get(name) ? `${name} (${units.get(name)})` : name, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: true }))],
  };
}

/** uPlot wants one x array with a column per series; channels may have readings at different times. */
function alignedData(device: Device, names: string[]): uPlot.AlignedData {
  const all = names.map((n) => device.series.get(n)!);
  if (all.every((s) => s === all[0] || s.times === all[0]!.times)) return [all[0]!.times, ...all.map((s) => s.values)];
  return uPlot.join(all.map((s) => [s.times, s.values] as uPlot.AlignedData)) as uPlot.AlignedData;
}

function commandControl(command: CommandInfo, send: (argument: unknown) => void): HTMLElement {
  const form = el("form", { class: "command", "data-command": command.name });
  const button = el("button", { type: "submit" }, command.name);
  if (command.argument === "none") {
    form.append(button);
    form.addEventListener("submit", (e) => (e.preventDefault(), send(null)));
  } else if (command.argument === "bool") {
    const on = el("button", { type: "button", "data-value": "true" }, `${command.name} on`);
    const off = el("button", { type: "button", "data-value": "false" }, `${command.name} off`);
    on.addEventListener("click", () => send(true));
    off.addEventListener("click", () => send(false));
    form.append(on, off);
    form.addEventListener("submit", (e) => e.preventDefault());
  } else {
    const numeric = !["string", "bytes"].includes(command.argument);
    const input = el("input", { name: "argument", type: numeric ? "number" : "text", step: "any", required: "", "aria-label": `${command.name} (${command.argument})`, placeholder: command.argument }) as HTMLInputElement;
    form.append(input, button);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      send(numeric ? Number(input.value) : input.value);
    });
  }
  return form;
}

function formatValue(value: unknown): string {
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(2);
  return typeof value === "string" ? value : JSON.stringify(value);
}

function ago(ms: number): string {
  return ms < 2000 ? "just now" : ms < 120_000 ? `${Math.round(ms / 1000)} s ago` : `${Math.round(ms / 60_000)} min ago`;
}

function clock(at: number): string {
  return new Date(at).toLocaleTimeString();
}

export function el(tag: string, attributes: Record<string, string>, ...children: Array<string | Node>): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children);
  return element;
}
