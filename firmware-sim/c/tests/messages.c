/*
 * messages.json: each value encodes to its body, and each body decodes to its value (§7).
 */
#include "check.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_ENTRIES = 16 };

static ewl_str str_of(const json *v) {
    ewl_str s;
    s.chars = v->string;
    s.length = v->length;
    return s;
}

static bool same_str(ewl_str s, const json *v) {
    return v->kind == JSON_STRING && s.length == v->length && memcmp(s.chars, v->string, s.length) == 0;
}

/* A JSON value in the encoding of `type` ({"hex": ...} for Bytes). */
static ewl_value value_from_json(uint8_t type, const json *v) {
    ewl_value value;
    memset(&value, 0, sizeof value);
    value.type = type;
    switch (type) {
    case EWL_BOOL: value.as.boolean = v->boolean; break;
    case EWL_U8: case EWL_U16: case EWL_U32: value.as.u = (uint32_t)v->number; break;
    case EWL_I8: case EWL_I16: case EWL_I32: value.as.i = (int32_t)v->number; break;
    case EWL_F32: value.as.f32 = (float)v->number; break;
    case EWL_F64: value.as.f64 = v->number; break;
    case EWL_STRING: value.as.string = str_of(v); break;
    case EWL_BYTES: value.as.bytes.data = unhex(json_need(v, "hex")->string, &value.as.bytes.length); break;
    default: break;
    }
    return value;
}

static bool value_is(const ewl_value *value, uint8_t type, const json *v) {
    if (value->type != type) return false;
    switch (type) {
    case EWL_NONE: return v->kind == JSON_NULL;
    case EWL_BOOL: return v->kind == JSON_BOOL && value->as.boolean == v->boolean;
    case EWL_U8: case EWL_U16: case EWL_U32: return v->kind == JSON_NUMBER && (double)value->as.u == v->number;
    case EWL_I8: case EWL_I16: case EWL_I32: return v->kind == JSON_NUMBER && (double)value->as.i == v->number;
    case EWL_F32: return v->kind == JSON_NUMBER && (double)value->as.f32 == v->number;
    case EWL_F64: return v->kind == JSON_NUMBER && value->as.f64 == v->number;
    case EWL_STRING: return same_str(value->as.string, v);
    case EWL_BYTES: return same_hex(value->as.bytes.data, value->as.bytes.length, json_need(v, "hex")->string);
    default: return false;
    }
}

/* An encoder's outcome (status, out, length) against the vector's body. */
static void check_body(ewl_status status, const uint8_t *out, size_t length, const json *vector, const char *what) {
    const char *body = json_need(vector, "body")->string;
    check(status == EWL_OK && same_hex(out, length, body), "messages.json %s: encoded as %s (status %d), expected %s",
          what, status == EWL_OK ? tohex(out, length) : "nothing", (int)status, body);
}

/* ---- hello ----------------------------------------------------------------------------- */

typedef struct hello_storage {
    ewl_hello hello;
    ewl_channel channels[MAX_ENTRIES];
    ewl_command_info commands[MAX_ENTRIES];
} hello_storage;

static void hello_from_json(const json *v, hello_storage *h) {
    const json *channels = json_need(v, "channels"), *commands = json_need(v, "commands");
    memset(h, 0, sizeof *h);
    h->hello.device_id = str_of(json_need(v, "deviceId"));
    h->hello.firmware = str_of(json_need(v, "firmware"));
    for (size_t i = 0; i < channels->count && i < MAX_ENTRIES; i++) {
        h->channels[i].name = str_of(json_need(channels->items[i], "name"));
        h->channels[i].unit = str_of(json_need(channels->items[i], "unit"));
        h->channels[i].type = (uint8_t)json_need(channels->items[i], "type")->number;
    }
    for (size_t i = 0; i < commands->count && i < MAX_ENTRIES; i++) {
        h->commands[i].name = str_of(json_need(commands->items[i], "name"));
        h->commands[i].argument = (uint8_t)json_need(commands->items[i], "argument")->number;
    }
    h->hello.channels = h->channels;
    h->hello.channel_count = channels->count;
    h->hello.commands = h->commands;
    h->hello.command_count = commands->count;
}

static bool hello_is(const ewl_hello *got, const json *v) {
    const json *channels = json_need(v, "channels"), *commands = json_need(v, "commands");
    bool same = same_str(got->device_id, json_need(v, "deviceId")) && same_str(got->firmware, json_need(v, "firmware")) &&
                got->channel_count == channels->count && got->command_count == commands->count;
    for (size_t i = 0; same && i < got->channel_count; i++) {
        const json *c = channels->items[i];
        same = same_str(got->channels[i].name, json_need(c, "name")) && same_str(got->channels[i].unit, json_need(c, "unit")) &&
               got->channels[i].type == json_need(c, "type")->number;
    }
    for (size_t i = 0; same && i < got->command_count; i++) {
        const json *c = commands->items[i];
        same = same_str(got->commands[i].name, json_need(c, "name")) && got->commands[i].argument == json_need(c, "argument")->number;
    }
    return same;
}

static void check_hello(const json *vector, const ewl_hello *hello) {
    uint8_t out[512], *body;
    size_t length, body_length;
    ewl_status status = ewl_encode_hello(hello, out, sizeof out, &length);
    check_body(status, out, length, vector, "hello");
    body = unhex(json_need(vector, "body")->string, &body_length);
    ewl_hello got;
    ewl_channel channels[MAX_ENTRIES];
    ewl_command_info commands[MAX_ENTRIES];
    status = ewl_decode_hello(body, body_length, &got, channels, MAX_ENTRIES, commands, MAX_ENTRIES);
    check(status == EWL_OK && hello_is(&got, json_need(vector, "value")), "messages.json hello: the body does not decode to the value");
}

/* ---- telemetry ------------------------------------------------------------------------- */

static void check_telemetry(const json *vector, const ewl_hello *hello) {
    const json *readings = json_need(vector, "readings"), *record = json_get(vector, "record");
    ewl_reading in[MAX_ENTRIES], got[MAX_ENTRIES];
    uint8_t out[256], *body;
    size_t length, body_length, count;
    for (size_t i = 0; i < readings->count && i < MAX_ENTRIES; i++) {
        in[i].channel = (uint8_t)json_need(readings->items[i], "channel")->number;
        in[i].value = value_from_json(hello->channels[in[i].channel].type, json_need(readings->items[i], "value"));
    }
    ewl_status status = ewl_encode_telemetry(in, readings->count, hello, out, sizeof out, &length);
    check_body(status, out, length, vector, "telemetry");
    body = unhex(json_need(vector, "body")->string, &body_length);
    status = ewl_decode_telemetry(body, body_length, hello, got, MAX_ENTRIES, &count);
    bool same = status == EWL_OK && count == readings->count;
    for (size_t i = 0; same && i < count; i++) {
        const ewl_channel *channel = &hello->channels[got[i].channel];
        same = got[i].channel == json_need(readings->items[i], "channel")->number &&
               value_is(&got[i].value, channel->type, json_need(readings->items[i], "value"));
        /* The record the bridge publishes: readings keyed by the hello's channel names. */
        if (same && record != NULL) {
            char name[256];
            memcpy(name, channel->name.chars, channel->name.length);
            name[channel->name.length] = '\0';
            same = json_get(record, name) != NULL && value_is(&got[i].value, channel->type, json_get(record, name));
        }
    }
    check(same && (record == NULL || record->count == count), "messages.json telemetry %s: does not decode to its readings", tohex(body, body_length));
}

/* ---- event, command, result, log ------------------------------------------------------- */

static void check_event(const json *vector) {
    const json *v = json_need(vector, "value");
    ewl_event_message event, got;
    uint8_t out[256], *body;
    size_t length, body_length;
    event.name = str_of(json_need(v, "name"));
    event.value = value_from_json((uint8_t)json_need(v, "type")->number, json_need(v, "value"));
    ewl_status status = ewl_encode_event(&event, out, sizeof out, &length);
    check_body(status, out, length, vector, v->items[0]->string);
    body = unhex(json_need(vector, "body")->string, &body_length);
    check(ewl_decode_event(body, body_length, &got) == EWL_OK && same_str(got.name, json_need(v, "name")) &&
          value_is(&got.value, (uint8_t)json_need(v, "type")->number, json_need(v, "value")),
          "messages.json event %s: does not decode to its value", v->items[0]->string);
}

static void check_command(const json *vector, const ewl_hello *hello) {
    const json *v = json_need(vector, "value");
    ewl_command command, got;
    uint8_t out[256], *body;
    size_t length, body_length;
    command.id = (uint16_t)json_need(v, "id")->number;
    command.index = (uint8_t)json_need(v, "command")->number;
    uint8_t type = hello->commands[command.index].argument;
    command.argument = value_from_json(type, json_need(v, "argument"));
    ewl_status status = ewl_encode_command(&command, hello, out, sizeof out, &length);
    check_body(status, out, length, vector, "command");
    body = unhex(json_need(vector, "body")->string, &body_length);
    check(ewl_decode_command(body, body_length, hello, &got) == EWL_OK && got.id == command.id && got.index == command.index &&
          value_is(&got.argument, type, json_need(v, "argument")), "messages.json command %u: does not decode to its value", command.id);
}

static void check_result(const json *vector) {
    const json *v = json_need(vector, "value");
    ewl_result result, got;
    uint8_t out[256], *body;
    size_t length, body_length;
    uint8_t type = (uint8_t)json_need(v, "type")->number;
    result.id = (uint16_t)json_need(v, "id")->number;
    result.status = (uint8_t)json_need(v, "status")->number;
    result.value = value_from_json(type, json_need(v, "value"));
    ewl_status status = ewl_encode_result(&result, out, sizeof out, &length);
    check_body(status, out, length, vector, "result");
    body = unhex(json_need(vector, "body")->string, &body_length);
    check(ewl_decode_result(body, body_length, &got) == EWL_OK && got.id == result.id && got.status == result.status &&
          value_is(&got.value, type, json_need(v, "value")), "messages.json result %u: does not decode to its value", result.id);
}

static void check_log(const json *vector) {
    const json *v = json_need(vector, "value");
    ewl_log_line line, got;
    uint8_t out[256], *body;
    size_t length, body_length;
    line.level = (uint8_t)json_need(v, "level")->number;
    line.text = str_of(json_need(v, "text"));
    ewl_status status = ewl_encode_log(&line, out, sizeof out, &length);
    check_body(status, out, length, vector, "log");
    body = unhex(json_need(vector, "body")->string, &body_length);
    check(ewl_decode_log(body, body_length, &got) == EWL_OK && got.level == line.level && same_str(got.text, json_need(v, "text")),
          "messages.json log \"%s\": does not decode to its value", line.text.chars);
}

void check_messages(const char *dir) {
    const json *vectors = load_vectors(dir, "messages.json");
    const json *hello = json_need(vectors, "hello"), *list;
    hello_storage *greenhouse = keep(malloc(sizeof *greenhouse));
    hello_from_json(json_need(hello, "value"), greenhouse);
    check_hello(hello, &greenhouse->hello);
    list = json_need(vectors, "telemetry");
    for (size_t i = 0; i < list->count; i++) check_telemetry(list->items[i], &greenhouse->hello);
    list = json_need(vectors, "events");
    for (size_t i = 0; i < list->count; i++) check_event(list->items[i]);
    list = json_need(vectors, "commands");
    for (size_t i = 0; i < list->count; i++) check_command(list->items[i], &greenhouse->hello);
    list = json_need(vectors, "results");
    for (size_t i = 0; i < list->count; i++) check_result(list->items[i]);
    list = json_need(vectors, "logs");
    for (size_t i = 0; i < list->count; i++) check_log(list->items[i]);
}
