// Home Assistant MQTT discovery (https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery):
// one retained config message per channel and per command, so that a device appears in Home
// Assistant with no configuration. Pure: topics and payloads only.
import { ValueType, type Hello } from "../link/index.js";
import { bridgeStateTopic, deviceTopics } from "./mapping.js";

export interface DiscoveryMessage {
  topic: string;
  payload: string;
}

const INTEGER_LIMITS: Partial<Record<ValueType, [number, number]>> = {
  [ValueType.U8]: [0, 0xff], [ValueType.I8]: [-0x80, 0x7f], [ValueType.U16]: [0, 0xffff], [ValueType.I16]: [-0x8000, 0x7fff],
  [ValueType.U32]: [0, 0xffffffff], [ValueType.I32]: [-0x80000000, 0x7fffffff],
};

/** Object ids in discovery topics allow [a-zA-Z0-9_-] only. */
const slug = (name: string): string => name.replace(/[^a-zA-Z0-9_-]/g, "_");

/**
 * The discovery messages of a device: a sensor (binary_sensor for booleans) per channel reading
 * its value from the state topic, and per command a button (no argument), switch (bool), number
 * or text entity publishing to the `/set` topic. Every entity is available only while both the
 * bridge and the device are (availability_mode "all").
 */
export function discoveryMessages(prefix: string, base: string, hello: Hello): DiscoveryMessage[] {
  const topics = deviceTopics(base, hello.deviceId);
  const node = `edgews_${slug(hello.deviceId)}`;
  const common = {
    availability: [{ topic: bridgeStateTopic(base) }, { topic: topics.availability }],
    availability_mode: "all",
    device: { identifiers: [node], name: hello.deviceId, sw_version: hello.firmware, manufacturer: "edgews serial bridge" },
  };
  const used = new Set<string>();
  const message = (component: string, name: string, config: Record<string, unknown>): DiscoveryMessage => {
    let id = slug(name);
    while (used.has(`${component}/${id}`)) id += "_";
    used.add(`${component}/${id}`);
    return { topic: `${prefix}/${component}/${node}/${id}/config`, payload: JSON.stringify({ name, unique_id: `${node}_${component}_${id}`, ...config, ...common }) };
  };
  const out: DiscoveryMessage[] = [];
  for (const channel of hello.channels) {
    const field = `value_json[${JSON.stringify(channel.name)}]`;
    if (channel.type === ValueType.Bool) {
      out.push(message("binary_sensor", channel.name, { state_topic: topics.state, value_template: `{{ 'ON' if ${field} else 'OFF' }}` }));
      continue;
    }
    const numeric = channel.type !== ValueType.String && channel.type !== ValueType.Bytes;
    out.push(message("sensor", channel.name, {
      state_topic: topics.state,
      value_template: `{{ ${field} }}`,
      ...(channel.unit ? { unit_of_measurement: channel.unit } : {}),
      ...(numeric ? { state_class: "measurement" } : {}),
    }));
  }
  for (const command of hello.commands) {
    const key = JSON.stringify(command.name);
    const set = { command_topic: topics.set };
    if (command.argument === ValueType.None) out.push(message("button", command.name, { ...set, payload_press: `{${key}: null}` }));
    else if (command.argument === ValueType.Bool) out.push(message("switch", command.name, { ...set, payload_on: `{${key}: true}`, payload_off: `{${key}: false}`, optimistic: true }));
    else if (command.argument === ValueType.String || command.argument === ValueType.Bytes) {
      out.push(message("text", command.name, { ...set, command_template: `{${key}: {{ value | tojson }}}`, max: 255 }));
    } else {
      const [min, max] = INTEGER_LIMITS[command.argument] ?? [-1e9, 1e9];
      const step = INTEGER_LIMITS[command.argument] ? 1 : 0.001;
      out.push(message("number", command.name, { ...set, command_template: `{${key}: {{ value }}}`, min, max, step, mode: "box", optimistic: true }));
    }
  }
  return out;
}
