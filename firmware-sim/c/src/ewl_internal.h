/*
 * What the library's source files share and callers never see. Not installed: applications
 * include edgews_link.h only.
 */
#ifndef EWL_INTERNAL_H
#define EWL_INTERNAL_H

#include "../edgews_link.h"

/* ---- Protocol constants (docs/link-protocol.md) ---------------------------------------- */

enum {
    EWL_VERSION = 1,          /* §4: the control byte's top two bits */
    EWL_DELIMITER = 0x00,     /* §2: ends every frame */
    EWL_CRC_BYTES = 4,
    EWL_MIN_PACKET = 2 + EWL_CRC_BYTES, /* a control byte, a type byte and the CRC */
    EWL_MAX_HEADER = 5,       /* control, type, seq, ack, fragment */
    EWL_MAX_FRAGMENTS = 128,  /* the fragment index has 7 bits */
    EWL_MAX_PING_BODY = 8,
    EWL_MIN_MAX_PACKET = 32,
    EWL_MAX_MAX_PACKET = 512
};

enum { EWL_PHASE_OPEN, EWL_PHASE_CLOSING, EWL_PHASE_CLOSED };

/* Whether a millisecond deadline has come, by difference: a wrapping clock is fine as long as
 * deadlines lie within 2^31 ms (24 days) of now. */
static inline bool ewl_due(uint32_t now, uint32_t at) {
    return (uint32_t)(now - at) < 0x80000000u;
}

/* ---- Freestanding helpers (no libc on the MCU) ----------------------------------------- */

void ewl_zero(void *to, size_t n);
void ewl_copy(void *to, const void *from, size_t n);
/* Overlapping ranges allowed. */
void ewl_move(void *to, const void *from, size_t n);
bool ewl_same(const void *a, const void *b, size_t n);
void ewl_put_le(uint8_t *to, uint32_t value, size_t bytes);
/* Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF), as TextDecoder's fatal mode. */
bool ewl_valid_utf8(const uint8_t *text, size_t length);

/* ---- Message bodies: a bounded writer and a reader (ewl_values.c) ---------------------- */

typedef struct ewl_writer {
    uint8_t *out;     /* NULL: only count */
    size_t capacity;
    size_t length;    /* bytes written (or that would have been) */
    ewl_status status;/* the first failure */
} ewl_writer;

void ewl_writer_init(ewl_writer *w, uint8_t *out, size_t capacity);
void ewl_write_u8(ewl_writer *w, uint8_t value);
void ewl_write_u16(ewl_writer *w, uint16_t value);
void ewl_write_bytes(ewl_writer *w, const void *bytes, size_t length);
/* A length byte and the text (UTF-8, at most 255 bytes). */
void ewl_write_str8(ewl_writer *w, ewl_str text);
/* The value in its type's encoding (§7.1), without the type code. */
void ewl_write_value(ewl_writer *w, const ewl_value *value);
void ewl_writer_fail(ewl_writer *w, ewl_status status);
/* The writer's outcome: its status, and the length on success. */
ewl_status ewl_writer_finish(const ewl_writer *w, size_t *length);

typedef struct ewl_reader {
    const uint8_t *at;
    size_t left;
    bool failed;
} ewl_reader;

void ewl_reader_init(ewl_reader *r, const uint8_t *body, size_t length);
uint8_t ewl_read_u8(ewl_reader *r);
uint16_t ewl_read_u16(ewl_reader *r);
ewl_str ewl_read_str8(ewl_reader *r);
/* A type code; EWL_NONE only when allowed. */
uint8_t ewl_read_type(ewl_reader *r, bool allow_none);
void ewl_read_value(ewl_reader *r, uint8_t type, ewl_value *out);
/* EWL_OK when every read succeeded and nothing is left over. */
ewl_status ewl_reader_finish(const ewl_reader *r);

/* The hello's body (ewl_messages.c), for the link to queue it. */
void ewl_write_hello(ewl_writer *w, const ewl_hello *hello);

/* ---- The link's halves (edgews_link.c, ewl_reliable.c, ewl_device.c) -------------------- */

/* Starts and ends every call into the link: one clock reading, then due timers and pending
 * packets, then one flush of the burst. Nested calls (from callbacks) only do their work. */
void ewl_run_begin(ewl_link *link);
void ewl_run_end(ewl_link *link);
void ewl_emit_event(ewl_link *link, const ewl_event *event);
void ewl_emit_error(ewl_link *link, ewl_status error, uint16_t message_id);
/* Checks the kind and the phase (EWL_ERR_BAD_KIND, EWL_ERR_CLOSED). */
ewl_status ewl_check_sendable(const ewl_link *link, uint8_t kind);

/* The sending half of the reliable class (§6.1-6.3). */
void ewl_sender_reset(ewl_link *link);
void ewl_sender_pause(ewl_link *link);
/* The next packet to send (seq set, body pointing into the queue), or false. */
bool ewl_sender_next(ewl_link *link, ewl_packet *packet);
void ewl_sender_acknowledge(ewl_link *link, uint8_t ack);
/* The peer's SYNC says where it stands; false when it is where we can't resend from. */
bool ewl_sender_resume(ewl_link *link, bool peer_knows_us, uint8_t expected_seq);
/* Every message back to unnumbered, from seq 0 (a new session of ours). */
void ewl_sender_restart(ewl_link *link);
/* Drops the unnumbered messages the peer can't take, each with an error event. */
void ewl_sender_remove_unfit(ewl_link *link);
/* True when the retransmission timer expired after too many tries: the peer is gone. */
bool ewl_sender_timer(ewl_link *link);
uint8_t ewl_sender_resume_seq(const ewl_link *link);
/* EWL_OK or why a message of `length` bytes can't go to the peer (once its SYNC is known). */
ewl_status ewl_fits_peer(const ewl_link *link, size_t length);
/* Room for a message of `length` bytes: EWL_OK, EWL_ERR_QUEUE_FULL or EWL_ERR_TOO_BIG. */
ewl_status ewl_queue_room(const ewl_link *link, size_t length, bool is_hello);
/* Appends a message of `length` bytes (room checked) and returns where to write its body. */
uint8_t *ewl_queue_append(ewl_link *link, uint8_t kind, size_t length, uint16_t *id);
/* Puts the hello first among the messages not numbered yet, unless one waits already. */
void ewl_queue_hello(ewl_link *link);

/* The receiving half (§6.1, 6.3): takes a reliable packet; delivers, acknowledges, saves. */
void ewl_receiver_take(ewl_link *link, const ewl_packet *packet);
void ewl_receiver_adopt(ewl_link *link, uint32_t peer_session, uint8_t resume_seq);

/* A message from the peer, to the application (commands decoded when there is a hello). */
void ewl_deliver(ewl_link *link, uint8_t kind, const uint8_t *body, size_t length, bool reliable);
/* Encodes a message with `encode` straight into the queue, after every check. */
typedef void (*ewl_encode_fn)(ewl_writer *w, const void *message);
ewl_status ewl_enqueue_encoded(ewl_link *link, uint8_t kind, ewl_encode_fn encode, const void *message, uint16_t *id);

#endif
