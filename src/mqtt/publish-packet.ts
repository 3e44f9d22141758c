// PUBLISH packet objects of one hidden class. Object spread (`{ ...packet, dup }`) would read
// better, but once its inline cache goes megamorphic V8 gives every object it makes a hidden
// class of its own (~190 B of map and descriptors, kept as long as the object): 10,000 offline
// messages carried 1.9 MB of them. Every PUBLISH the client makes comes from here.
import type { IPublishPacket } from "mqtt-packet";

type Changes = Partial<Pick<IPublishPacket, "topic" | "dup" | "messageId" | "properties">>;

/** A copy of `base` with `changes` (a change to undefined keeps the base's value). */
export function publishPacket(base: Omit<IPublishPacket, "cmd" | "dup"> & { dup?: boolean }, changes?: Changes): IPublishPacket {
  return {
    cmd: "publish",
    topic: changes?.topic ?? base.topic,
    payload: base.payload,
    qos: base.qos,
    retain: base.retain,
    dup: changes?.dup ?? base.dup ?? false,
    messageId: changes?.messageId ?? base.messageId,
    properties: changes?.properties ?? base.properties,
  };
}
