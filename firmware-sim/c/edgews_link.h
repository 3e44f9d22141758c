/*
 * edgews_link.h: the device side of the edgews serial link (docs/link-protocol.md), in C99.
 *
 * The one header of the library. Portable to any MCU: no malloc, no stdio, no libc at all
 * (only <stdint.h>, <stddef.h>, <stdbool.h>); every buffer lives in the `ewl_link` the caller
 * allocates, sized by the EWL_* macros below, so two links can coexist. I/O is inverted
 * through callbacks: the library never touches a UART, a clock or flash itself.
 *
 *   ewl_link link;                       // static, or anywhere that outlives its use
 *   ewl_config config;                   // ditto: the link keeps a pointer to it
 *   ewl_config_defaults(&config);
 *   config.write = uart_write; config.millis = millis; config.new_session = random_u32;
 *   config.hello = &hello; config.on_command = on_command;
 *   ewl_init(&link, &config, NULL);
 *   for (;;) { ewl_poll(&link); ... ewl_send_telemetry(&link, readings, 2); }
 *
 * Layers, each usable alone: CRC-32C and COBS framing (§2-3), packets (§4), message bodies
 * (§7), and the link session (§5-6: SYNC, liveness, close, reliable class).
 */
#ifndef EDGEWS_LINK_H
#define EDGEWS_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Sizes (compile-time: each is a static buffer in ewl_link) ------------------------- */

/** Receive buffer: the largest packet this end can accept, header and CRC included (32..512, §2). */
#ifndef EWL_MAX_PACKET
#define EWL_MAX_PACKET 256
#endif
/** Join buffer: the largest message this end can accept from the peer once joined from fragments (1..65535). */
#ifndef EWL_MAX_MESSAGE
#define EWL_MAX_MESSAGE 256
#endif
/** Reliable messages held until acknowledged: their bytes (the hello's included). Beyond: EWL_ERR_QUEUE_FULL. */
#ifndef EWL_QUEUE_BYTES
#define EWL_QUEUE_BYTES 512
#endif
/** ...and their number (the hello takes one). */
#ifndef EWL_QUEUE_MESSAGES
#define EWL_QUEUE_MESSAGES 8
#endif
/** Bytes handed to the write callback at once, at most: the output staging buffer. */
#ifndef EWL_WRITE_CHUNK
#define EWL_WRITE_CHUNK 64
#endif
/** Largest telemetry body ewl_send_telemetry builds (on the stack). */
#ifndef EWL_MAX_TELEMETRY
#define EWL_MAX_TELEMETRY 64
#endif

#if EWL_MAX_PACKET < 32 || EWL_MAX_PACKET > 512
#error "EWL_MAX_PACKET must be 32..512 (docs/link-protocol.md §2: CRC-32C keeps Hamming distance 6 up to 659-byte packets)"
#endif
#if EWL_MAX_MESSAGE < 1 || EWL_MAX_MESSAGE > 65535
#error "EWL_MAX_MESSAGE must be 1..65535 (the SYNC carries it in 16 bits)"
#endif
#if EWL_QUEUE_BYTES < 1 || EWL_QUEUE_BYTES > 65535
#error "EWL_QUEUE_BYTES must be 1..65535"
#endif
#if EWL_QUEUE_MESSAGES < 1 || EWL_QUEUE_MESSAGES > 255
#error "EWL_QUEUE_MESSAGES must be 1..255"
#endif
#if EWL_WRITE_CHUNK < 1
#error "EWL_WRITE_CHUNK must be at least 1"
#endif

/* ---- Status codes --------------------------------------------------------------------- */

typedef enum ewl_status {
    EWL_OK = 0,
    /** A best-effort message was not sent: the link is not established (counted in dropped_best_effort). */
    EWL_DROPPED,
    /** A config value out of its range, or a required callback missing (ewl_init). */
    EWL_ERR_BAD_OPTION,
    /** The reliable queue is full (EWL_QUEUE_MESSAGES / EWL_QUEUE_BYTES): wait for DELIVERED events. */
    EWL_ERR_QUEUE_FULL,
    /** Larger than the peer accepts (its maxMessage, 128 fragments, or one packet for best-effort) or than a buffer here. */
    EWL_ERR_TOO_BIG,
    /** A message kind below 0x10 (those are the link's own packet types). */
    EWL_ERR_BAD_KIND,
    /** Sending after ewl_close: call ewl_open first. */
    EWL_ERR_CLOSED,
    /** A value that its type or the hello does not allow (range, name, UTF-8, channel, string over 255 bytes). */
    EWL_ERR_BAD_VALUE,
    /** A body that does not follow its kind's encoding (§7). */
    EWL_ERR_MALFORMED,
    /** The peer sent a reliable message over our max_message (dropped, acknowledged). */
    EWL_ERR_PEER_TOO_BIG,
    /** The peer broke the fragment order of a message (dropped, acknowledged). */
    EWL_ERR_PEER_BAD_FRAGMENT,
    /** ewl_receive/ewl_poll/ewl_tick called from inside one of the link's callbacks. */
    EWL_ERR_REENTRANT
} ewl_status;

/** A sentence saying what the status means and what to do about it (static storage). */
const char *ewl_status_text(ewl_status status);

/* ---- CRC-32C and COBS (§2-3) ------------------------------------------------------------ */

/** CRC-32C (Castagnoli, as iSCSI): crc = ewl_crc32c(0, data, n); continue with the previous result. */
uint32_t ewl_crc32c(uint32_t crc, const uint8_t *data, size_t length);

/** A sink for encoded bytes. */
typedef void (*ewl_put_fn)(void *context, uint8_t byte);

/**
 * COBS-encodes `length` bytes, then the 0x00 delimiter, into `put` (canonical form: no empty
 * block after a final full one). At most length + ceil(length/254) + 1 bytes.
 */
void ewl_cobs_encode(const uint8_t *data, size_t length, ewl_put_fn put, void *context);

/**
 * Undoes COBS on `encoded` up to its delimiter (or its end) into out[0, capacity); false when a
 * block is cut short or the data does not fit. Accepts the non-canonical form too.
 */
bool ewl_cobs_decode(const uint8_t *encoded, size_t length, uint8_t *out, uint16_t capacity, size_t *decoded);

typedef struct ewl_frame_counters {
    uint32_t packets;     /**< frames that decoded to a packet with a good CRC */
    uint32_t crc_errors;  /**< frames whose CRC-32C did not match */
    uint32_t cobs_errors; /**< frames that ended inside a COBS block */
    uint32_t oversize;    /**< frames longer than the buffer (never stored past it) */
    uint32_t truncated;   /**< frames shorter than a 2-byte header and the CRC */
} ewl_frame_counters;

typedef void (*ewl_packet_fn)(void *context, const uint8_t *packet, size_t length);

/**
 * Undoes COBS byte by byte into a fixed buffer (§2), counting each frame into `counters`; each
 * good packet goes to `on_packet` without its CRC, valid during the call.
 */
typedef struct ewl_frame_decoder {
    uint8_t *buffer;
    uint16_t capacity;
    uint16_t length; /* saturates at capacity + 1: "too long" */
    uint8_t block_left;
    bool zero_pending;
    bool in_frame;
    ewl_frame_counters *counters;
    ewl_packet_fn on_packet;
    void *context;
} ewl_frame_decoder;

void ewl_frame_decoder_init(ewl_frame_decoder *decoder, uint8_t *buffer, uint16_t capacity, ewl_frame_counters *counters,
                            ewl_packet_fn on_packet, void *context);
void ewl_frame_decoder_push(ewl_frame_decoder *decoder, const uint8_t *bytes, size_t length);

/* ---- Packets (§4) ---------------------------------------------------------------------- */

enum {
    EWL_PACKET_SYNC = 0x01,
    EWL_PACKET_ACK = 0x02,
    EWL_PACKET_PING = 0x03,
    EWL_PACKET_PONG = 0x04,
    EWL_PACKET_CLOSE = 0x05,
    EWL_FIRST_MESSAGE_KIND = 0x10
};

typedef struct ewl_packet {
    uint8_t type;
    bool has_seq, has_ack, has_fragment;
    uint8_t seq, ack;
    uint8_t fragment_index; /**< 0..127 */
    bool last_fragment;
    const uint8_t *body;
    size_t body_length;
} ewl_packet;

typedef enum ewl_packet_verdict { EWL_PACKET_OK, EWL_PACKET_BAD_VERSION, EWL_PACKET_BAD_HEADER } ewl_packet_verdict;

/** Parses a packet whose CRC was checked (CRC removed); `out->body` points into `bytes`. */
ewl_packet_verdict ewl_decode_packet(const uint8_t *bytes, size_t length, ewl_packet *out);
/** Writes the packet with its CRC, COBS-encoded, then the delimiter, into `put`. */
void ewl_encode_frame(const ewl_packet *packet, ewl_put_fn put, void *context);

/** A SYNC body (§5.1). */
typedef struct ewl_sync {
    uint32_t session, peer_session;
    uint16_t max_packet, max_message;
    uint8_t resume_seq, expected_seq;
    bool established;
} ewl_sync;

enum { EWL_SYNC_BODY = 15 };
void ewl_encode_sync(const ewl_sync *sync, uint8_t body[EWL_SYNC_BODY]);
/** False when the fields are out of range (session 0, max_packet outside 32..512, max_message 0). */
bool ewl_decode_sync(const uint8_t body[EWL_SYNC_BODY], ewl_sync *out);

/* ---- Values and messages (§7) ---------------------------------------------------------- */

typedef enum ewl_type {
    EWL_NONE = 0x00, EWL_BOOL = 0x01, EWL_U8 = 0x02, EWL_I8 = 0x03, EWL_U16 = 0x04, EWL_I16 = 0x05,
    EWL_U32 = 0x06, EWL_I32 = 0x07, EWL_F32 = 0x08, EWL_F64 = 0x09, EWL_STRING = 0x0a, EWL_BYTES = 0x0b
} ewl_type;

enum {
    EWL_KIND_HELLO = 0x10, EWL_KIND_TELEMETRY = 0x11, EWL_KIND_EVENT = 0x12,
    EWL_KIND_COMMAND = 0x13, EWL_KIND_RESULT = 0x14, EWL_KIND_LOG = 0x15
};

typedef enum ewl_result_status {
    EWL_RESULT_OK = 0, EWL_RESULT_UNKNOWN_COMMAND = 1, EWL_RESULT_BAD_ARGUMENT = 2, EWL_RESULT_FAILED = 3, EWL_RESULT_BUSY = 4
} ewl_result_status;

typedef enum ewl_log_level { EWL_LOG_ERROR = 0, EWL_LOG_WARN = 1, EWL_LOG_INFO = 2, EWL_LOG_DEBUG = 3 } ewl_log_level;

/** UTF-8 text that is not NUL-terminated (decoded strings point into the message body). */
typedef struct ewl_str {
    const char *chars;
    size_t length;
} ewl_str;

/** An ewl_str initializer for a string literal: `{ EWL_STR("temperature"), ... }`. */
#define EWL_STR(literal) { (literal), sizeof(literal) - 1 }

/** A value with its type (§7.1). Integers of every width live in `u` / `i`. */
typedef struct ewl_value {
    uint8_t type; /**< an ewl_type */
    union {
        bool boolean;
        uint32_t u;
        int32_t i;
        float f32;
        double f64;
        ewl_str string;
        struct { const uint8_t *data; size_t length; } bytes;
    } as;
} ewl_value;

static inline ewl_str ewl_cstr(const char *text) {
    ewl_str s;
    s.chars = text;
    s.length = 0;
    while (text[s.length] != '\0') s.length++;
    return s;
}
static inline ewl_value ewl_value_bool(bool v) { ewl_value x; x.type = EWL_BOOL; x.as.boolean = v; return x; }
static inline ewl_value ewl_value_unsigned(ewl_type type, uint32_t v) { ewl_value x; x.type = (uint8_t)type; x.as.u = v; return x; }
static inline ewl_value ewl_value_signed(ewl_type type, int32_t v) { ewl_value x; x.type = (uint8_t)type; x.as.i = v; return x; }
static inline ewl_value ewl_value_f32(float v) { ewl_value x; x.type = EWL_F32; x.as.f32 = v; return x; }
static inline ewl_value ewl_value_f64(double v) { ewl_value x; x.type = EWL_F64; x.as.f64 = v; return x; }
static inline ewl_value ewl_value_string(ewl_str v) { ewl_value x; x.type = EWL_STRING; x.as.string = v; return x; }

typedef struct ewl_channel {
    ewl_str name;
    ewl_str unit;  /**< "°C", "%", "" for none */
    uint8_t type;  /**< every reading's ewl_type (not EWL_NONE) */
} ewl_channel;

typedef struct ewl_command_info {
    ewl_str name;
    uint8_t argument; /**< its argument's ewl_type; EWL_NONE for none */
} ewl_command_info;

/** What a device says about itself (§7.2); the link sends it first after every `up`. */
typedef struct ewl_hello {
    ewl_str device_id;
    ewl_str firmware;
    const ewl_channel *channels;
    size_t channel_count;
    const ewl_command_info *commands;
    size_t command_count;
} ewl_hello;

typedef struct ewl_reading {
    uint8_t channel; /**< index in the hello's channels */
    ewl_value value; /**< of the channel's type */
} ewl_reading;

typedef struct ewl_command {
    uint16_t id;     /**< chosen by the bridge; the result carries it back */
    uint8_t index;   /**< in the hello's commands */
    ewl_value argument;
} ewl_command;

typedef struct ewl_event_message {
    ewl_str name;
    ewl_value value;
} ewl_event_message;

typedef struct ewl_result {
    uint16_t id;
    uint8_t status; /**< an ewl_result_status */
    ewl_value value;
} ewl_result;

typedef struct ewl_log_line {
    uint8_t level; /**< an ewl_log_level */
    ewl_str text;
} ewl_log_line;

/* Encoders write the body into out[0, capacity) and store its size in *length; with out NULL
 * they only compute the size. EWL_ERR_BAD_VALUE for what §7 forbids, EWL_ERR_TOO_BIG when it
 * does not fit `capacity`. */
ewl_status ewl_encode_hello(const ewl_hello *hello, uint8_t *out, size_t capacity, size_t *length);
ewl_status ewl_encode_telemetry(const ewl_reading *readings, size_t count, const ewl_hello *hello, uint8_t *out, size_t capacity, size_t *length);
ewl_status ewl_encode_event(const ewl_event_message *event, uint8_t *out, size_t capacity, size_t *length);
ewl_status ewl_encode_command(const ewl_command *command, const ewl_hello *hello, uint8_t *out, size_t capacity, size_t *length);
ewl_status ewl_encode_result(const ewl_result *result, uint8_t *out, size_t capacity, size_t *length);
ewl_status ewl_encode_log(const ewl_log_line *line, uint8_t *out, size_t capacity, size_t *length);

/* Decoders: EWL_ERR_MALFORMED for a body that ends early, has bytes left over, or breaks §7
 * (invalid UTF-8, an undeclared channel or command...). Strings and bytes point into `body`. */
ewl_status ewl_decode_hello(const uint8_t *body, size_t length, ewl_hello *out,
                            ewl_channel *channels, size_t max_channels, ewl_command_info *commands, size_t max_commands);
ewl_status ewl_decode_telemetry(const uint8_t *body, size_t length, const ewl_hello *hello,
                                ewl_reading *readings, size_t max_readings, size_t *count);
ewl_status ewl_decode_event(const uint8_t *body, size_t length, ewl_event_message *out);
ewl_status ewl_decode_command(const uint8_t *body, size_t length, const ewl_hello *hello, ewl_command *out);
ewl_status ewl_decode_result(const uint8_t *body, size_t length, ewl_result *out);
ewl_status ewl_decode_log(const uint8_t *body, size_t length, ewl_log_line *out);

/* ---- The link (§5-6) ------------------------------------------------------------------- */

/** Where this end stands in the peer's sequence: what survives a reboot if the app persists it (§6.4). */
typedef struct ewl_receive_state {
    uint32_t peer_session; /**< 0 for none */
    uint8_t expected_seq;  /**< the next sequence number to take: always the first packet of a message */
} ewl_receive_state;

typedef enum ewl_event_type {
    EWL_EVENT_UP = 1,   /**< both ends know each other's session: messages flow */
    EWL_EVENT_DOWN,     /**< see down_reason; reliable messages wait in the queue */
    EWL_EVENT_DELIVERED,/**< the peer acknowledged reliable message `message_id` */
    EWL_EVENT_CLOSED,   /**< close_reason, by_peer */
    EWL_EVENT_ERROR     /**< `error`; `message_id` when it is about one of ours (dropped), else 0 */
} ewl_event_type;

typedef enum ewl_down_reason { EWL_DOWN_DEAD_PEER = 1, EWL_DOWN_NO_ACK, EWL_DOWN_PEER_RESTART } ewl_down_reason;

typedef struct ewl_event {
    ewl_event_type type;
    ewl_down_reason down_reason;
    ewl_status error;
    uint16_t message_id;
    uint8_t close_reason; /**< 0 normal, 1 going away */
    bool by_peer;
} ewl_event;

typedef struct ewl_link ewl_link;

/**
 * Everything the link needs from the platform. Must outlive the link (the link keeps a
 * pointer); several links may share one. Fill it with ewl_config_defaults, then set fields.
 * Every callback gets the `user` pointer given to ewl_init.
 */
typedef struct ewl_config {
    /* Required. */
    /** Bytes for the UART, in order. One call into the link writes one burst, in one or more calls of at most EWL_WRITE_CHUNK bytes. */
    void (*write)(void *user, const uint8_t *bytes, size_t length);
    /** A free-running millisecond clock; wrapping at 2^32 is fine. */
    uint32_t (*millis)(void *user);
    /** A nonzero number that differs from every previous one (a new session each boot, §5.5): an RNG, or a boot counter kept in flash. */
    uint32_t (*new_session)(void *user);

    /* Optional (NULL when unused). */
    /** Non-blocking UART read for ewl_poll: copies up to `capacity` bytes, returns how many (0: none waiting). */
    size_t (*read)(void *user, uint8_t *buffer, size_t capacity);
    /** Loads the persisted receive state at ewl_init; false when there is none. */
    bool (*load_state)(void *user, ewl_receive_state *state);
    /**
     * Persists the receive state; called when a new peer session is adopted and after each
     * message is handed over, before it is acknowledged. Durable when it returns, duplicates
     * are suppressed across reboots (§6.4): a command is not run twice.
     */
    void (*save_state)(void *user, const ewl_receive_state *state);
    void (*on_event)(void *user, const ewl_event *event);
    /** A command declared in the hello, decoded; answer with ewl_send_result (now or later). */
    void (*on_command)(void *user, const ewl_command *command);
    /** Any other message from the peer (and commands when there is no hello); `body` is valid during the call. */
    void (*on_message)(void *user, uint8_t kind, const uint8_t *body, size_t length, bool reliable);
    /** The device's description: sent first after every `up`; commands are decoded with it. Must outlive the link. */
    const ewl_hello *hello;

    /* Limits (§5.5); ewl_config_defaults sets the spec's defaults. */
    uint16_t max_packet;          /**< announced: largest packet accepted, 32..EWL_MAX_PACKET */
    uint16_t max_message;         /**< announced: largest message accepted, 1..EWL_MAX_MESSAGE */
    uint8_t window;               /**< reliable packets in flight, 1..127 (default 4) */
    uint16_t max_retransmits;     /**< retransmissions without progress before `down` (no-ack), 0..1000 (default 6) */
    uint32_t retransmit_timeout;  /**< ms, doubles on each timeout (default 500) */
    uint32_t max_retransmit_timeout; /**< ms (default 4000) */
    uint32_t sync_interval;       /**< ms between SYNCs while not established (default 1000) */
    uint32_t ping_interval;       /**< ms of silence before a PING; 0: never (default 5000) */
    uint32_t dead_peer_timeout;   /**< ms of silence before `down` (dead-peer); 0: never (default 15000) */
    uint32_t close_timeout;       /**< ms ewl_close waits at most (default 5000) */
    /**
     * Room a command needs in the reliable queue for its answers (with a hello): a command
     * arrives, and is taken (acknowledged) only when that many messages and bytes are free;
     * otherwise it is left for the peer to send again (counted in `deferred`), so that a full
     * queue never swallows an answer. Defaults: 2 messages (an event and a result), 64 bytes.
     */
    uint8_t command_answers;
    uint16_t command_answer_bytes;
} ewl_config;

/** Every counter only grows. */
typedef struct ewl_stats {
    ewl_frame_counters frames;
    uint32_t bad_version, bad_header;
    uint32_t unsynced;           /**< packets before any SYNC from the peer */
    uint32_t duplicates, gaps;   /**< reliable packets taken before / ahead of their turn (dropped) */
    uint32_t deferred;           /**< commands left for the peer to resend: no room for their answers yet */
    uint32_t retransmits;
    uint32_t dropped_best_effort;
    uint32_t messages_in, messages_out;
    uint32_t syncs;
} ewl_stats;

typedef enum ewl_state { EWL_SYNCING, EWL_ESTABLISHED, EWL_CLOSING, EWL_CLOSED } ewl_state;

/* A reliable message held until acknowledged (internal). */
typedef struct ewl_queued {
    uint32_t first_seq;     /* its first packet's sequence number, once numbered */
    uint16_t offset;        /* in queue_bytes */
    uint16_t length;
    uint16_t fragment_size; /* body bytes per packet, once numbered */
    uint16_t id;
    uint8_t kind;
    uint8_t fragments;      /* packets it takes; 0: not numbered yet (its first packet never sent) */
} ewl_queued;

/** One end of a link. Allocate it anywhere; every field is private. */
struct ewl_link {
    const ewl_config *config;
    void *user;
    uint32_t now;          /* the clock, read once per call into the link */
    uint8_t depth;         /* calls into the link in progress (callbacks may send) */
    uint8_t phase;         /* open, closing, closed */
    bool established;
    bool closed_by_peer;
    bool ack_owed;
    bool burst_started;
    bool close_sent;
    uint8_t close_reason;
    uint32_t session;
    uint16_t peer_max_packet; /* 0 until the peer's first SYNC */
    uint16_t peer_max_message;
    uint16_t hello_length;    /* its encoded size: room kept for it in the queue */
    uint32_t sync_at, heard_at, ping_at, close_by, close_sent_at;
    /* sender (§6.1-6.3) */
    uint32_t acked_seq, next_seq, sent_seq;
    uint32_t retransmit_at, timeout;
    bool retransmit_armed;
    uint16_t retries;
    uint16_t last_id;
    uint8_t queue_count;
    uint16_t queue_used;
    ewl_queued queue[EWL_QUEUE_MESSAGES];
    uint8_t queue_bytes[EWL_QUEUE_BYTES];
    /* receiver (§6.1, 6.3) */
    ewl_receive_state receive;
    bool joining, join_broken;
    uint8_t join_kind, join_next_index;
    uint32_t join_length;
    uint8_t join[EWL_MAX_MESSAGE];
    /* framing */
    ewl_frame_decoder decoder;
    uint8_t packet[EWL_MAX_PACKET];
    uint16_t out_length;
    uint8_t out[EWL_WRITE_CHUNK];
    ewl_stats stats;
};

/** The spec's defaults (§5.5) with max_packet/max_message at the buffer sizes; callbacks NULL. */
void ewl_config_defaults(ewl_config *config);

/**
 * Starts a link (loads the receive state, draws a session); writes nothing yet: the first
 * ewl_tick/ewl_poll sends the first SYNC. EWL_ERR_BAD_OPTION for a config out of range, a
 * required callback missing, a hello that does not encode or does not leave room in the
 * queue, or commands declared without on_command.
 */
ewl_status ewl_init(ewl_link *link, const ewl_config *config, void *user);

/** Bytes read from the UART, in any chunking (e.g. from an RX interrupt's ring buffer). Runs due timers too. */
ewl_status ewl_receive(ewl_link *link, const uint8_t *bytes, size_t length);
/** Reads what `config->read` has (up to 2 packets' worth per call, so a noisy line can't hold the caller), feeds it, runs due timers. */
ewl_status ewl_poll(ewl_link *link);
/** Runs the timers that are due (SYNC, retransmission, PING, dead peer, close). Call it at least every few ms, or at ewl_ms_until_next. */
ewl_status ewl_tick(ewl_link *link);
/** Milliseconds until ewl_tick has work (0: now; UINT32_MAX: nothing scheduled), for sleeping MCUs. */
uint32_t ewl_ms_until_next(const ewl_link *link);

/** Queues a message for exactly-once delivery; `id` (optional) is reported by the DELIVERED event. */
ewl_status ewl_send_reliable(ewl_link *link, uint8_t kind, const uint8_t *body, size_t length, uint16_t *id);
/** Sends once, now, if established (else EWL_DROPPED); must fit one of the peer's packets (its max_packet - 7). */
ewl_status ewl_send_best_effort(ewl_link *link, uint8_t kind, const uint8_t *body, size_t length);

/** Best-effort readings of the hello's channels (each at most once, in its channel's type). */
ewl_status ewl_send_telemetry(ewl_link *link, const ewl_reading *readings, size_t count);
/** A reliable event (a state change, an alarm). */
ewl_status ewl_send_event(ewl_link *link, ewl_str name, const ewl_value *value, uint16_t *id);
/** A reliable log line; longer than a packet is fine (fragmented), up to the peer's max_message. */
ewl_status ewl_send_log(ewl_link *link, ewl_log_level level, ewl_str text, uint16_t *id);
/** The result of command `id` (reliable); `value` NULL for none. */
ewl_status ewl_send_result(ewl_link *link, uint16_t command_id, ewl_result_status status, const ewl_value *value, uint16_t *id);

/** Orderly close (§5.4): reason 0 normal, 1 going away (sleep, shutdown). */
void ewl_close(ewl_link *link, uint8_t reason);
/** After a close: look for the peer again (its SYNC does that too). */
void ewl_open(ewl_link *link);

ewl_state ewl_get_state(const ewl_link *link);
uint32_t ewl_session(const ewl_link *link);
void ewl_get_stats(const ewl_link *link, ewl_stats *out);
/** Reliable messages accepted and not yet acknowledged (the hello included). */
size_t ewl_queued_messages(const ewl_link *link);

#ifdef __cplusplus
}
#endif

#endif /* EDGEWS_LINK_H */
