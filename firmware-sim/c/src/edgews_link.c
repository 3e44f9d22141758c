/*
 * Layer 3 of the link (docs/link-protocol.md §5): one end's session, sans-I/O, a port of
 * src/link/session.ts held to the same transcripts (firmware-sim/vectors/sessions.json).
 * Bytes from the UART go into ewl_receive/ewl_poll, bytes for it leave through the write
 * callback, time comes from the millis callback; every call into the link runs the timers
 * that are due and ends with one burst of packets.
 */
#include "ewl_internal.h"

/* ---- Clock --------------------------------------------------------------------------- */

/* Milliseconds from `now` until `at` (0 when due). */
static uint32_t until(uint32_t now, uint32_t at) {
    return ewl_due(now, at) ? 0 : at - now;
}

/* ---- Configuration --------------------------------------------------------------------- */

static const ewl_config NO_CALLBACKS;

void ewl_config_defaults(ewl_config *config) {
    *config = NO_CALLBACKS;
    config->max_packet = EWL_MAX_PACKET;
    config->max_message = EWL_MAX_MESSAGE;
    config->window = 4;
    config->max_retransmits = 6;
    config->retransmit_timeout = 500;
    config->max_retransmit_timeout = 4000;
    config->sync_interval = 1000;
    config->ping_interval = 5000;
    config->dead_peer_timeout = 15000;
    config->close_timeout = 5000;
    config->command_answers = 2;
    config->command_answer_bytes = 64;
}

/* 2^31 ms: beyond, modular comparisons would turn around. */
#define MAX_TIMER 0x80000000u

static bool check_config(const ewl_config *c) {
    if (c->write == NULL || c->millis == NULL || c->new_session == NULL) return false;
    if (c->max_packet < EWL_MIN_MAX_PACKET || c->max_packet > EWL_MAX_PACKET) return false;
    if (c->max_message < 1 || c->max_message > EWL_MAX_MESSAGE) return false;
    if (c->window < 1 || c->window > 127 || c->max_retransmits > 1000) return false;
    if (c->retransmit_timeout < 1 || c->max_retransmit_timeout < 1 || c->sync_interval < 1 || c->close_timeout < 1) return false;
    return c->retransmit_timeout <= MAX_TIMER && c->max_retransmit_timeout <= MAX_TIMER && c->sync_interval <= MAX_TIMER &&
           c->close_timeout <= MAX_TIMER && c->ping_interval <= MAX_TIMER && c->dead_peer_timeout <= MAX_TIMER;
}

/* The hello must encode, leave room in the queue for one other message, and its commands need a handler. */
static bool check_hello(ewl_link *link) {
    const ewl_hello *hello = link->config->hello;
    size_t length;
    if (hello == NULL) return true;
    if (ewl_encode_hello(hello, NULL, 0, &length) != EWL_OK || length > EWL_QUEUE_BYTES || EWL_QUEUE_MESSAGES < 2) return false;
    if (hello->command_count > 0 && link->config->on_command == NULL) return false;
    /* Room for a command's answers besides the hello's, or no command could ever be taken. */
    if (link->config->command_answers > EWL_QUEUE_MESSAGES - 1 || link->config->command_answer_bytes > EWL_QUEUE_BYTES - length) return false;
    link->hello_length = (uint16_t)length;
    return true;
}

static void on_packet(void *context, const uint8_t *bytes, size_t length);

/* A new session mid-run: nonzero and not the current one, whatever the callback returns. */
static uint32_t draw_session(ewl_link *link) {
    uint32_t session = link->config->new_session(link->user);
    if (session == 0 || session == link->session) session = link->session + 1 == 0 ? 1 : link->session + 1;
    return session;
}

ewl_status ewl_init(ewl_link *link, const ewl_config *config, void *user) {
    ewl_zero(link, sizeof *link);
    link->config = config;
    link->user = user;
    if (!check_config(config) || !check_hello(link)) return EWL_ERR_BAD_OPTION;
    link->now = config->millis(user);
    link->session = config->new_session(user);
    if (link->session == 0) return EWL_ERR_BAD_OPTION;
    ewl_frame_decoder_init(&link->decoder, link->packet, config->max_packet, &link->stats.frames, on_packet, link);
    ewl_sender_reset(link);
    if (config->load_state != NULL && !config->load_state(user, &link->receive)) ewl_zero(&link->receive, sizeof link->receive);
    /* The first SYNC goes with the first call that runs the timers. */
    link->sync_at = link->now;
    return EWL_OK;
}

/* ---- Output: packets streamed through a small staging buffer ---------------------------- */

static void flush(ewl_link *link) {
    if (link->out_length == 0) return;
    link->config->write(link->user, link->out, link->out_length);
    link->out_length = 0;
}

static void put(void *context, uint8_t byte) {
    ewl_link *link = context;
    link->out[link->out_length++] = byte;
    if (link->out_length == EWL_WRITE_CHUNK) flush(link);
}

/* "It rides in the ACK byte of the next packet the receiver sends anyway (not a SYNC)." */
static void emit(ewl_link *link, ewl_packet *packet) {
    if (link->ack_owed && packet->type != EWL_PACKET_SYNC) {
        packet->has_ack = true;
        packet->ack = link->receive.expected_seq;
        link->ack_owed = false;
    }
    /* "A sender must start every write to the port (every burst of packets) with a delimiter." */
    if (!link->burst_started) {
        put(link, EWL_DELIMITER);
        link->burst_started = true;
    }
    ewl_encode_frame(packet, put, link);
}

/* A packet without seq or fragment: the link's own, or a best-effort message. */
static void emit_unnumbered(ewl_link *link, uint8_t type, const uint8_t *body, size_t length) {
    ewl_packet packet;
    ewl_zero(&packet, sizeof packet);
    packet.type = type;
    packet.body = body;
    packet.body_length = length;
    emit(link, &packet);
}

void ewl_emit_event(ewl_link *link, const ewl_event *event) {
    if (link->config->on_event != NULL) link->config->on_event(link->user, event);
}

static void emit_simple_event(ewl_link *link, ewl_event_type type) {
    ewl_event event;
    ewl_zero(&event, sizeof event);
    event.type = type;
    ewl_emit_event(link, &event);
}

void ewl_emit_error(ewl_link *link, ewl_status error, uint16_t message_id) {
    ewl_event event;
    ewl_zero(&event, sizeof event);
    event.type = EWL_EVENT_ERROR;
    event.error = error;
    event.message_id = message_id;
    ewl_emit_event(link, &event);
}

/* ---- Session state changes ------------------------------------------------------------- */

static void send_sync(ewl_link *link) {
    const ewl_config *c = link->config;
    ewl_sync sync;
    uint8_t body[EWL_SYNC_BODY];
    link->sync_at = link->now + c->sync_interval;
    link->stats.syncs++;
    sync.session = link->session;
    sync.peer_session = link->receive.peer_session;
    sync.max_packet = c->max_packet;
    sync.max_message = c->max_message;
    sync.resume_seq = ewl_sender_resume_seq(link);
    sync.expected_seq = link->receive.expected_seq;
    sync.established = link->established;
    ewl_encode_sync(&sync, body);
    emit_unnumbered(link, EWL_PACKET_SYNC, body, sizeof body);
}

static void up(ewl_link *link) {
    link->established = true;
    link->ping_at = link->now;
    /* "a device sends it as its first reliable message after every `up`" */
    if (link->config->hello != NULL) ewl_queue_hello(link);
    emit_simple_event(link, EWL_EVENT_UP);
}

static void down(ewl_link *link, ewl_down_reason reason) {
    ewl_event event;
    if (!link->established) return;
    link->established = false;
    ewl_sender_pause(link);
    link->sync_at = link->now;
    ewl_zero(&event, sizeof event);
    event.type = EWL_EVENT_DOWN;
    event.down_reason = reason;
    ewl_emit_event(link, &event);
}

static void reopen(ewl_link *link) {
    link->phase = EWL_PHASE_OPEN;
    link->established = false;
    link->sync_at = link->now;
}

static void to_closed(ewl_link *link, bool by_peer, uint8_t peer_reason) {
    ewl_event event;
    link->phase = EWL_PHASE_CLOSED;
    link->closed_by_peer = by_peer;
    link->close_sent = false;
    ewl_sender_pause(link);
    ewl_zero(&event, sizeof event);
    event.type = EWL_EVENT_CLOSED;
    event.close_reason = by_peer ? peer_reason : link->close_reason;
    event.by_peer = by_peer;
    ewl_emit_event(link, &event);
}

/* ---- Timers (§5.3, §5.4, §6.2) ------------------------------------------------------------ */

static void liveness(ewl_link *link) {
    const ewl_config *c = link->config;
    uint32_t silence = link->now - link->heard_at;
    if (c->dead_peer_timeout > 0 && silence >= c->dead_peer_timeout) down(link, EWL_DOWN_DEAD_PEER);
    else if (c->ping_interval > 0 && silence >= c->ping_interval && ewl_due(link->now, link->ping_at)) {
        /* "send a PING, and again every pingInterval while silence lasts" */
        link->ping_at = link->now + c->ping_interval;
        emit_unnumbered(link, EWL_PACKET_PING, NULL, 0);
    }
}

/* A CLOSE may go once the peer is there and has acknowledged everything we queued. */
static bool can_send_close(const ewl_link *link) {
    return link->established && link->queue_count == 0;
}

static void closing(ewl_link *link) {
    if (ewl_due(link->now, link->close_by)) to_closed(link, false, 0);
    else if (can_send_close(link) && (!link->close_sent || link->now - link->close_sent_at >= link->config->retransmit_timeout)) {
        /* "it sends CLOSE(reason), repeated every retransmitTimeout until the peer's CLOSE arrives" */
        link->close_sent = true;
        link->close_sent_at = link->now;
        emit_unnumbered(link, EWL_PACKET_CLOSE, &link->close_reason, 1);
    }
}

static void timers(ewl_link *link) {
    if (link->phase == EWL_PHASE_CLOSED) return;
    if (ewl_sender_timer(link)) down(link, EWL_DOWN_NO_ACK);
    if (!link->established) {
        if (ewl_due(link->now, link->sync_at)) send_sync(link);
    } else liveness(link);
    if (link->phase == EWL_PHASE_CLOSING) closing(link);
}

/* Reliable packets the window allows, then an ACK if one is still owed (one per batch). */
static void pump(ewl_link *link) {
    if (link->established && link->phase != EWL_PHASE_CLOSED) {
        ewl_packet packet;
        while (ewl_sender_next(link, &packet)) emit(link, &packet);
    }
    if (link->ack_owed) emit_unnumbered(link, EWL_PACKET_ACK, NULL, 0);
}

void ewl_run_begin(ewl_link *link) {
    if (link->depth++ == 0) link->now = link->config->millis(link->user);
}

void ewl_run_end(ewl_link *link) {
    if (link->depth == 1) {
        timers(link);
        pump(link);
    }
    if (--link->depth == 0) {
        flush(link);
        link->burst_started = false;
    }
}

uint32_t ewl_ms_until_next(const ewl_link *link) {
    const ewl_config *c = link->config;
    uint32_t now = link->config->millis(link->user), next = UINT32_MAX, t;
    if (link->phase == EWL_PHASE_CLOSED) return UINT32_MAX;
    if (link->retransmit_armed) next = until(now, link->retransmit_at);
    if (!link->established) {
        t = until(now, link->sync_at);
        next = t < next ? t : next;
    } else {
        if (c->ping_interval > 0) {
            uint32_t ping = until(now, link->ping_at), silence = until(now, link->heard_at + c->ping_interval);
            t = ping > silence ? ping : silence;
            next = t < next ? t : next;
        }
        if (c->dead_peer_timeout > 0) {
            t = until(now, link->heard_at + c->dead_peer_timeout);
            next = t < next ? t : next;
        }
    }
    if (link->phase == EWL_PHASE_CLOSING) {
        t = until(now, link->close_by);
        next = t < next ? t : next;
        if (can_send_close(link)) {
            t = link->close_sent ? until(now, link->close_sent_at + c->retransmit_timeout) : 0;
            next = t < next ? t : next;
        }
    }
    return next;
}

/* ---- Packets from the peer ------------------------------------------------------------- */

/* Sends from where the peer's SYNC says it stands; false when we can't, and a new session starts. */
static bool resume_sending(ewl_link *link, bool peer_knows_us, uint8_t expected_seq) {
    if (!ewl_sender_resume(link, peer_knows_us, expected_seq)) {
        /* The peer acknowledged messages and then forgot them (a store that lost writes): they
         * were delivered; start our numbering over so that nothing later is mistaken for them. */
        link->session = draw_session(link);
        ewl_sender_restart(link);
        return false;
    }
    ewl_sender_remove_unfit(link);
    return true;
}

/* §5.1 "Receiving a SYNC", steps 1 to 6 in order. */
static void on_sync(ewl_link *link, const uint8_t *body) {
    ewl_sync info;
    if (!ewl_decode_sync(body, &info)) {
        link->stats.bad_header++;
        return;
    }
    link->heard_at = link->now;
    if (link->phase == EWL_PHASE_CLOSED) reopen(link);
    link->peer_max_packet = info.max_packet;
    link->peer_max_message = info.max_message;
    ewl_receiver_adopt(link, info.session, info.resume_seq);
    bool peer_knows_us = info.peer_session == link->session;
    if (!resume_sending(link, peer_knows_us, info.expected_seq)) peer_knows_us = false;
    if (!peer_knows_us) down(link, EWL_DOWN_PEER_RESTART);
    else if (!link->established) up(link);
    if (!info.established) send_sync(link);
}

static void on_close(ewl_link *link, uint8_t reason) {
    static const uint8_t NORMAL = 0;
    if (link->phase == EWL_PHASE_CLOSED) {
        /* The peer repeats its CLOSE: our answer was lost. Answers to our own repeated CLOSE get
         * no answer, or the two ends would echo CLOSEs forever. */
        if (link->closed_by_peer) emit_unnumbered(link, EWL_PACKET_CLOSE, &NORMAL, 1);
        return;
    }
    /* Our CLOSE went out already: this one answers it. Otherwise answer it. */
    bool answer = link->phase == EWL_PHASE_CLOSING && link->close_sent;
    if (!answer) emit_unnumbered(link, EWL_PACKET_CLOSE, &NORMAL, 1);
    to_closed(link, !answer, reason);
}

static void on_peer_packet(ewl_link *link, const ewl_packet *packet) {
    /* "Every packet accepted from the peer counts as hearing from it." */
    link->heard_at = link->now;
    if (packet->has_ack) ewl_sender_acknowledge(link, packet->ack);
    if (packet->type >= EWL_FIRST_MESSAGE_KIND) {
        if (packet->has_seq) ewl_receiver_take(link, packet);
        else ewl_deliver(link, packet->type, packet->body, packet->body_length, false);
        return;
    }
    if (packet->type == EWL_PACKET_PING) emit_unnumbered(link, EWL_PACKET_PONG, packet->body, packet->body_length);
    else if (packet->type == EWL_PACKET_CLOSE) on_close(link, packet->body[0]);
}

static void on_packet(void *context, const uint8_t *bytes, size_t length) {
    ewl_link *link = context;
    ewl_packet packet;
    ewl_packet_verdict verdict = ewl_decode_packet(bytes, length, &packet);
    if (verdict == EWL_PACKET_BAD_VERSION) link->stats.bad_version++;
    else if (verdict == EWL_PACKET_BAD_HEADER) link->stats.bad_header++;
    else if (packet.type == EWL_PACKET_SYNC) on_sync(link, packet.body);
    /* "Until an end holds a peer session, it drops every other packet from the peer." */
    else if (link->receive.peer_session == 0) link->stats.unsynced++;
    else on_peer_packet(link, &packet);
}

/* ---- Entry points ---------------------------------------------------------------------- */

ewl_status ewl_receive(ewl_link *link, const uint8_t *bytes, size_t length) {
    if (link->depth > 0) return EWL_ERR_REENTRANT;
    ewl_run_begin(link);
    ewl_frame_decoder_push(&link->decoder, bytes, length);
    ewl_run_end(link);
    return EWL_OK;
}

ewl_status ewl_poll(ewl_link *link) {
    uint8_t chunk[32];
    size_t budget = 2 * EWL_MAX_PACKET, got;
    if (link->depth > 0) return EWL_ERR_REENTRANT;
    if (link->config->read == NULL) return EWL_ERR_BAD_OPTION;
    ewl_run_begin(link);
    /* All that waits is one batch (one ACK for it), bounded so a babbling line can't hold the caller. */
    while (budget > 0 && (got = link->config->read(link->user, chunk, budget < sizeof chunk ? budget : sizeof chunk)) > 0) {
        ewl_frame_decoder_push(&link->decoder, chunk, got);
        budget -= got < budget ? got : budget;
    }
    ewl_run_end(link);
    return EWL_OK;
}

ewl_status ewl_tick(ewl_link *link) {
    if (link->depth > 0) return EWL_ERR_REENTRANT;
    ewl_run_begin(link);
    ewl_run_end(link);
    return EWL_OK;
}

ewl_status ewl_check_sendable(const ewl_link *link, uint8_t kind) {
    if (kind < EWL_FIRST_MESSAGE_KIND) return EWL_ERR_BAD_KIND;
    return link->phase == EWL_PHASE_OPEN ? EWL_OK : EWL_ERR_CLOSED;
}

ewl_status ewl_send_best_effort(ewl_link *link, uint8_t kind, const uint8_t *body, size_t length) {
    ewl_status status = ewl_check_sendable(link, kind);
    if (status != EWL_OK) return status;
    if (!link->established) {
        link->stats.dropped_best_effort++;
        return EWL_DROPPED;
    }
    /* "A best-effort message must fit one packet: at most M − 7 bytes (control, type, room for an ack, CRC)." */
    if (length > (size_t)link->peer_max_packet - EWL_CRC_BYTES - (EWL_MAX_HEADER - 2)) return EWL_ERR_TOO_BIG;
    ewl_run_begin(link);
    emit_unnumbered(link, kind, body, length);
    ewl_run_end(link);
    link->stats.messages_out++;
    return EWL_OK;
}

void ewl_close(ewl_link *link, uint8_t reason) {
    if (link->phase != EWL_PHASE_OPEN) return;
    ewl_run_begin(link);
    link->phase = EWL_PHASE_CLOSING;
    link->close_reason = reason;
    link->close_by = link->now + link->config->close_timeout;
    ewl_run_end(link);
}

void ewl_open(ewl_link *link) {
    if (link->phase != EWL_PHASE_CLOSED) return;
    ewl_run_begin(link);
    reopen(link);
    ewl_run_end(link);
}

ewl_state ewl_get_state(const ewl_link *link) {
    if (link->phase == EWL_PHASE_CLOSING) return EWL_CLOSING;
    if (link->phase == EWL_PHASE_CLOSED) return EWL_CLOSED;
    return link->established ? EWL_ESTABLISHED : EWL_SYNCING;
}

uint32_t ewl_session(const ewl_link *link) {
    return link->session;
}

void ewl_get_stats(const ewl_link *link, ewl_stats *out) {
    *out = link->stats;
}

size_t ewl_queued_messages(const ewl_link *link) {
    return link->queue_count;
}

const char *ewl_status_text(ewl_status status) {
    switch (status) {
    case EWL_OK: return "ok";
    case EWL_DROPPED: return "best-effort message dropped: the link is not established (wait for the UP event)";
    case EWL_ERR_BAD_OPTION: return "config out of range, a required callback missing (write, millis, new_session; read for ewl_poll), new_session returned 0, or a hello that does not encode, leaves no room in the queue for commands' answers, or declares commands without on_command";
    case EWL_ERR_QUEUE_FULL: return "reliable queue full (EWL_QUEUE_MESSAGES / EWL_QUEUE_BYTES): wait for DELIVERED events";
    case EWL_ERR_TOO_BIG: return "message too big: over the peer's maxMessage or 128 fragments, over the peer's maxPacket - 7 for best-effort, or over a buffer here (EWL_QUEUE_BYTES, EWL_MAX_TELEMETRY)";
    case EWL_ERR_BAD_KIND: return "message kinds are 0x10..0xFF (below are the link's own packets)";
    case EWL_ERR_CLOSED: return "the link is closing or closed: call ewl_open to send again";
    case EWL_ERR_BAD_VALUE: return "value not allowed: out of its type's range, a name that is empty or has / + # or control characters or repeats, invalid UTF-8, over 255 bytes, or a channel/type the hello does not declare";
    case EWL_ERR_MALFORMED: return "malformed message body (docs/link-protocol.md §7)";
    case EWL_ERR_PEER_TOO_BIG: return "the peer sent a message over our max_message (dropped)";
    case EWL_ERR_PEER_BAD_FRAGMENT: return "the peer broke the fragment order of a message (dropped)";
    case EWL_ERR_REENTRANT: return "ewl_receive/ewl_poll/ewl_tick called from a link callback: return first";
    }
    return "unknown status";
}
