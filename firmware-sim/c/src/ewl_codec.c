/*
 * Layers 1-2 of the link (docs/link-protocol.md §2-4): CRC-32C, COBS framing, the frame
 * decoder, packet headers and the SYNC body. Pure functions over bytes.
 */
#include "ewl_internal.h"

/* ---- CRC-32C (§3) ---------------------------------------------------------------------- */

/*
 * "CRC-32C is the Castagnoli polynomial 0x1EDC6F41 (reflected 0x82F63B78) with initial value
 * 0xFFFFFFFF, reflected input and output, and final XOR 0xFFFFFFFF." Half a byte per step
 * from a 16-entry table: 64 bytes of flash, the compromise §10 suggests for a Cortex-M0+.
 */
static const uint32_t CRC32C_NIBBLE[16] = {
    0x00000000u, 0x105ec76fu, 0x20bd8edeu, 0x30e349b1u, 0x417b1dbcu, 0x5125dad3u, 0x61c69362u, 0x7198540du,
    0x82f63b78u, 0x92a8fc17u, 0xa24bb5a6u, 0xb21572c9u, 0xc38d26c4u, 0xd3d3e1abu, 0xe330a81au, 0xf36e6f75u,
};

uint32_t ewl_crc32c(uint32_t crc, const uint8_t *data, size_t length) {
    crc = ~crc;
    for (size_t i = 0; i < length; i++) {
        crc ^= data[i];
        crc = CRC32C_NIBBLE[crc & 0x0f] ^ (crc >> 4);
        crc = CRC32C_NIBBLE[crc & 0x0f] ^ (crc >> 4);
    }
    return ~crc;
}

/* ---- COBS (§2) ------------------------------------------------------------------------- */

/* A full COBS block: 254 data bytes, code 0xFF, no zero implied after it. */
enum { FULL_BLOCK_DATA = 254 };

/* Up to three byte ranges read as one (header, body, CRC), so a packet is never copied whole. */
typedef struct segments {
    const uint8_t *data[3];
    size_t length[3];
} segments;

static uint8_t segment_byte(const segments *s, size_t at) {
    for (int i = 0; i < 3; i++) {
        if (at < s->length[i]) return s->data[i][at];
        at -= s->length[i];
    }
    return 0; /* not reached: callers stay below the total */
}

/*
 * COBS with the code byte written before its block: look ahead (at most 254 bytes, §10) for the
 * block's length. A block ends at a zero (consumed, implied by the code) or after 254 nonzero
 * bytes; a full block at the very end gets no empty block after it (the canonical form).
 */
static void cobs_stream(const segments *s, ewl_put_fn put, void *context) {
    size_t total = s->length[0] + s->length[1] + s->length[2];
    size_t at = 0;
    for (;;) {
        size_t run = 0;
        while (at + run < total && run < FULL_BLOCK_DATA && segment_byte(s, at + run) != 0) run++;
        put(context, (uint8_t)(run + 1));
        for (size_t i = 0; i < run; i++) put(context, segment_byte(s, at + i));
        at += run;
        if (at == total) break;
        if (run < FULL_BLOCK_DATA) at++; /* the zero that ended the block */
    }
    put(context, EWL_DELIMITER);
}

void ewl_cobs_encode(const uint8_t *data, size_t length, ewl_put_fn put, void *context) {
    segments s = {{data, NULL, NULL}, {length, 0, 0}};
    cobs_stream(&s, put, context);
}

/* ---- Frame decoder (§2) ---------------------------------------------------------------- */

void ewl_frame_decoder_init(ewl_frame_decoder *decoder, uint8_t *buffer, uint16_t capacity, ewl_frame_counters *counters,
                            ewl_packet_fn on_packet, void *context) {
    ewl_zero(decoder, sizeof *decoder);
    decoder->buffer = buffer;
    decoder->capacity = capacity;
    decoder->counters = counters;
    decoder->on_packet = on_packet;
    decoder->context = context;
}

/* "store(x): if length < maxPacket: buffer[length] = x; length += 1 (keep counting past the end)" */
static void store(ewl_frame_decoder *d, uint8_t byte) {
    if (d->length < d->capacity) d->buffer[d->length] = byte;
    if (d->length <= d->capacity) d->length++; /* saturates: one past means too long */
}

static uint32_t read_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void end_frame(ewl_frame_decoder *d) {
    uint16_t length = d->length;
    bool in_frame = d->in_frame, broken_block = d->block_left > 0;
    d->length = 0;
    d->in_frame = false;
    d->block_left = 0;
    d->zero_pending = false;
    /* "nothing since the last delimiter: ignore it, count nothing" */
    if (!in_frame) return;
    ewl_frame_counters *c = d->counters;
    if (length > d->capacity) c->oversize++;
    else if (broken_block) c->cobs_errors++;
    else if (length < EWL_MIN_PACKET) c->truncated++;
    else if (ewl_crc32c(0, d->buffer, length - EWL_CRC_BYTES) != read_u32(d->buffer + length - EWL_CRC_BYTES)) c->crc_errors++;
    else {
        c->packets++;
        d->on_packet(d->context, d->buffer, length - EWL_CRC_BYTES);
    }
}

/* One byte of a frame, not the delimiter. */
static void decode_byte(ewl_frame_decoder *d, uint8_t byte) {
    d->in_frame = true;
    if (d->block_left > 0) {
        store(d, byte);
        d->block_left--;
    } else {
        /* a code byte: the zero its previous block implied comes first */
        if (d->zero_pending) store(d, 0);
        d->block_left = (uint8_t)(byte - 1);
        d->zero_pending = byte != 0xff;
    }
}

void ewl_frame_decoder_push(ewl_frame_decoder *d, const uint8_t *bytes, size_t length) {
    for (size_t i = 0; i < length; i++) {
        if (bytes[i] == EWL_DELIMITER) end_frame(d);
        else decode_byte(d, bytes[i]);
    }
}

bool ewl_cobs_decode(const uint8_t *encoded, size_t length, uint8_t *out, uint16_t capacity, size_t *decoded) {
    ewl_frame_decoder d;
    ewl_frame_counters unused = {0};
    ewl_frame_decoder_init(&d, out, capacity, &unused, NULL, NULL);
    for (size_t i = 0; i < length && encoded[i] != EWL_DELIMITER; i++) decode_byte(&d, encoded[i]);
    *decoded = d.length;
    return d.block_left == 0 && d.length <= capacity;
}

/* ---- Packets (§4) ---------------------------------------------------------------------- */

/* The control byte: vv s a f rrr (version, which optional header bytes follow, reserved). */
enum {
    VERSION_SHIFT = 6,
    FLAG_SEQ = 0x20,
    FLAG_ACK = 0x10,
    FLAG_FRAG = 0x08,
    RESERVED_BITS = 0x07,
    FRAGMENT_LAST = 0x80
};

/* §4: which header fields and body sizes each type allows. */
static bool well_formed(const ewl_packet *p) {
    if (p->type >= EWL_FIRST_MESSAGE_KIND) {
        /* "fragment: only with seq; index 127 only with LAST" */
        return !p->has_fragment || (p->has_seq && (p->last_fragment || p->fragment_index < EWL_MAX_FRAGMENTS - 1));
    }
    if (p->has_seq || p->has_fragment) return false;
    switch (p->type) {
    case EWL_PACKET_SYNC: return !p->has_ack && p->body_length == EWL_SYNC_BODY;
    case EWL_PACKET_ACK: return p->has_ack && p->body_length == 0;
    case EWL_PACKET_PING:
    case EWL_PACKET_PONG: return p->body_length <= EWL_MAX_PING_BODY;
    case EWL_PACKET_CLOSE: return p->body_length == 1;
    default: return false;
    }
}

ewl_packet_verdict ewl_decode_packet(const uint8_t *bytes, size_t length, ewl_packet *out) {
    uint8_t control = bytes[0];
    if (control >> VERSION_SHIFT != EWL_VERSION) return EWL_PACKET_BAD_VERSION;
    if ((control & RESERVED_BITS) != 0) return EWL_PACKET_BAD_HEADER;
    ewl_zero(out, sizeof *out);
    out->type = bytes[1];
    out->has_seq = (control & FLAG_SEQ) != 0;
    out->has_ack = (control & FLAG_ACK) != 0;
    out->has_fragment = (control & FLAG_FRAG) != 0;
    size_t at = 2;
    size_t header = at + out->has_seq + out->has_ack + out->has_fragment;
    if (length < header) return EWL_PACKET_BAD_HEADER;
    if (out->has_seq) out->seq = bytes[at++];
    if (out->has_ack) out->ack = bytes[at++];
    if (out->has_fragment) {
        out->fragment_index = bytes[at] & (uint8_t)~FRAGMENT_LAST;
        out->last_fragment = (bytes[at] & FRAGMENT_LAST) != 0;
        at++;
    }
    out->body = bytes + at;
    out->body_length = length - at;
    return well_formed(out) ? EWL_PACKET_OK : EWL_PACKET_BAD_HEADER;
}

void ewl_encode_frame(const ewl_packet *p, ewl_put_fn put, void *context) {
    uint8_t header[EWL_MAX_HEADER];
    size_t n = 0;
    header[n++] = (uint8_t)(EWL_VERSION << VERSION_SHIFT | (p->has_seq ? FLAG_SEQ : 0) | (p->has_ack ? FLAG_ACK : 0) | (p->has_fragment ? FLAG_FRAG : 0));
    header[n++] = p->type;
    if (p->has_seq) header[n++] = p->seq;
    if (p->has_ack) header[n++] = p->ack;
    if (p->has_fragment) header[n++] = (uint8_t)((p->last_fragment ? FRAGMENT_LAST : 0) | p->fragment_index);
    /* "Every packet ends with the CRC-32C of its header and body, least significant byte first." */
    uint32_t crc = ewl_crc32c(ewl_crc32c(0, header, n), p->body, p->body_length);
    uint8_t trailer[EWL_CRC_BYTES] = {(uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16), (uint8_t)(crc >> 24)};
    segments s = {{header, p->body, trailer}, {n, p->body_length, EWL_CRC_BYTES}};
    cobs_stream(&s, put, context);
}

/* ---- SYNC (§5.1) ----------------------------------------------------------------------- */

enum { SYNC_ESTABLISHED = 0x01 };

void ewl_encode_sync(const ewl_sync *sync, uint8_t body[EWL_SYNC_BODY]) {
    ewl_put_le(body, sync->session, 4);
    ewl_put_le(body + 4, sync->peer_session, 4);
    ewl_put_le(body + 8, sync->max_packet, 2);
    ewl_put_le(body + 10, sync->max_message, 2);
    body[12] = sync->resume_seq;
    body[13] = sync->expected_seq;
    body[14] = sync->established ? SYNC_ESTABLISHED : 0;
}

bool ewl_decode_sync(const uint8_t body[EWL_SYNC_BODY], ewl_sync *out) {
    out->session = read_u32(body);
    out->peer_session = read_u32(body + 4);
    out->max_packet = (uint16_t)(body[8] | body[9] << 8);
    out->max_message = (uint16_t)(body[10] | body[11] << 8);
    out->resume_seq = body[12];
    out->expected_seq = body[13];
    /* "bits 7-1 reserved, sent as 0, ignored" */
    out->established = (body[14] & SYNC_ESTABLISHED) != 0;
    /* "A SYNC with session 0, maxPacket outside 32-512 or maxMessage 0 is dropped" */
    return out->session != 0 && out->max_packet >= EWL_MIN_MAX_PACKET && out->max_packet <= EWL_MAX_MAX_PACKET && out->max_message >= 1;
}
