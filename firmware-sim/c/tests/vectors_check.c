/*
 * Checks the C library against every vector in firmware-sim/vectors/ (docs/link-protocol.md
 * §11): the same byte sequences src/link/ is held to. Encoding must produce exactly the bytes;
 * decoding the bytes must give the fields back.
 *
 *   vectors_check firmware-sim/vectors      exit status 0 when every check passes
 *
 * This file: CRC-32C, COBS, packets and the receiver; messages.c and sessions.c the rest.
 */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json **documents;
static size_t document_count;

static void free_documents(void) {
    for (size_t i = 0; i < document_count; i++) json_free(documents[i]);
    free(documents);
}

const json *load_vectors(const char *dir, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    json *document = json_load(path);
    json **bigger = realloc(documents, (document_count + 1) * sizeof *documents);
    if (bigger == NULL) abort();
    documents = bigger;
    documents[document_count++] = document;
    printf("checking %s\n", name);
    return document;
}

static const char *name_of(const json *vector) {
    return json_need(vector, "name")->string;
}

/* ---- crc32c.json ----------------------------------------------------------------------- */

static void check_crc(const char *dir) {
    const json *vectors = load_vectors(dir, "crc32c.json");
    for (size_t i = 0; i < vectors->count; i++) {
        const json *v = vectors->items[i];
        size_t length;
        const uint8_t *data = unhex(json_need(v, "data")->string, &length);
        char got[9];
        snprintf(got, sizeof got, "%08lx", (unsigned long)ewl_crc32c(0, data, length));
        check(strcmp(got, json_need(v, "crc32c")->string) == 0, "crc32c.json %s: got %s", name_of(v), got);
    }
}

/* ---- cobs.json ------------------------------------------------------------------------- */

static void check_cobs(const char *dir) {
    const json *vectors = load_vectors(dir, "cobs.json");
    for (size_t i = 0; i < vectors->count; i++) {
        const json *v = vectors->items[i];
        size_t length, encoded_length, decoded_length;
        const uint8_t *data = unhex(json_need(v, "data")->string, &length);
        const uint8_t *encoded = unhex(json_need(v, "encoded")->string, &encoded_length);
        buffer out = {0};
        ewl_cobs_encode(data, length, buffer_put, &out);
        check(same_hex(out.data, out.length, json_need(v, "encoded")->string), "cobs.json %s: encoded as %s", name_of(v), tohex(out.data, out.length));
        buffer_clear(&out);
        uint8_t decoded[512];
        bool ok = ewl_cobs_decode(encoded, encoded_length, decoded, sizeof decoded, &decoded_length);
        check(ok && decoded_length == length && memcmp(decoded, data, length) == 0, "cobs.json %s: does not decode back", name_of(v));
    }
}

/* ---- packets.json ---------------------------------------------------------------------- */

typedef struct captured {
    buffer packets[8];
    size_t count;
} captured;

static void capture(void *context, const uint8_t *packet, size_t length) {
    captured *c = context;
    if (c->count < 8) buffer_append(&c->packets[c->count++], packet, length);
}

static void release_captured(captured *c) {
    for (size_t i = 0; i < c->count; i++) buffer_clear(&c->packets[i]);
}

static ewl_packet packet_from_json(const json *p) {
    ewl_packet packet;
    const json *seq = json_get(p, "seq"), *ack = json_get(p, "ack"), *fragment = json_get(p, "fragment");
    memset(&packet, 0, sizeof packet);
    packet.type = (uint8_t)json_need(p, "type")->number;
    packet.has_seq = seq != NULL;
    packet.seq = seq ? (uint8_t)seq->number : 0;
    packet.has_ack = ack != NULL;
    packet.ack = ack ? (uint8_t)ack->number : 0;
    packet.has_fragment = fragment != NULL;
    packet.fragment_index = fragment ? (uint8_t)json_need(fragment, "index")->number : 0;
    packet.last_fragment = fragment ? json_need(fragment, "last")->boolean : false;
    packet.body = unhex(json_need(p, "body")->string, &packet.body_length);
    return packet;
}

static bool same_packet(const ewl_packet *a, const ewl_packet *b) {
    return a->type == b->type && a->has_seq == b->has_seq && a->seq == b->seq && a->has_ack == b->has_ack && a->ack == b->ack &&
           a->has_fragment == b->has_fragment && a->fragment_index == b->fragment_index && a->last_fragment == b->last_fragment &&
           a->body_length == b->body_length && memcmp(a->body, b->body, a->body_length) == 0;
}

static void check_packets(const char *dir) {
    const json *vectors = load_vectors(dir, "packets.json");
    for (size_t i = 0; i < vectors->count; i++) {
        const json *v = vectors->items[i];
        const char *bytes = json_need(v, "bytes")->string, *wire = json_need(v, "wire")->string;
        ewl_packet expected = packet_from_json(json_need(v, "packet")), decoded;
        buffer out = {0};
        buffer_put(&out, 0x00); /* the leading delimiter of a write */
        ewl_encode_frame(&expected, buffer_put, &out);
        check(same_hex(out.data, out.length, wire), "packets.json %s: framed as %s", name_of(v), tohex(out.data, out.length));
        buffer_clear(&out);

        size_t wire_length;
        const uint8_t *wire_bytes = unhex(wire, &wire_length);
        uint8_t space[512];
        captured got = {0};
        ewl_frame_counters counters = {0};
        ewl_frame_decoder decoder;
        ewl_frame_decoder_init(&decoder, space, sizeof space, &counters, capture, &got);
        ewl_frame_decoder_push(&decoder, wire_bytes, wire_length);
        size_t without_crc = strlen(bytes) - 8;
        bool one = got.count == 1 && 2 * got.packets[0].length == without_crc;
        check(one && strncmp(tohex(got.packets[0].data, got.packets[0].length), bytes, without_crc) == 0, "packets.json %s: the wire does not give the bytes", name_of(v));
        if (one) {
            check(ewl_decode_packet(got.packets[0].data, got.packets[0].length, &decoded) == EWL_PACKET_OK && same_packet(&decoded, &expected),
                  "packets.json %s: the bytes do not parse to the packet", name_of(v));
        }
        release_captured(&got);
    }
}

/* ---- receive.json ---------------------------------------------------------------------- */

static const char *verdict_name(ewl_packet_verdict verdict) {
    return verdict == EWL_PACKET_OK ? "ok" : verdict == EWL_PACKET_BAD_VERSION ? "bad-version" : "bad-header";
}

static bool same_counters(const ewl_frame_counters *c, const json *expected) {
    return c->packets == json_need(expected, "packets")->number && c->crc_errors == json_need(expected, "crcErrors")->number &&
           c->cobs_errors == json_need(expected, "cobsErrors")->number && c->oversize == json_need(expected, "oversize")->number &&
           c->truncated == json_need(expected, "truncated")->number;
}

/* Feeds the stream in pieces of `chunk` bytes: the result must not depend on the chunking. */
static void check_stream(const json *v, size_t chunk) {
    size_t length;
    const uint8_t *wire = unhex(json_need(v, "wire")->string, &length);
    const json *packets = json_need(v, "packets");
    uint8_t space[512];
    captured got = {0};
    ewl_frame_counters counters = {0};
    ewl_frame_decoder decoder;
    ewl_frame_decoder_init(&decoder, space, (uint16_t)json_need(v, "maxPacket")->number, &counters, capture, &got);
    for (size_t at = 0; at < length; at += chunk) ewl_frame_decoder_push(&decoder, wire + at, length - at < chunk ? length - at : chunk);
    check(got.count == packets->count, "receive.json %s (chunks of %zu): %zu packets", name_of(v), chunk, got.count);
    for (size_t k = 0; k < got.count && k < packets->count; k++) {
        ewl_packet packet;
        const json *p = packets->items[k];
        const char *verdict = verdict_name(ewl_decode_packet(got.packets[k].data, got.packets[k].length, &packet));
        check(same_hex(got.packets[k].data, got.packets[k].length, json_need(p, "bytes")->string) && strcmp(verdict, json_need(p, "verdict")->string) == 0,
              "receive.json %s (chunks of %zu): packet %zu is %s, %s", name_of(v), chunk, k, tohex(got.packets[k].data, got.packets[k].length), verdict);
    }
    check(same_counters(&counters, json_need(v, "counters")), "receive.json %s (chunks of %zu): counters differ", name_of(v), chunk);
    release_captured(&got);
}

static void check_receive(const char *dir) {
    static const size_t chunks[] = {1, 3, 7, 1 << 20};
    const json *vectors = load_vectors(dir, "receive.json");
    for (size_t i = 0; i < vectors->count; i++)
        for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) check_stream(vectors->items[i], chunks[c]);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s <vectors directory>\n", argv[0]);
        return 2;
    }
    check_crc(argv[1]);
    check_cobs(argv[1]);
    check_packets(argv[1]);
    check_receive(argv[1]);
    check_messages(argv[1]);
    check_sessions(argv[1]);
    free_documents();
    release_all();
    printf("%d checks, %d failed\n", check_count(), check_failures());
    return check_failures() == 0 ? 0 : 1;
}
