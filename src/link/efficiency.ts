// Link efficiency (payload bytes ÷ bytes on the wire) from the real encodings: the packets the
// session would send for one message, framed as it writes them. For the bench's `link` case
// and docs/link-protocol.md §8.
import { CRC_BYTES, DEFAULT_MAX_PACKET, frameAll } from "./framing.js";
import { MAX_HEADER, encodePacket, type Packet } from "./packet.js";
import { MessageKind } from "./messages.js";
import { ReliableSender } from "./sender.js";

export interface Efficiency {
  payloadBytes: number;
  /** Whether it went reliable (numbered, fragmented when larger than a packet). */
  reliable: boolean;
  packets: number;
  /** Bytes written to the port for it, delimiters included. */
  wireBytes: number;
  /** payloadBytes ÷ wireBytes. */
  efficiency: number;
}

export interface EfficiencyOptions {
  /** Default: best-effort when the message fits one packet (as telemetry goes), else reliable. */
  reliable?: boolean;
  /** The receiver's maxPacket. Default 256. */
  maxPacket?: number;
  /** A piggybacked acknowledgement on every packet (traffic both ways). Default false. */
  withAck?: boolean;
}

/**
 * The wire cost of one message of `payloadBytes` written on its own (one write: its packets
 * and a leading delimiter). The body is all nonzero bytes, COBS's worst case.
 */
export function linkEfficiency(payloadBytes: number, options: EfficiencyOptions = {}): Efficiency {
  const maxPacket = options.maxPacket ?? DEFAULT_MAX_PACKET;
  const body = new Uint8Array(payloadBytes).fill(0x5a);
  const fitsOnePacket = payloadBytes <= maxPacket - CRC_BYTES - (MAX_HEADER - 2);
  const reliable = options.reliable ?? !fitsOnePacket;
  if (!reliable && !fitsOnePacket) throw new RangeError(`a best-effort message carries at most ${maxPacket - CRC_BYTES - (MAX_HEADER - 2)} bytes with maxPacket ${maxPacket}`);
  const packets: Packet[] = reliable ? reliablePacketsOf(body, maxPacket) : [{ type: MessageKind.Telemetry, body }];
  if (options.withAck) for (const packet of packets) packet.ack = 0;
  const wireBytes = frameAll(packets.map(encodePacket)).length;
  return { payloadBytes, reliable, packets: packets.length, wireBytes, efficiency: payloadBytes / wireBytes };
}

function reliablePacketsOf(body: Uint8Array, maxPacket: number): Packet[] {
  const sender = new ReliableSender({ window: 127, maxQueuedMessages: 1, maxQueuedBytes: body.length, retransmitTimeout: 1, maxRetransmitTimeout: 1, maxRetransmits: 0 });
  sender.enqueue(MessageKind.Event, body);
  const packets: Packet[] = [];
  for (let packet = sender.next({ maxPacket, maxMessage: 0xffff }, 0); packet; packet = sender.next({ maxPacket, maxMessage: 0xffff }, 0)) packets.push(packet);
  return packets;
}
