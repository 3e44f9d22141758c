/*
 * sessions.json: scripted exchanges between two ends with fixed sessions. The C library plays
 * one end alone against the other end's recorded writes, as test/link/vectors.test.ts does
 * with the TypeScript one, and must write the recorded bytes and report the recorded events,
 * step by step. It plays both ends in turn: the device (a: maxPacket 64, maxMessage 512,
 * window 1) and the bridge (b: the defaults).
 */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if EWL_MAX_PACKET < 256 || EWL_MAX_MESSAGE < 4096 || EWL_QUEUE_BYTES < 1024
#error "play the bridge's end too: build with -DEWL_MAX_PACKET=256 -DEWL_MAX_MESSAGE=4096 -DEWL_QUEUE_BYTES=4096"
#endif

typedef struct end {
    ewl_link link;
    ewl_config config;
    const char *name;
    uint32_t time, session;
    buffer written;
    char events[16][1200];
    size_t event_count;
} end;

static void on_write(void *user, const uint8_t *bytes, size_t length) {
    buffer_append(&((end *)user)->written, bytes, length);
}

static uint32_t on_millis(void *user) {
    return ((end *)user)->time;
}

static uint32_t on_new_session(void *user) {
    return ((end *)user)->session;
}

static char *next_event(end *e) {
    if (e->event_count == sizeof e->events / sizeof e->events[0]) e->event_count--; /* too many: the count check fails */
    return e->events[e->event_count++];
}

static void on_message(void *user, uint8_t kind, const uint8_t *body, size_t length, bool reliable) {
    end *e = user;
    snprintf(next_event(e), sizeof e->events[0], "%s message %u %s %s", e->name, kind, reliable ? "reliable" : "best-effort", tohex(body, length));
}

static const char *error_code(ewl_status status) {
    switch (status) {
    case EWL_ERR_TOO_BIG: return "LINK_MESSAGE_TOO_BIG";
    case EWL_ERR_PEER_TOO_BIG: return "LINK_PEER_MESSAGE_TOO_BIG";
    case EWL_ERR_PEER_BAD_FRAGMENT: return "LINK_PEER_BAD_FRAGMENT";
    default: return ewl_status_text(status);
    }
}

/* The events in the words of src/link (test/link/vectors.ts). */
static void on_event(void *user, const ewl_event *event) {
    static const char *const DOWN[] = {"", "dead-peer", "no-ack", "peer-restart"};
    end *e = user;
    char *line = next_event(e);
    size_t size = sizeof e->events[0];
    switch (event->type) {
    case EWL_EVENT_UP: snprintf(line, size, "%s up", e->name); break;
    case EWL_EVENT_DOWN: snprintf(line, size, "%s down %s", e->name, DOWN[event->down_reason]); break;
    case EWL_EVENT_DELIVERED: snprintf(line, size, "%s delivered %u", e->name, event->message_id); break;
    case EWL_EVENT_CLOSED: snprintf(line, size, "%s closed %u %s", e->name, event->close_reason, event->by_peer ? "by peer" : "by us"); break;
    case EWL_EVENT_ERROR: snprintf(line, size, "%s error %s", e->name, error_code(event->error)); break;
    }
}

/* The end with the transcript's options; the spec's defaults (§5.5) for the others. */
static void start(end *e, const json *options) {
    const json *max_packet = json_get(options, "maxPacket"), *max_message = json_get(options, "maxMessage"), *window = json_get(options, "window");
    ewl_config_defaults(&e->config);
    e->config.write = on_write;
    e->config.millis = on_millis;
    e->config.new_session = on_new_session;
    e->config.on_event = on_event;
    e->config.on_message = on_message;
    e->config.max_packet = max_packet ? (uint16_t)max_packet->number : 256;
    e->config.max_message = max_message ? (uint16_t)max_message->number : 4096;
    e->config.window = window ? (uint8_t)window->number : 4;
    check(ewl_init(&e->link, &e->config, e) == EWL_OK, "sessions.json: %s does not start", e->name);
}

static bool is(const json *action, const char *key, const char *me) {
    const json *v = json_get(action, key);
    return v != NULL && v->kind == JSON_STRING && strcmp(v->string, me) == 0;
}

/* The recorded events of `me` in this step, against what the C end reported. */
static void check_events(const end *e, const json *recorded, const char *where) {
    size_t mine = 0, prefix = strlen(e->name);
    for (size_t i = 0; i < recorded->count; i++) {
        const char *event = recorded->items[i]->string;
        if (strncmp(event, e->name, prefix) != 0 || event[prefix] != ' ') continue;
        check(mine < e->event_count && strcmp(e->events[mine], event) == 0, "%s: event \"%s\", got \"%s\"", where, event,
              mine < e->event_count ? e->events[mine] : "none");
        mine++;
    }
    check(mine == e->event_count, "%s: %zu events, expected %zu", where, e->event_count, mine);
}

static void replay(const json *transcript, const char *me, const char *other) {
    const json *steps = json_need(transcript, "steps");
    const json *incoming[64];
    size_t queued = 0, first = 0;
    end *e = keep(calloc(1, sizeof *e));
    e->name = me;
    e->session = (uint32_t)json_need(json_need(transcript, me), "session")->number;
    start(e, json_need(transcript, me));
    for (size_t i = 0; i < steps->count; i++) {
        const json *step = steps->items[i], *action = json_need(step, "action"), *writes = json_need(step, "writes");
        char where[200];
        snprintf(where, sizeof where, "sessions.json %s, step %zu, playing %s", json_need(transcript, "name")->string, i, me);
        e->time = (uint32_t)json_need(step, "t")->number;
        e->event_count = 0;
        buffer_clear(&e->written);
        if (is(action, "tick", me)) ewl_tick(&e->link);
        else if (is(action, "send", me)) {
            size_t length;
            const uint8_t *body = unhex(json_need(action, "body")->string, &length);
            uint8_t kind = (uint8_t)json_need(action, "kind")->number;
            ewl_status status = json_need(action, "reliable")->boolean ? ewl_send_reliable(&e->link, kind, body, length, NULL)
                                                                       : ewl_send_best_effort(&e->link, kind, body, length);
            check(status == EWL_OK, "%s: send refused (%s)", where, ewl_status_text(status));
        } else if (is(action, "deliver", other) || is(action, "lose", other)) {
            size_t length;
            const uint8_t *bytes = unhex(first < queued ? incoming[first]->string : "", &length);
            first++;
            if (is(action, "deliver", other)) ewl_receive(&e->link, bytes, length);
        } else if (is(action, "restart", me)) {
            e->session = (uint32_t)json_need(action, "session")->number;
            start(e, json_need(transcript, me));
        } else if (is(action, "close", me)) ewl_close(&e->link, (uint8_t)json_need(action, "reason")->number);
        const json *theirs = json_get(writes, other), *mine = json_get(writes, me);
        if (theirs != NULL && queued < 64) incoming[queued++] = theirs;
        check(mine != NULL ? same_hex(e->written.data, e->written.length, mine->string) : e->written.length == 0,
              "%s: wrote %s, expected %s", where, tohex(e->written.data, e->written.length), mine != NULL ? mine->string : "nothing");
        check_events(e, json_need(step, "events"), where);
    }
    buffer_clear(&e->written);
}

void check_sessions(const char *dir) {
    const json *transcripts = load_vectors(dir, "sessions.json");
    for (size_t i = 0; i < transcripts->count; i++) {
        replay(transcripts->items[i], "a", "b");
        replay(transcripts->items[i], "b", "a");
    }
}
