/*
 * The library on its own, beyond the shared vectors: two C links (a device with a hello, and
 * a bridge-like end without one) over a simulated serial line that damages bytes, arbitrary
 * bytes fed to a link, and the API's bounds and errors. Built with the default sizes.
 *
 *   link_check        exit status 0 when every check passes
 */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { COMMANDS = 300, BYTES_PER_MS = 12 /* 115,200 baud */ };

typedef struct end {
    ewl_link link;
    ewl_config config;
    struct end *peer;
    buffer inbox; /* written by the peer, not delivered yet */
    uint32_t session;
    unsigned runs[COMMANDS + 1], results[COMMANDS + 1], events[COMMANDS + 1];
    uint8_t kinds[8]; /* the first reliable messages received, by kind */
    size_t kind_count;
    ewl_status reentrant; /* what ewl_tick said from inside on_command */
    unsigned closed;
} end;

static uint32_t now_ms;
static uint32_t random_state = 2463534242u;
static double damage; /* errors per byte on the line */

static uint32_t next_random(void) {
    random_state ^= random_state << 13;
    random_state ^= random_state >> 17;
    random_state ^= random_state << 5;
    return random_state;
}

static bool chance(double p) {
    return next_random() / 4294967296.0 < p;
}

static const ewl_channel CHANNELS[] = {{EWL_STR("temperature"), EWL_STR("°C"), EWL_F32}, {EWL_STR("relay"), EWL_STR(""), EWL_BOOL}};
static const ewl_command_info COMMAND_INFO[] = {{EWL_STR("run"), EWL_U16}};
static const ewl_hello HELLO = {EWL_STR("dev-1"), EWL_STR("1.0"), CHANNELS, 2, COMMAND_INFO, 1};

/* ---- Callbacks ------------------------------------------------------------------------- */

/* Onto the line: each byte flipped, dropped or doubled by a random one at the damage rate. */
static void on_write(void *user, const uint8_t *bytes, size_t length) {
    end *e = user;
    for (size_t i = 0; i < length; i++) {
        uint8_t byte = bytes[i], noise = (uint8_t)next_random();
        if (!chance(damage)) buffer_put(&e->peer->inbox, byte);
        else if (noise % 3 == 0) buffer_put(&e->peer->inbox, (uint8_t)(byte ^ (1u << (noise % 8))));
        else if (noise % 3 == 1) {
            buffer_put(&e->peer->inbox, noise);
            buffer_put(&e->peer->inbox, byte);
        }
    }
}

static uint32_t on_millis(void *user) {
    (void)user;
    return now_ms;
}

static uint32_t on_new_session(void *user) {
    return ((end *)user)->session;
}

static void on_event(void *user, const ewl_event *event) {
    if (event->type == EWL_EVENT_CLOSED) ((end *)user)->closed++;
}

static void on_command(void *user, const ewl_command *command) {
    end *e = user;
    ewl_value id = ewl_value_unsigned(EWL_U32, command->argument.as.u);
    if (command->argument.as.u <= COMMANDS) e->runs[command->argument.as.u]++;
    e->reentrant = ewl_tick(&e->link);
    check(ewl_send_event(&e->link, ewl_cstr("done"), &id, NULL) == EWL_OK, "the event of command %u was refused", command->id);
    check(ewl_send_result(&e->link, command->id, EWL_RESULT_OK, &id, NULL) == EWL_OK, "the result of command %u was refused", command->id);
}

static void on_message(void *user, uint8_t kind, const uint8_t *body, size_t length, bool reliable) {
    end *e = user;
    ewl_result result;
    ewl_event_message event;
    if (reliable && e->kind_count < sizeof e->kinds) e->kinds[e->kind_count++] = kind;
    if (kind == EWL_KIND_RESULT && ewl_decode_result(body, length, &result) == EWL_OK && result.id <= COMMANDS) e->results[result.id]++;
    if (kind == EWL_KIND_EVENT && ewl_decode_event(body, length, &event) == EWL_OK && event.value.as.u <= COMMANDS) e->events[event.value.as.u]++;
}

/* ---- Two ends on a line ---------------------------------------------------------------- */

static end *start_end(end *peer, uint32_t session, const ewl_hello *hello) {
    end *e = keep(calloc(1, sizeof *e));
    e->peer = peer;
    e->session = session;
    ewl_config_defaults(&e->config);
    e->config.write = on_write;
    e->config.millis = on_millis;
    e->config.new_session = on_new_session;
    e->config.on_event = on_event;
    e->config.on_message = on_message;
    e->config.hello = hello;
    if (hello != NULL) e->config.on_command = on_command;
    return e;
}

/* A device (with the hello) and a bridge-like end; the bridge's config may be changed before `connect`. */
static void make_pair(end **device, end **bridge) {
    *device = start_end(NULL, 0x0d0d0d01u, &HELLO);
    *bridge = start_end(*device, 0xb0b0b001u, NULL);
    (*device)->peer = *bridge;
}

static void connect(end *device, end *bridge) {
    check(ewl_init(&device->link, &device->config, device) == EWL_OK, "the device does not start");
    check(ewl_init(&bridge->link, &bridge->config, bridge) == EWL_OK, "the bridge does not start");
}

/* What arrived in the last millisecond, at the line's rate, in one ewl_receive. */
static void deliver(end *e) {
    size_t n = e->inbox.length < BYTES_PER_MS ? e->inbox.length : BYTES_PER_MS;
    if (n == 0) return;
    uint8_t chunk[BYTES_PER_MS];
    memcpy(chunk, e->inbox.data, n);
    memmove(e->inbox.data, e->inbox.data + n, e->inbox.length - n);
    e->inbox.length -= n;
    ewl_receive(&e->link, chunk, n);
}

static void run_for(end *a, end *b, uint32_t ms) {
    for (uint32_t i = 0; i < ms; i++) {
        now_ms++;
        deliver(a);
        deliver(b);
        ewl_tick(&a->link);
        ewl_tick(&b->link);
    }
}

static void send_command(end *bridge, uint16_t id) {
    uint8_t body[16];
    size_t length;
    ewl_command command = {id, 0, {EWL_U16, {0}}};
    command.argument.as.u = id;
    check(ewl_encode_command(&command, &HELLO, body, sizeof body, &length) == EWL_OK, "command %u does not encode", id);
    check(ewl_send_reliable(&bridge->link, EWL_KIND_COMMAND, body, length, NULL) == EWL_OK, "command %u was refused", id);
}

static void release_pair(end *device, end *bridge) {
    buffer_clear(&device->inbox);
    buffer_clear(&bridge->inbox);
}

/* ---- The checks ------------------------------------------------------------------------ */

/* 300 commands, each answered with an event and a result, through 2 damaged bytes in 1000 both ways. */
static void exactly_once_through_damage(void) {
    end *device, *bridge;
    uint16_t next = 1;
    uint32_t started = now_ms;
    ewl_stats d, b;
    make_pair(&device, &bridge);
    connect(device, bridge);
    damage = 0.002;
    while (now_ms - started < 600000) {
        if (next <= COMMANDS && ewl_get_state(&bridge->link) == EWL_ESTABLISHED && ewl_queued_messages(&bridge->link) < 4) send_command(bridge, next++);
        if (next > COMMANDS && bridge->results[COMMANDS] > 0 && bridge->events[COMMANDS] > 0) break;
        run_for(device, bridge, 1);
    }
    damage = 0;
    run_for(device, bridge, 5000); /* room for a late duplicate */
    for (unsigned id = 1; id <= COMMANDS; id++) {
        check(device->runs[id] == 1 && bridge->results[id] == 1 && bridge->events[id] == 1,
              "command %u: run %u times, %u results, %u events", id, device->runs[id], bridge->results[id], bridge->events[id]);
    }
    ewl_get_stats(&device->link, &d);
    ewl_get_stats(&bridge->link, &b);
    check(d.frames.crc_errors + d.frames.cobs_errors > 0 && b.frames.crc_errors + b.frames.cobs_errors > 0, "the damage hit nothing");
    check(d.retransmits > 0 && b.retransmits > 0 && d.duplicates + b.duplicates > 0, "the damage caused no retransmission or duplicate");
    printf("%u commands through damage in %lu simulated ms: device crc %lu cobs %lu dup %lu deferred %lu retx %lu; bridge crc %lu cobs %lu dup %lu retx %lu\n",
           COMMANDS, (unsigned long)(now_ms - started), (unsigned long)d.frames.crc_errors, (unsigned long)d.frames.cobs_errors,
           (unsigned long)d.duplicates, (unsigned long)d.deferred, (unsigned long)d.retransmits, (unsigned long)b.frames.crc_errors,
           (unsigned long)b.frames.cobs_errors, (unsigned long)b.duplicates, (unsigned long)b.retransmits);
    release_pair(device, bridge);
}

/* A packet with a good CRC and random header and body, on the wire: every parsing path sees it. */
static void feed_sealed_packet(end *e) {
    uint8_t packet[48];
    size_t length = 2 + next_random() % 40;
    static const uint8_t TYPES[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x10, 0x12, 0x13, 0x14, 0x15, 0x00, 0x0f, 0xff};
    for (size_t i = 0; i < length; i++) packet[i] = (uint8_t)next_random();
    if (chance(0.9)) packet[0] = (uint8_t)(0x40 | (packet[0] & 0x3f)); /* version 1, mostly */
    if (chance(0.8)) packet[1] = TYPES[next_random() % sizeof TYPES];
    uint32_t crc = ewl_crc32c(0, packet, length);
    for (int i = 0; i < 4; i++) packet[length++] = (uint8_t)(crc >> (8 * i));
    buffer wire = {0};
    buffer_put(&wire, 0x00);
    ewl_cobs_encode(packet, length, buffer_put, &wire);
    for (size_t at = 0; at < wire.length;) {
        size_t n = 1 + next_random() % 16;
        n = n < wire.length - at ? n : wire.length - at;
        ewl_receive(&e->link, wire.data + at, n);
        at += n;
    }
    buffer_clear(&wire);
}

/* Random bytes and random well-sealed packets to an established device: nothing breaks (ASan/UBSan watch), every bound holds. */
static void arbitrary_input(void) {
    end *device, *bridge;
    uint8_t garbage[64], long_frame[4096];
    ewl_stats before, after;
    make_pair(&device, &bridge);
    connect(device, bridge);
    run_for(device, bridge, 100);
    check(ewl_get_state(&device->link) == EWL_ESTABLISHED, "no link to attack");
    ewl_get_stats(&device->link, &before);
    for (int i = 0; i < 5000; i++) {
        size_t n = next_random() % sizeof garbage;
        for (size_t k = 0; k < n; k++) garbage[k] = (uint8_t)next_random();
        ewl_receive(&device->link, garbage, n);
        feed_sealed_packet(device);
        now_ms += next_random() % 50;
        ewl_tick(&device->link);
        check(ewl_queued_messages(&device->link) <= EWL_QUEUE_MESSAGES, "the queue grew past its bound");
    }
    ewl_get_stats(&device->link, &after);
    check(after.frames.packets - before.frames.packets >= 5000, "%lu of 5000 sealed packets passed the frame check", (unsigned long)(after.frames.packets - before.frames.packets));
    /* A frame far longer than the receive buffer: counted once, never stored past it. */
    memset(long_frame, 0x41, sizeof long_frame);
    ewl_receive(&device->link, long_frame, sizeof long_frame);
    ewl_receive(&device->link, (const uint8_t *)"", 1);
    ewl_get_stats(&device->link, &before);
    check(before.frames.oversize == after.frames.oversize + 1, "a 4 KiB frame is not one oversize frame");
    release_pair(device, bridge);
}

static ewl_str text_of(const char *chars, size_t length) {
    ewl_str text;
    text.chars = chars;
    text.length = length;
    return text;
}

static uint32_t zero_session(void *user) {
    (void)user;
    return 0;
}

static void check_init_refusals(void) {
    static const ewl_channel BAD_CHANNELS[] = {{EWL_STR("a/b"), EWL_STR(""), EWL_U8}};
    static const ewl_hello BAD_HELLO = {EWL_STR("dev"), EWL_STR("1"), BAD_CHANNELS, 1, NULL, 0};
    end *e = start_end(NULL, 1, NULL);
    ewl_config *c = &e->config;
    c->write = NULL;
    check(ewl_init(&e->link, c, e) == EWL_ERR_BAD_OPTION, "init without a write callback");
    c->write = on_write;
    c->max_packet = EWL_MAX_PACKET + 1;
    check(ewl_init(&e->link, c, e) == EWL_ERR_BAD_OPTION, "init with max_packet over the buffer");
    c->max_packet = EWL_MAX_PACKET;
    c->window = 0;
    check(ewl_init(&e->link, c, e) == EWL_ERR_BAD_OPTION, "init with window 0");
    c->window = 4;
    c->hello = &BAD_HELLO;
    check(ewl_init(&e->link, c, e) == EWL_ERR_BAD_OPTION, "init with a channel named a/b");
    c->hello = &HELLO;
    check(ewl_init(&e->link, c, e) == EWL_ERR_BAD_OPTION, "init with commands and no on_command");
    c->hello = NULL;
    c->new_session = zero_session;
    check(ewl_init(&e->link, c, e) == EWL_ERR_BAD_OPTION, "init with session 0");
}

static void check_value_refusals(ewl_link *link) {
    ewl_value v = ewl_value_unsigned(EWL_U8, 300);
    ewl_value invalid_utf8 = ewl_value_string(ewl_cstr("\xff"));
    ewl_reading reading = {0, {EWL_U8, {0}}};
    ewl_reading twice[2];
    check(ewl_send_event(link, ewl_cstr("n"), &v, NULL) == EWL_ERR_BAD_VALUE, "U8 300 accepted");
    v = ewl_value_signed(EWL_I8, -129);
    check(ewl_send_event(link, ewl_cstr("n"), &v, NULL) == EWL_ERR_BAD_VALUE, "I8 -129 accepted");
    check(ewl_send_event(link, ewl_cstr("n"), &invalid_utf8, NULL) == EWL_ERR_BAD_VALUE, "invalid UTF-8 accepted");
    v = ewl_value_bool(true);
    check(ewl_send_event(link, ewl_cstr(""), &v, NULL) == EWL_ERR_BAD_VALUE, "an empty event name accepted");
    check(ewl_send_event(link, ewl_cstr("a+b"), &v, NULL) == EWL_ERR_BAD_VALUE, "an event name with + accepted");
    check(ewl_send_result(link, 1, (ewl_result_status)9, NULL, NULL) == EWL_ERR_BAD_VALUE, "result status 9 accepted");
    check(ewl_send_log(link, (ewl_log_level)7, ewl_cstr("x"), NULL) == EWL_ERR_BAD_VALUE, "log level 7 accepted");
    check(ewl_send_telemetry(link, &reading, 1) == EWL_ERR_BAD_VALUE, "a reading of the wrong type accepted");
    reading.channel = 5;
    check(ewl_send_telemetry(link, &reading, 1) == EWL_ERR_BAD_VALUE, "a reading of channel 5 accepted");
    twice[0].channel = twice[1].channel = 1;
    twice[0].value = twice[1].value = ewl_value_bool(true);
    check(ewl_send_telemetry(link, twice, 2) == EWL_ERR_BAD_VALUE, "a channel read twice accepted");
    check(ewl_send_reliable(link, EWL_PACKET_CLOSE, NULL, 0, NULL) == EWL_ERR_BAD_KIND, "kind 0x05 accepted");
    check(ewl_queued_messages(link) == 0, "a refused message was queued");
}

/* Refusals say why; the queue's bounds hold with nothing half-queued. */
static void api_bounds(void) {
    static const char LONG_TEXT[EWL_QUEUE_BYTES + 1] = "x";
    end *device, *bridge;
    ewl_value v = ewl_value_bool(true);
    ewl_stats stats;
    check_init_refusals();
    make_pair(&device, &bridge);
    connect(device, bridge);
    check(ewl_send_best_effort(&device->link, EWL_KIND_TELEMETRY, (const uint8_t *)"\0\0\0\0\0", 5) == EWL_DROPPED, "best-effort sent before up");
    ewl_get_stats(&device->link, &stats);
    check(stats.dropped_best_effort == 1, "a dropped best-effort message not counted");
    check_value_refusals(&device->link);
    /* Every slot but the hello's. */
    for (int i = 0; i < EWL_QUEUE_MESSAGES - 1; i++) check(ewl_send_event(&device->link, ewl_cstr("e"), &v, NULL) == EWL_OK, "event %d refused", i);
    check(ewl_send_event(&device->link, ewl_cstr("e"), &v, NULL) == EWL_ERR_QUEUE_FULL, "a full queue took one more");
    check(ewl_queued_messages(&device->link) == EWL_QUEUE_MESSAGES - 1, "the queue holds %zu", ewl_queued_messages(&device->link));
    check(ewl_send_log(&device->link, EWL_LOG_INFO, text_of(LONG_TEXT, sizeof LONG_TEXT), NULL) == EWL_ERR_TOO_BIG, "a log over the queue's bytes");
    release_pair(device, bridge);
}

/* The hello goes before messages queued while down; a peer's small maxMessage bounds what we send; close and reopen. */
static void hello_limits_and_close(void) {
    static const char TEXT[100] = "a log line longer than the bridge takes";
    end *device, *bridge;
    ewl_value v = ewl_value_bool(true);
    make_pair(&device, &bridge);
    bridge->config.max_message = 48; /* the hello is 41 bytes */
    connect(device, bridge);
    check(ewl_send_event(&device->link, ewl_cstr("early"), &v, NULL) == EWL_OK, "an event queued before up refused");
    check(ewl_send_event(&device->link, ewl_cstr("early"), &v, NULL) == EWL_OK, "an event queued before up refused");
    run_for(device, bridge, 200);
    check(bridge->kind_count == 3 && bridge->kinds[0] == EWL_KIND_HELLO && bridge->kinds[1] == EWL_KIND_EVENT && bridge->kinds[2] == EWL_KIND_EVENT,
          "the bridge received kinds %02x %02x %02x (%zu messages)", bridge->kinds[0], bridge->kinds[1], bridge->kinds[2], bridge->kind_count);
    check(ewl_send_log(&device->link, EWL_LOG_INFO, text_of(TEXT, sizeof TEXT), NULL) == EWL_ERR_TOO_BIG, "a log over the peer's maxMessage accepted");
    send_command(bridge, 1);
    run_for(device, bridge, 100);
    check(device->runs[1] == 1 && device->reentrant == EWL_ERR_REENTRANT, "ewl_tick from on_command: %s", ewl_status_text(device->reentrant));

    ewl_close(&device->link, 1);
    check(ewl_send_event(&device->link, ewl_cstr("late"), &v, NULL) == EWL_ERR_CLOSED, "an event accepted while closing");
    run_for(device, bridge, 200);
    check(ewl_get_state(&device->link) == EWL_CLOSED && ewl_get_state(&bridge->link) == EWL_CLOSED && device->closed == 1 && bridge->closed == 1, "the close handshake did not finish");
    ewl_open(&device->link);
    run_for(device, bridge, 200);
    /* hello, 2 events, the command's event and result, then the hello again */
    check(ewl_get_state(&device->link) == EWL_ESTABLISHED && bridge->kind_count == 6 && bridge->kinds[5] == EWL_KIND_HELLO, "no hello after reopening");
    release_pair(device, bridge);
}

int main(void) {
    exactly_once_through_damage();
    arbitrary_input();
    api_bounds();
    hello_limits_and_close();
    release_all();
    printf("%d checks, %d failed\n", check_count(), check_failures());
    return check_failures() == 0 ? 0 : 1;
}
