/*
 * What a typical device links of the library, for size.mjs: a sensor with one command that
 * polls its UART, sends telemetry, a log line, an event and results, and persists its
 * receive state. Linked bare (no libc, no startup code) with --gc-sections, it measures the
 * flash the library costs such a device; the board behind the callbacks is two registers.
 */
#include "edgews_link.h"

static volatile uint32_t board_clock;
static volatile uint8_t board_uart;
static volatile uint32_t board_backup[2]; /* e.g. RTC backup registers */

static ewl_link link;
static ewl_config config;
static const ewl_channel CHANNELS[] = {{EWL_STR("temperature"), EWL_STR("C"), EWL_F32}};
static const ewl_command_info COMMANDS[] = {{EWL_STR("relay"), EWL_BOOL}};
static const ewl_hello HELLO = {EWL_STR("probe"), EWL_STR("1.0"), CHANNELS, 1, COMMANDS, 1};

static void uart_write(void *user, const uint8_t *bytes, size_t length) {
    (void)user;
    while (length-- > 0) board_uart = *bytes++;
}

static size_t uart_read(void *user, uint8_t *buffer, size_t capacity) {
    (void)user;
    if (capacity == 0 || board_uart == 0) return 0;
    buffer[0] = board_uart;
    return 1;
}

static uint32_t millis(void *user) {
    (void)user;
    return board_clock;
}

static uint32_t new_session(void *user) {
    (void)user;
    return board_clock | 1u;
}

static bool load_state(void *user, ewl_receive_state *state) {
    (void)user;
    state->peer_session = board_backup[0];
    state->expected_seq = (uint8_t)board_backup[1];
    return state->peer_session != 0;
}

static void save_state(void *user, const ewl_receive_state *state) {
    (void)user;
    board_backup[0] = state->peer_session;
    board_backup[1] = state->expected_seq;
}

static void on_command(void *user, const ewl_command *command) {
    ewl_value state = ewl_value_bool(command->argument.as.boolean);
    (void)user;
    ewl_send_event(&link, ewl_cstr("relay"), &state, NULL);
    ewl_send_result(&link, command->id, EWL_RESULT_OK, &state, NULL);
}

/* GCC may call these even in freestanding code (struct copies); libc provides them on a real build. */
void *memcpy(void *to, const void *from, size_t n);
void *memset(void *to, int value, size_t n);

void *memcpy(void *to, const void *from, size_t n) {
    uint8_t *t = to;
    const uint8_t *f = from;
    while (n-- > 0) *t++ = *f++;
    return to;
}

void *memset(void *to, int value, size_t n) {
    uint8_t *t = to;
    while (n-- > 0) *t++ = (uint8_t)value;
    return to;
}

void _start(void);

void _start(void) {
    ewl_reading reading;
    ewl_config_defaults(&config);
    config.write = uart_write;
    config.read = uart_read;
    config.millis = millis;
    config.new_session = new_session;
    config.load_state = load_state;
    config.save_state = save_state;
    config.on_command = on_command;
    config.hello = &HELLO;
    ewl_init(&link, &config, NULL);
    ewl_send_log(&link, EWL_LOG_INFO, ewl_cstr("boot"), NULL);
    reading.channel = 0;
    reading.value = ewl_value_f32(21.5f);
    for (;;) {
        ewl_poll(&link);
        ewl_send_telemetry(&link, &reading, 1);
    }
}
