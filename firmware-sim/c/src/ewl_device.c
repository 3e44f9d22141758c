/*
 * The device's side of the messages: reliable messages encoded straight into the queue (no
 * intermediate buffer), and commands from the bridge decoded with the hello and answered
 * when they can't be run (§7.2: status 1 unknown command, 2 bad argument).
 */
#include "ewl_internal.h"

ewl_status ewl_enqueue_encoded(ewl_link *link, uint8_t kind, ewl_encode_fn encode, const void *message, uint16_t *id) {
    ewl_writer w;
    size_t length;
    ewl_status status = ewl_check_sendable(link, kind);
    if (status != EWL_OK) return status;
    /* A first pass only measures, so that nothing is queued unless all of it fits. */
    ewl_writer_init(&w, NULL, 0);
    encode(&w, message);
    status = ewl_writer_finish(&w, &length);
    if (status == EWL_OK) status = ewl_fits_peer(link, length);
    if (status == EWL_OK) status = ewl_queue_room(link, length, false);
    if (status != EWL_OK) return status;
    ewl_run_begin(link);
    ewl_writer_init(&w, ewl_queue_append(link, kind, length, id), length);
    encode(&w, message);
    link->stats.messages_out++;
    ewl_run_end(link);
    return EWL_OK;
}

typedef struct raw_body {
    const uint8_t *bytes;
    size_t length;
} raw_body;

static void write_raw(ewl_writer *w, const void *message) {
    const raw_body *body = message;
    ewl_write_bytes(w, body->bytes, body->length);
}

ewl_status ewl_send_reliable(ewl_link *link, uint8_t kind, const uint8_t *body, size_t length, uint16_t *id) {
    raw_body raw;
    raw.bytes = body;
    raw.length = length;
    return ewl_enqueue_encoded(link, kind, write_raw, &raw, id);
}

static void on_command_message(ewl_link *link, const uint8_t *body, size_t length) {
    const ewl_hello *hello = link->config->hello;
    ewl_command command;
    if (length < 2) {
        ewl_emit_error(link, EWL_ERR_MALFORMED, 0); /* not even an id to answer */
        return;
    }
    if (ewl_decode_command(body, length, hello, &command) == EWL_OK) {
        link->config->on_command(link->user, &command);
        return;
    }
    uint16_t id = (uint16_t)(body[0] | body[1] << 8);
    bool unknown = length >= 3 && body[2] >= hello->command_count;
    ewl_status status = ewl_send_result(link, id, unknown ? EWL_RESULT_UNKNOWN_COMMAND : EWL_RESULT_BAD_ARGUMENT, NULL, NULL);
    if (status != EWL_OK) ewl_emit_error(link, status, 0);
}

void ewl_deliver(ewl_link *link, uint8_t kind, const uint8_t *body, size_t length, bool reliable) {
    link->stats.messages_in++;
    if (kind == EWL_KIND_COMMAND && link->config->hello != NULL) on_command_message(link, body, length);
    else if (link->config->on_message != NULL) link->config->on_message(link->user, kind, body, length, reliable);
}
