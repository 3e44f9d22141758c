/*
 * The bodies of the six message kinds (docs/link-protocol.md §7.2), byte for byte as
 * src/link/messages.ts writes and reads them, with the same checks.
 */
#include "ewl_internal.h"

/* ---- Shared checks --------------------------------------------------------------------- */

/* "names are non-empty, contain no "/", "+", "#" or control characters (they become MQTT topic
 * levels and JSON keys)". Every byte of a multi-byte UTF-8 sequence is >= 0x80, so a byte test is exact. */
static bool good_name(ewl_str name) {
    if (name.length == 0) return false;
    for (size_t i = 0; i < name.length; i++) {
        uint8_t c = (uint8_t)name.chars[i];
        if (c < 0x20 || c == '/' || c == '+' || c == '#') return false;
    }
    return true;
}

static bool same_str(ewl_str a, ewl_str b) {
    return a.length == b.length && ewl_same(a.chars, b.chars, a.length);
}

typedef ewl_str (*name_fn)(const void *list, size_t i);

static ewl_str channel_name(const void *list, size_t i) {
    return ((const ewl_channel *)list)[i].name;
}

static ewl_str command_name(const void *list, size_t i) {
    return ((const ewl_command_info *)list)[i].name;
}

/* Every name of the list good, and "unique within their list". */
static bool good_names(const void *list, size_t count, name_fn name_of) {
    for (size_t i = 0; i < count; i++) {
        if (!good_name(name_of(list, i))) return false;
        for (size_t k = 0; k < i; k++)
            if (same_str(name_of(list, i), name_of(list, k))) return false;
    }
    return true;
}

static bool good_type(uint8_t type) {
    return type <= EWL_BYTES;
}

/* ---- hello: str deviceId · str firmware · u8 n · n × (str name · str unit · u8 type) · u8 m · m × (str name · u8 argumentType) */

enum { MAX_ENTRIES = 255 }; /* channel and command counts are one byte */

static bool good_hello(const ewl_hello *h) {
    if (!good_name(h->device_id) || h->channel_count > MAX_ENTRIES || h->command_count > MAX_ENTRIES) return false;
    if (!good_names(h->channels, h->channel_count, channel_name) || !good_names(h->commands, h->command_count, command_name)) return false;
    for (size_t i = 0; i < h->channel_count; i++)
        if (h->channels[i].type == EWL_NONE || !good_type(h->channels[i].type)) return false;
    for (size_t i = 0; i < h->command_count; i++)
        if (!good_type(h->commands[i].argument)) return false;
    return true;
}

static void write_hello(ewl_writer *w, const void *message) {
    const ewl_hello *h = message;
    if (!good_hello(h)) {
        ewl_writer_fail(w, EWL_ERR_BAD_VALUE);
        return;
    }
    ewl_write_str8(w, h->device_id);
    ewl_write_str8(w, h->firmware);
    ewl_write_u8(w, (uint8_t)h->channel_count);
    for (size_t i = 0; i < h->channel_count; i++) {
        ewl_write_str8(w, h->channels[i].name);
        ewl_write_str8(w, h->channels[i].unit);
        ewl_write_u8(w, h->channels[i].type);
    }
    ewl_write_u8(w, (uint8_t)h->command_count);
    for (size_t i = 0; i < h->command_count; i++) {
        ewl_write_str8(w, h->commands[i].name);
        ewl_write_u8(w, h->commands[i].argument);
    }
}

ewl_status ewl_encode_hello(const ewl_hello *hello, uint8_t *out, size_t capacity, size_t *length) {
    ewl_writer w;
    ewl_writer_init(&w, out, capacity);
    write_hello(&w, hello);
    return ewl_writer_finish(&w, length);
}

ewl_status ewl_decode_hello(const uint8_t *body, size_t length, ewl_hello *out,
                            ewl_channel *channels, size_t max_channels, ewl_command_info *commands, size_t max_commands) {
    ewl_reader r;
    ewl_reader_init(&r, body, length);
    out->device_id = ewl_read_str8(&r);
    out->firmware = ewl_read_str8(&r);
    out->channel_count = ewl_read_u8(&r);
    if (out->channel_count > max_channels) return EWL_ERR_TOO_BIG;
    for (size_t i = 0; i < out->channel_count; i++) {
        channels[i].name = ewl_read_str8(&r);
        channels[i].unit = ewl_read_str8(&r);
        channels[i].type = ewl_read_type(&r, false);
    }
    out->command_count = ewl_read_u8(&r);
    if (out->command_count > max_commands) return EWL_ERR_TOO_BIG;
    for (size_t i = 0; i < out->command_count; i++) {
        commands[i].name = ewl_read_str8(&r);
        commands[i].argument = ewl_read_type(&r, true);
    }
    out->channels = channels;
    out->commands = commands;
    ewl_status status = ewl_reader_finish(&r);
    return status == EWL_OK && !good_hello(out) ? EWL_ERR_MALFORMED : status;
}

/* ---- telemetry: (u8 channel · value in the channel's type)*, to the end of the body ------ */

typedef struct telemetry {
    const ewl_reading *readings;
    size_t count;
    const ewl_hello *hello;
} telemetry;

static void write_telemetry(ewl_writer *w, const void *message) {
    const telemetry *t = message;
    uint8_t seen[MAX_ENTRIES / 8 + 1] = {0};
    for (size_t i = 0; i < t->count; i++) {
        uint8_t channel = t->readings[i].channel;
        /* A reading of an undeclared channel, in another type, or twice: the bridge would refuse the message. */
        if (channel >= t->hello->channel_count || t->readings[i].value.type != t->hello->channels[channel].type ||
            (seen[channel / 8] & (1u << (channel % 8)))) {
            ewl_writer_fail(w, EWL_ERR_BAD_VALUE);
            return;
        }
        seen[channel / 8] |= (uint8_t)(1u << (channel % 8));
        ewl_write_u8(w, channel);
        ewl_write_value(w, &t->readings[i].value);
    }
}

ewl_status ewl_encode_telemetry(const ewl_reading *readings, size_t count, const ewl_hello *hello, uint8_t *out, size_t capacity, size_t *length) {
    telemetry t = {readings, count, hello};
    ewl_writer w;
    ewl_writer_init(&w, out, capacity);
    write_telemetry(&w, &t);
    return ewl_writer_finish(&w, length);
}

ewl_status ewl_decode_telemetry(const uint8_t *body, size_t length, const ewl_hello *hello,
                                ewl_reading *readings, size_t max_readings, size_t *count) {
    ewl_reader r;
    uint8_t seen[MAX_ENTRIES / 8 + 1] = {0};
    ewl_reader_init(&r, body, length);
    *count = 0;
    while (r.left > 0 && !r.failed) {
        uint8_t channel = ewl_read_u8(&r);
        /* "a channel appears at most once per message" */
        if (channel >= hello->channel_count || (seen[channel / 8] & (1u << (channel % 8)))) return EWL_ERR_MALFORMED;
        if (*count == max_readings) return EWL_ERR_TOO_BIG;
        seen[channel / 8] |= (uint8_t)(1u << (channel % 8));
        readings[*count].channel = channel;
        ewl_read_value(&r, hello->channels[channel].type, &readings[*count].value);
        (*count)++;
    }
    return ewl_reader_finish(&r);
}

/* ---- event: str name · u8 type · value --------------------------------------------------- */

static void write_event(ewl_writer *w, const void *message) {
    const ewl_event_message *e = message;
    if (!good_name(e->name) || !good_type(e->value.type)) {
        ewl_writer_fail(w, EWL_ERR_BAD_VALUE);
        return;
    }
    ewl_write_str8(w, e->name);
    ewl_write_u8(w, e->value.type);
    ewl_write_value(w, &e->value);
}

ewl_status ewl_encode_event(const ewl_event_message *event, uint8_t *out, size_t capacity, size_t *length) {
    ewl_writer w;
    ewl_writer_init(&w, out, capacity);
    write_event(&w, event);
    return ewl_writer_finish(&w, length);
}

ewl_status ewl_decode_event(const uint8_t *body, size_t length, ewl_event_message *out) {
    ewl_reader r;
    ewl_reader_init(&r, body, length);
    out->name = ewl_read_str8(&r);
    ewl_read_value(&r, ewl_read_type(&r, true), &out->value);
    ewl_status status = ewl_reader_finish(&r);
    return status == EWL_OK && !good_name(out->name) ? EWL_ERR_MALFORMED : status;
}

/* ---- command: u16 id · u8 command · argument in the command's type ----------------------- */

ewl_status ewl_encode_command(const ewl_command *command, const ewl_hello *hello, uint8_t *out, size_t capacity, size_t *length) {
    ewl_writer w;
    ewl_writer_init(&w, out, capacity);
    if (command->index >= hello->command_count || command->argument.type != hello->commands[command->index].argument) {
        return EWL_ERR_BAD_VALUE;
    }
    ewl_write_u16(&w, command->id);
    ewl_write_u8(&w, command->index);
    ewl_write_value(&w, &command->argument);
    return ewl_writer_finish(&w, length);
}

ewl_status ewl_decode_command(const uint8_t *body, size_t length, const ewl_hello *hello, ewl_command *out) {
    ewl_reader r;
    ewl_reader_init(&r, body, length);
    out->id = ewl_read_u16(&r);
    out->index = ewl_read_u8(&r);
    if (r.failed || out->index >= hello->command_count) return EWL_ERR_MALFORMED;
    ewl_read_value(&r, hello->commands[out->index].argument, &out->argument);
    return ewl_reader_finish(&r);
}

/* ---- result: u16 id · u8 status · u8 type · value ---------------------------------------- */

static void write_result(ewl_writer *w, const void *message) {
    const ewl_result *res = message;
    if (res->status > EWL_RESULT_BUSY || !good_type(res->value.type)) {
        ewl_writer_fail(w, EWL_ERR_BAD_VALUE);
        return;
    }
    ewl_write_u16(w, res->id);
    ewl_write_u8(w, res->status);
    ewl_write_u8(w, res->value.type);
    ewl_write_value(w, &res->value);
}

ewl_status ewl_encode_result(const ewl_result *result, uint8_t *out, size_t capacity, size_t *length) {
    ewl_writer w;
    ewl_writer_init(&w, out, capacity);
    write_result(&w, result);
    return ewl_writer_finish(&w, length);
}

ewl_status ewl_decode_result(const uint8_t *body, size_t length, ewl_result *out) {
    ewl_reader r;
    ewl_reader_init(&r, body, length);
    out->id = ewl_read_u16(&r);
    out->status = ewl_read_u8(&r);
    /* "status: 0 ok, 1 unknown command, 2 bad argument, 3 failed, 4 busy" */
    if (out->status > EWL_RESULT_BUSY) return EWL_ERR_MALFORMED;
    ewl_read_value(&r, ewl_read_type(&r, true), &out->value);
    return ewl_reader_finish(&r);
}

/* ---- log: u8 level · UTF-8 text to the end of the body ----------------------------------- */

static void write_log(ewl_writer *w, const void *message) {
    const ewl_log_line *line = message;
    if (line->level > EWL_LOG_DEBUG || !ewl_valid_utf8((const uint8_t *)line->text.chars, line->text.length)) {
        ewl_writer_fail(w, EWL_ERR_BAD_VALUE);
        return;
    }
    ewl_write_u8(w, line->level);
    ewl_write_bytes(w, line->text.chars, line->text.length);
}

ewl_status ewl_encode_log(const ewl_log_line *line, uint8_t *out, size_t capacity, size_t *length) {
    ewl_writer w;
    ewl_writer_init(&w, out, capacity);
    write_log(&w, line);
    return ewl_writer_finish(&w, length);
}

ewl_status ewl_decode_log(const uint8_t *body, size_t length, ewl_log_line *out) {
    if (length < 1 || body[0] > EWL_LOG_DEBUG) return EWL_ERR_MALFORMED;
    out->level = body[0];
    out->text.chars = (const char *)body + 1;
    out->text.length = length - 1;
    return ewl_valid_utf8(body + 1, length - 1) ? EWL_OK : EWL_ERR_MALFORMED;
}

/* ---- The link's senders ---------------------------------------------------------------- */

ewl_status ewl_send_telemetry(ewl_link *link, const ewl_reading *readings, size_t count) {
    uint8_t body[EWL_MAX_TELEMETRY];
    size_t length;
    if (link->config->hello == NULL) return EWL_ERR_BAD_VALUE; /* readings name channels of the hello */
    ewl_status status = ewl_encode_telemetry(readings, count, link->config->hello, body, sizeof body, &length);
    return status == EWL_OK ? ewl_send_best_effort(link, EWL_KIND_TELEMETRY, body, length) : status;
}

ewl_status ewl_send_event(ewl_link *link, ewl_str name, const ewl_value *value, uint16_t *id) {
    ewl_event_message event;
    event.name = name;
    event.value = *value;
    return ewl_enqueue_encoded(link, EWL_KIND_EVENT, write_event, &event, id);
}

ewl_status ewl_send_log(ewl_link *link, ewl_log_level level, ewl_str text, uint16_t *id) {
    ewl_log_line line;
    line.level = (uint8_t)level;
    line.text = text;
    return ewl_enqueue_encoded(link, EWL_KIND_LOG, write_log, &line, id);
}

ewl_status ewl_send_result(ewl_link *link, uint16_t command_id, ewl_result_status status, const ewl_value *value, uint16_t *id) {
    ewl_result result;
    result.id = command_id;
    result.status = (uint8_t)status;
    if (value != NULL) result.value = *value;
    else {
        ewl_zero(&result.value, sizeof result.value);
        result.value.type = EWL_NONE;
    }
    return ewl_enqueue_encoded(link, EWL_KIND_RESULT, write_result, &result, id);
}

/* The hello, encoded into the queue when the link comes up (ewl_queue_hello). */
void ewl_write_hello(ewl_writer *w, const ewl_hello *hello) {
    write_hello(w, hello);
}
