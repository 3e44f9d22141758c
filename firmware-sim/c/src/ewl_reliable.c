/*
 * The reliable class (docs/link-protocol.md §6), a port of src/link/sender.ts and receiver.ts:
 * a bounded queue of messages held until acknowledged, split into numbered packets on their
 * way out, go-back-N retransmission; in-order taking, duplicates re-acknowledged, fragments
 * joined, and the receive state saved at each message boundary.
 *
 * Sequence numbers are 32-bit counters here (the wire carries their low 8 bits) compared by
 * difference, so they may wrap: every position in use lies within a window of the oldest one.
 */
#include "ewl_internal.h"

/* ---- The queue: descriptors, and their bodies back to back in queue_bytes --------------- */

static bool is_hello(const ewl_queued *m) {
    return m->kind == EWL_KIND_HELLO;
}

/* The capacity for messages other than the hello, and what of it is in use: the hello's slot
 * and bytes are kept free for it (ewl_queue_hello). */
static void user_space(const ewl_link *link, size_t *slots, size_t *bytes, size_t *count, size_t *used) {
    *slots = EWL_QUEUE_MESSAGES;
    *bytes = EWL_QUEUE_BYTES;
    *count = link->queue_count;
    *used = link->queue_used;
    if (link->config->hello == NULL) return;
    *slots -= 1;
    *bytes -= link->hello_length;
    for (uint8_t i = 0; i < link->queue_count; i++) {
        if (!is_hello(&link->queue[i])) continue;
        *count -= 1;
        *used -= link->queue[i].length;
    }
}

ewl_status ewl_queue_room(const ewl_link *link, size_t length, bool hello) {
    size_t slots = EWL_QUEUE_MESSAGES, bytes = EWL_QUEUE_BYTES, count = link->queue_count, used = link->queue_used;
    if (!hello) user_space(link, &slots, &bytes, &count, &used);
    if (length > bytes) return EWL_ERR_TOO_BIG;
    return count < slots && length <= bytes - used ? EWL_OK : EWL_ERR_QUEUE_FULL;
}

/* A command from the peer may be taken: there is room for its answers (see command_answers). */
static bool room_for_answers(const ewl_link *link) {
    size_t slots, bytes, count, used;
    user_space(link, &slots, &bytes, &count, &used);
    return slots - count >= link->config->command_answers && bytes - used >= link->config->command_answer_bytes;
}

static uint16_t new_id(ewl_link *link) {
    if (++link->last_id == 0) link->last_id = 1; /* 0 means "none" in events */
    return link->last_id;
}

/* Makes room for a message of `length` bytes at position `index` and returns where its body goes. */
static uint8_t *queue_insert(ewl_link *link, uint8_t index, uint8_t kind, size_t length, uint16_t *id) {
    uint16_t offset = index < link->queue_count ? link->queue[index].offset : link->queue_used;
    ewl_move(&link->queue[index + 1], &link->queue[index], (size_t)(link->queue_count - index) * sizeof link->queue[0]);
    ewl_move(link->queue_bytes + offset + length, link->queue_bytes + offset, link->queue_used - offset);
    for (uint8_t i = index + 1; i <= link->queue_count; i++) link->queue[i].offset = (uint16_t)(link->queue[i].offset + length);
    ewl_queued *m = &link->queue[index];
    ewl_zero(m, sizeof *m);
    m->offset = offset;
    m->length = (uint16_t)length;
    m->kind = kind;
    m->id = new_id(link);
    if (id != NULL) *id = m->id;
    link->queue_count++;
    link->queue_used = (uint16_t)(link->queue_used + length);
    return link->queue_bytes + offset;
}

uint8_t *ewl_queue_append(ewl_link *link, uint8_t kind, size_t length, uint16_t *id) {
    return queue_insert(link, link->queue_count, kind, length, id);
}

static void queue_remove(ewl_link *link, uint8_t index) {
    ewl_queued gone = link->queue[index];
    ewl_move(link->queue_bytes + gone.offset, link->queue_bytes + gone.offset + gone.length, link->queue_used - gone.offset - gone.length);
    link->queue_count--;
    ewl_move(&link->queue[index], &link->queue[index + 1], (size_t)(link->queue_count - index) * sizeof link->queue[0]);
    for (uint8_t i = index; i < link->queue_count; i++) link->queue[i].offset = (uint16_t)(link->queue[i].offset - gone.length);
    link->queue_used = (uint16_t)(link->queue_used - gone.length);
}

void ewl_queue_hello(ewl_link *link) {
    uint8_t index = 0;
    ewl_writer w;
    ewl_status status;
    for (uint8_t i = 0; i < link->queue_count; i++)
        if (is_hello(&link->queue[i])) return; /* one on its way already: the peer gets it after this `up` */
    while (index < link->queue_count && link->queue[index].fragments > 0) index++;
    status = ewl_fits_peer(link, link->hello_length);
    if (status == EWL_OK) status = ewl_queue_room(link, link->hello_length, true);
    if (status != EWL_OK) {
        ewl_emit_error(link, status, 0);
        return;
    }
    /* ewl_init measured it: it fits exactly. */
    ewl_writer_init(&w, queue_insert(link, index, EWL_KIND_HELLO, link->hello_length, NULL), link->hello_length);
    ewl_write_hello(&w, link->config->hello);
    link->stats.messages_out++;
}

/* ---- Sending (§6.1-6.3) ---------------------------------------------------------------- */

/* "A reliable message of up to M − 8 bytes is one packet"; a larger one "is cut into fragments
 * of M − 9 bytes" (room for control, type, seq, ack, fragment and the CRC). */
static size_t whole_capacity(uint16_t max_packet) {
    return (size_t)max_packet - EWL_CRC_BYTES - (EWL_MAX_HEADER - 1);
}

static size_t fragment_capacity(uint16_t max_packet) {
    return (size_t)max_packet - EWL_CRC_BYTES - EWL_MAX_HEADER;
}

static size_t packets_for(size_t length, uint16_t max_packet) {
    if (length <= whole_capacity(max_packet)) return 1;
    return (length + fragment_capacity(max_packet) - 1) / fragment_capacity(max_packet);
}

ewl_status ewl_fits_peer(const ewl_link *link, size_t length) {
    if (link->peer_max_packet == 0) return EWL_OK; /* not known before its first SYNC: checked then */
    if (length > link->peer_max_message || packets_for(length, link->peer_max_packet) > EWL_MAX_FRAGMENTS) return EWL_ERR_TOO_BIG;
    return EWL_OK;
}

void ewl_sender_pause(ewl_link *link) {
    link->retransmit_armed = false;
    link->retries = 0;
    link->timeout = link->config->retransmit_timeout;
}

void ewl_sender_reset(ewl_link *link) {
    link->acked_seq = link->next_seq = link->sent_seq = 0;
    ewl_sender_pause(link);
}

void ewl_sender_restart(ewl_link *link) {
    for (uint8_t i = 0; i < link->queue_count; i++) link->queue[i].fragments = 0;
    ewl_sender_reset(link);
}

/* The first packet of the oldest message not wholly acknowledged: where a peer without state starts. */
static uint32_t resume_point(const ewl_link *link) {
    return link->queue_count > 0 && link->queue[0].fragments > 0 ? link->queue[0].first_seq : link->next_seq;
}

uint8_t ewl_sender_resume_seq(const ewl_link *link) {
    return (uint8_t)resume_point(link);
}

/* Distance from the oldest unacknowledged packet: every position in use is within a window of it. */
static uint32_t ahead(const ewl_link *link, uint32_t seq) {
    return seq - link->acked_seq;
}

bool ewl_sender_next(ewl_link *link, ewl_packet *packet) {
    uint32_t seq = link->next_seq;
    uint8_t i = 0;
    if (ahead(link, seq) >= link->config->window) return false;
    while (i < link->queue_count && link->queue[i].fragments > 0 && seq - link->queue[i].first_seq >= link->queue[i].fragments) i++;
    if (i == link->queue_count) return false;
    ewl_queued *m = &link->queue[i];
    if (m->fragments == 0) {
        /* "A message is split when its first packet is first sent, and keeps that split." */
        m->first_seq = seq;
        m->fragments = (uint8_t)packets_for(m->length, link->peer_max_packet);
        m->fragment_size = (uint16_t)(m->fragments == 1 ? m->length : fragment_capacity(link->peer_max_packet));
    }
    if (seq != link->sent_seq) link->stats.retransmits++;
    link->next_seq++;
    if (ahead(link, link->next_seq) > ahead(link, link->sent_seq)) link->sent_seq = link->next_seq;
    if (!link->retransmit_armed) {
        link->retransmit_armed = true;
        link->retransmit_at = link->now + link->timeout;
    }
    uint32_t index = seq - m->first_seq, start = index * m->fragment_size;
    ewl_zero(packet, sizeof *packet);
    packet->type = m->kind;
    packet->has_seq = true;
    packet->seq = (uint8_t)seq;
    packet->body = link->queue_bytes + m->offset + start;
    packet->body_length = m->length - start < m->fragment_size ? m->length - start : m->fragment_size;
    if (m->fragments > 1) {
        packet->has_fragment = true;
        packet->fragment_index = (uint8_t)index;
        packet->last_fragment = index == (uint32_t)m->fragments - 1;
    }
    return true;
}

/* Releases the messages whose packets are all acknowledged, oldest first: DELIVERED for each. */
static void release(ewl_link *link) {
    while (link->queue_count > 0) {
        const ewl_queued *head = &link->queue[0];
        if (head->fragments == 0 || link->acked_seq - head->first_seq < head->fragments) return;
        ewl_event event;
        ewl_zero(&event, sizeof event);
        event.type = EWL_EVENT_DELIVERED;
        event.message_id = head->id;
        queue_remove(link, 0);
        ewl_emit_event(link, &event);
    }
}

void ewl_sender_acknowledge(ewl_link *link, uint8_t ack) {
    /* "An ACK byte a means acked' = acked + ((a − acked) mod 256); it is ignored unless acked' ≤ sent." */
    uint32_t progress = (uint8_t)(ack - (uint8_t)link->acked_seq);
    if (progress > ahead(link, link->sent_seq)) return;
    if (progress > 0) {
        /* Packets sent before a timeout sent us back may be acknowledged now: no need to resend them. */
        if (progress > ahead(link, link->next_seq)) link->next_seq = link->acked_seq + progress;
        link->acked_seq += progress;
        link->retries = 0;
        link->timeout = link->config->retransmit_timeout;
        link->retransmit_armed = link->acked_seq != link->next_seq;
        link->retransmit_at = link->now + link->timeout;
    }
    release(link);
}

bool ewl_sender_resume(ewl_link *link, bool peer_knows_us, uint8_t expected_seq) {
    uint32_t resume = resume_point(link);
    ewl_sender_pause(link);
    if (!peer_knows_us) {
        /* The peer adopts our resumeSeq: every held message is split again for its maxPacket. */
        for (uint8_t i = 0; i < link->queue_count; i++) link->queue[i].fragments = 0;
        link->acked_seq = link->next_seq = link->sent_seq = resume;
        return true;
    }
    uint32_t distance = (uint8_t)(expected_seq - (uint8_t)resume);
    /* "If expectedSeq is not between our resumeSeq and one past the highest sequence number we
     * have sent, the peer lost state it had acknowledged." */
    if (distance > link->sent_seq - resume) return false;
    link->acked_seq = link->next_seq = resume + distance;
    release(link);
    return true;
}

void ewl_sender_remove_unfit(ewl_link *link) {
    uint8_t i = 0;
    while (i < link->queue_count) {
        const ewl_queued *m = &link->queue[i];
        if (m->fragments > 0 || ewl_fits_peer(link, m->length) == EWL_OK) {
            i++;
            continue;
        }
        uint16_t id = m->id;
        queue_remove(link, i);
        ewl_emit_error(link, EWL_ERR_TOO_BIG, id);
    }
}

bool ewl_sender_timer(ewl_link *link) {
    const ewl_config *c = link->config;
    if (!link->retransmit_armed || !ewl_due(link->now, link->retransmit_at)) return false;
    if (link->retries >= c->max_retransmits) {
        ewl_sender_pause(link);
        return true;
    }
    /* Go back to the oldest unacknowledged packet; the timeout doubles up to its cap. */
    link->retries++;
    link->timeout = link->timeout >= c->max_retransmit_timeout - link->timeout ? c->max_retransmit_timeout : link->timeout * 2;
    link->retransmit_armed = false;
    link->next_seq = link->acked_seq;
    return false;
}

/* ---- Receiving (§6.1, 6.3, 6.4) -------------------------------------------------------- */

static void save(ewl_link *link) {
    if (link->config->save_state != NULL) link->config->save_state(link->user, &link->receive);
}

void ewl_receiver_adopt(ewl_link *link, uint32_t peer_session, uint8_t resume_seq) {
    if (peer_session == link->receive.peer_session) return; /* "Otherwise keep our place." */
    link->receive.peer_session = peer_session;
    link->receive.expected_seq = resume_seq;
    link->joining = false;
    save(link);
}

static void report(ewl_link *link, ewl_status error) {
    if (error != EWL_OK) ewl_emit_error(link, error, 0);
}

static void take_whole(ewl_link *link, const ewl_packet *p) {
    ewl_status error = EWL_OK;
    if (link->joining && !link->join_broken) {
        error = EWL_ERR_PEER_BAD_FRAGMENT; /* a message came before the last fragment of the one being joined */
        link->joining = false;
    }
    if (p->body_length > link->config->max_message) report(link, EWL_ERR_PEER_TOO_BIG);
    else {
        report(link, error);
        ewl_deliver(link, p->type, p->body, p->body_length, true);
    }
    save(link);
}

static void take_fragment(ewl_link *link, const ewl_packet *p) {
    ewl_status error = EWL_OK;
    uint8_t index = p->fragment_index;
    if (index == 0 || !link->joining || link->join_next_index != index || link->join_kind != p->type) {
        /* Only a peer that breaks §6.3 gets a fragment that does not follow: sequence numbers rule out loss. */
        if (link->joining && !link->join_broken) error = EWL_ERR_PEER_BAD_FRAGMENT;
        link->joining = true;
        link->join_broken = index != 0;
        link->join_kind = p->type;
        link->join_length = 0;
    }
    link->join_next_index = (uint8_t)(index + 1);
    link->join_length += p->body_length;
    if (!link->join_broken && link->join_length > link->config->max_message) {
        link->join_broken = true;
        error = EWL_ERR_PEER_TOO_BIG;
    }
    if (!link->join_broken) ewl_copy(link->join + link->join_length - p->body_length, p->body, p->body_length);
    report(link, error);
    if (!p->last_fragment) return;
    link->joining = false;
    if (!link->join_broken) ewl_deliver(link, link->join_kind, link->join, link->join_length, true);
    save(link);
}

/* The first packet of a command the library will hand to on_command. */
static bool starts_command(const ewl_link *link, const ewl_packet *packet) {
    return link->config->hello != NULL && packet->type == EWL_KIND_COMMAND && (!packet->has_fragment || packet->fragment_index == 0);
}

void ewl_receiver_take(ewl_link *link, const ewl_packet *packet) {
    uint8_t distance = (uint8_t)(packet->seq - link->receive.expected_seq);
    /* "In all three cases the receiver owes an acknowledgement." */
    link->ack_owed = true;
    /* Behind us (half the sequence space): taken before, its acknowledgement was lost. */
    if (distance >= 128) link->stats.duplicates++;
    /* Ahead of us: a packet before it was lost; the sender will go back. */
    else if (distance != 0) link->stats.gaps++;
    /* A command whose answers could not be queued now: not taken, so the peer sends it again. */
    else if (starts_command(link, packet) && !room_for_answers(link)) link->stats.deferred++;
    else {
        link->receive.expected_seq++;
        if (packet->has_fragment) take_fragment(link, packet);
        else take_whole(link, packet);
    }
}
