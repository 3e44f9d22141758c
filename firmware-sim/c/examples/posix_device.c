/*
 * A temperature sensor with a relay, on a POSIX serial port: the library wired to termios,
 * poll(2), a monotonic clock, /dev/urandom and a state file. What a port to an MCU replaces
 * (see ../README.md) is marked PLATFORM.
 *
 *   posix_device [-s state-file] [-i device-id] [-p telemetry-ms] [-r retransmit-ms] /dev/ttyUSB0
 *
 * It announces itself with a hello (channels temperature °C F32 and relay Bool; commands
 * relay(Bool) and interval(U32 ms)), sends telemetry every -p ms, answers each command with a
 * result and a relay command with a reliable "relay" event too. With -s, the link's receive
 * state and the device's own state (relay, interval) are written together, atomically, before
 * each command is acknowledged: after a power cut a command is neither lost nor run twice.
 * One line per happening on stdout; SIGTERM/SIGINT print the counters and exit.
 */
#define _POSIX_C_SOURCE 200809L

#include "../edgews_link.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum { CHANNEL_TEMPERATURE, CHANNEL_RELAY };
enum { COMMAND_RELAY, COMMAND_INTERVAL };
enum { MIN_INTERVAL = 100, MAX_INTERVAL = 60000 };

static const ewl_channel CHANNELS[] = {
    {EWL_STR("temperature"), EWL_STR("°C"), EWL_F32},
    {EWL_STR("relay"), EWL_STR(""), EWL_BOOL},
};
static const ewl_command_info COMMANDS[] = {
    {EWL_STR("relay"), EWL_BOOL},
    {EWL_STR("interval"), EWL_U32},
};

typedef struct device {
    int fd;
    const char *state_path;
    ewl_link link;
    ewl_hello hello;
    bool relay;
    uint32_t interval_ms;
    float temperature;
    uint32_t random_state;
    ewl_receive_state saved; /* what the state file holds */
} device;

static volatile sig_atomic_t stop_signal;

static void on_signal(int signal) {
    stop_signal = signal;
}

static void fail(const char *what) {
    fprintf(stderr, "posix_device: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* ---- PLATFORM: the UART ------------------------------------------------------------------ */

/* Raw 8N1 at 115200 baud, non-blocking: no echo, no line editing, no CR/LF translation. */
static int open_tty(const char *path) {
    struct termios t;
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) fail(path);
    if (tcgetattr(fd, &t) != 0) fail("tcgetattr");
    t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON | IXOFF);
    t.c_oflag &= ~(tcflag_t)OPOST;
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | CSTOPB);
    t.c_cflag |= CS8 | CLOCAL | CREAD;
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    cfsetispeed(&t, B115200);
    cfsetospeed(&t, B115200);
    if (tcsetattr(fd, TCSANOW, &t) != 0) fail("tcsetattr");
    return fd;
}

static void uart_write(void *user, const uint8_t *bytes, size_t length) {
    device *d = user;
    while (length > 0) {
        ssize_t n = write(d->fd, bytes, length);
        if (n > 0) {
            bytes += n;
            length -= (size_t)n;
        } else if (errno == EAGAIN || errno == EINTR) {
            struct pollfd p = {d->fd, POLLOUT, 0};
            poll(&p, 1, 100);
        } else fail("write to the tty");
    }
}

static size_t uart_read(void *user, uint8_t *buffer, size_t capacity) {
    device *d = user;
    ssize_t n = read(d->fd, buffer, capacity);
    if (n >= 0) return (size_t)n;
    if (errno == EAGAIN || errno == EINTR) return 0;
    fail("read from the tty");
    return 0;
}

/* ---- PLATFORM: clock and randomness ------------------------------------------------------ */

static uint32_t millis(void *user) {
    struct timespec now;
    (void)user;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint32_t)((uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u);
}

/* A new session each boot (§5.5): 32 random bits. An MCU without an RNG counts boots in flash. */
static uint32_t new_session(void *user) {
    uint32_t session = 0;
    FILE *urandom = fopen("/dev/urandom", "rb");
    (void)user;
    if (urandom == NULL) fail("/dev/urandom");
    while (session == 0)
        if (fread(&session, sizeof session, 1, urandom) != 1) fail("/dev/urandom");
    fclose(urandom);
    return session;
}

/* ---- PLATFORM: persistence (flash, EEPROM or RTC backup registers on an MCU) -------------- */

/* The state file, if there is one (none: a first boot). */
static void load_state(device *d) {
    unsigned long peer, interval;
    unsigned expected, relay;
    FILE *f = fopen(d->state_path, "r");
    if (f == NULL) return;
    int fields = fscanf(f, "peer %lx expected %u relay %u interval %lu", &peer, &expected, &relay, &interval);
    fclose(f);
    if (fields != 4 || expected > 255 || interval < MIN_INTERVAL || interval > MAX_INTERVAL) {
        fprintf(stderr, "posix_device: %s is not a state file this program wrote; remove it to start afresh\n", d->state_path);
        exit(1);
    }
    d->saved.peer_session = (uint32_t)peer;
    d->saved.expected_seq = (uint8_t)expected;
    d->relay = relay != 0;
    d->interval_ms = (uint32_t)interval;
}

/* The link's state and the device's together, or neither: a temporary file, fsync, rename, fsync the directory. */
static void write_state(device *d) {
    char temporary[4096], directory[4096];
    snprintf(temporary, sizeof temporary, "%s.tmp", d->state_path);
    FILE *f = fopen(temporary, "w");
    if (f == NULL) fail(temporary);
    fprintf(f, "peer %08lx expected %u relay %u interval %lu\n", (unsigned long)d->saved.peer_session, d->saved.expected_seq,
            d->relay ? 1u : 0u, (unsigned long)d->interval_ms);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) fail(temporary);
    fclose(f);
    if (rename(temporary, d->state_path) != 0) fail(d->state_path);
    snprintf(directory, sizeof directory, "%s", d->state_path);
    char *slash = strrchr(directory, '/');
    if (slash != NULL) *slash = '\0';
    int dir = open(slash != NULL ? directory : ".", O_RDONLY);
    if (dir >= 0) {
        fsync(dir);
        close(dir);
    }
}

static bool on_load_state(void *user, ewl_receive_state *state) {
    device *d = user;
    *state = d->saved;
    return d->saved.peer_session != 0;
}

static void on_save_state(void *user, const ewl_receive_state *state) {
    device *d = user;
    d->saved = *state;
    write_state(d);
    printf("saved peer=%08lx expected=%u\n", (unsigned long)state->peer_session, state->expected_seq);
}

/* ---- The application ------------------------------------------------------------------- */

static void report(const char *what, ewl_status status) {
    if (status != EWL_OK && status != EWL_DROPPED) printf("error %s: %s\n", what, ewl_status_text(status));
}

static void on_command(void *user, const ewl_command *command) {
    device *d = user;
    ewl_value value;
    printf("command %u %.*s\n", command->id, (int)d->hello.commands[command->index].name.length, d->hello.commands[command->index].name.chars);
    if (command->index == COMMAND_INTERVAL) {
        uint32_t ms = command->argument.as.u;
        bool good = ms >= MIN_INTERVAL && ms <= MAX_INTERVAL;
        if (good) d->interval_ms = ms;
        value = ewl_value_unsigned(EWL_U32, d->interval_ms);
        report("result", ewl_send_result(&d->link, command->id, good ? EWL_RESULT_OK : EWL_RESULT_BAD_ARGUMENT, &value, NULL));
        return;
    }
    /* The relay switches now; the link saves its state with ours right after this returns. */
    d->relay = command->argument.as.boolean;
    value = ewl_value_bool(d->relay);
    report("event", ewl_send_event(&d->link, ewl_cstr("relay"), &value, NULL));
    report("result", ewl_send_result(&d->link, command->id, EWL_RESULT_OK, &value, NULL));
}

static void on_event(void *user, const ewl_event *event) {
    static const char *const DOWN[] = {"", "dead-peer", "no-ack", "peer-restart"};
    (void)user;
    switch (event->type) {
    case EWL_EVENT_UP: puts("up"); break;
    case EWL_EVENT_DOWN: printf("down %s\n", DOWN[event->down_reason]); break;
    case EWL_EVENT_DELIVERED: printf("delivered %u\n", event->message_id); break;
    case EWL_EVENT_CLOSED: printf("closed %u%s\n", event->close_reason, event->by_peer ? " by peer" : ""); break;
    case EWL_EVENT_ERROR: printf("error %s (message %u)\n", ewl_status_text(event->error), event->message_id); break;
    }
}

/* A slow random walk between 15 and 30 °C. */
static void send_telemetry(device *d) {
    ewl_reading readings[2];
    d->random_state = d->random_state * 1664525u + 1013904223u;
    d->temperature += ((float)(d->random_state >> 24) - 127.5f) / 1270.0f;
    if (d->temperature < 15.0f) d->temperature = 15.0f;
    if (d->temperature > 30.0f) d->temperature = 30.0f;
    readings[0].channel = CHANNEL_TEMPERATURE;
    readings[0].value = ewl_value_f32(d->temperature);
    readings[1].channel = CHANNEL_RELAY;
    readings[1].value = ewl_value_bool(d->relay);
    report("telemetry", ewl_send_telemetry(&d->link, readings, 2));
}

static void print_stats(const ewl_link *link) {
    ewl_stats s;
    ewl_get_stats(link, &s);
    printf("stats {\"packets\":%lu,\"crcErrors\":%lu,\"cobsErrors\":%lu,\"oversize\":%lu,\"truncated\":%lu,\"badVersion\":%lu,\"badHeader\":%lu,"
           "\"unsynced\":%lu,\"duplicates\":%lu,\"gaps\":%lu,\"deferred\":%lu,\"retransmits\":%lu,\"droppedBestEffort\":%lu,\"messagesIn\":%lu,\"messagesOut\":%lu,\"syncs\":%lu}\n",
           (unsigned long)s.frames.packets, (unsigned long)s.frames.crc_errors, (unsigned long)s.frames.cobs_errors, (unsigned long)s.frames.oversize,
           (unsigned long)s.frames.truncated, (unsigned long)s.bad_version, (unsigned long)s.bad_header, (unsigned long)s.unsynced,
           (unsigned long)s.duplicates, (unsigned long)s.gaps, (unsigned long)s.deferred, (unsigned long)s.retransmits, (unsigned long)s.dropped_best_effort,
           (unsigned long)s.messages_in, (unsigned long)s.messages_out, (unsigned long)s.syncs);
}

static void usage(const char *program) {
    fprintf(stderr, "usage: %s [-s state-file] [-i device-id] [-p telemetry-ms, %d..%d] [-r retransmit-ms] TTY\n", program, MIN_INTERVAL, MAX_INTERVAL);
    exit(2);
}

/* Options; exits with the usage on anything else. */
static void parse_arguments(int argc, char **argv, device *d, ewl_config *config, const char **tty) {
    int option;
    while ((option = getopt(argc, argv, "s:i:p:r:")) != -1) {
        switch (option) {
        case 's': d->state_path = optarg; break;
        case 'i': d->hello.device_id = ewl_cstr(optarg); break;
        case 'p':
            d->interval_ms = (uint32_t)strtoul(optarg, NULL, 10);
            if (d->interval_ms < MIN_INTERVAL || d->interval_ms > MAX_INTERVAL) usage(argv[0]);
            break;
        case 'r': config->retransmit_timeout = (uint32_t)strtoul(optarg, NULL, 10); break;
        default: usage(argv[0]);
        }
    }
    if (optind != argc - 1) usage(argv[0]);
    *tty = argv[optind];
}

static void serve(device *d) {
    uint32_t telemetry_at = millis(d);
    while (stop_signal == 0) {
        report("poll", ewl_poll(&d->link));
        uint32_t now = millis(d);
        if ((uint32_t)(now - telemetry_at) < 0x80000000u) {
            send_telemetry(d);
            telemetry_at = now + d->interval_ms;
        }
        uint32_t wait = ewl_ms_until_next(&d->link), to_telemetry = (uint32_t)(telemetry_at - millis(d));
        if (to_telemetry < wait) wait = to_telemetry;
        struct pollfd p = {d->fd, POLLIN, 0};
        if (poll(&p, 1, wait > 1000 ? 1000 : (int)wait) < 0 && errno != EINTR) fail("poll");
        if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) {
            fputs("posix_device: the line closed\n", stderr);
            exit(1);
        }
    }
}

int main(int argc, char **argv) {
    static device d; /* the link's buffers: static, as on an MCU */
    ewl_config config;
    const char *tty;
    struct sigaction action;
    setvbuf(stdout, NULL, _IOLBF, 0);
    ewl_config_defaults(&config);
    d.hello.device_id = ewl_cstr("posix-sensor");
    d.hello.firmware = ewl_cstr("1.0.0");
    d.hello.channels = CHANNELS;
    d.hello.channel_count = sizeof CHANNELS / sizeof CHANNELS[0];
    d.hello.commands = COMMANDS;
    d.hello.command_count = sizeof COMMANDS / sizeof COMMANDS[0];
    d.interval_ms = 1000;
    d.temperature = 21.0f;
    parse_arguments(argc, argv, &d, &config, &tty);
    if (d.state_path != NULL) load_state(&d);
    d.fd = open_tty(tty);
    d.random_state = millis(NULL);
    config.write = uart_write;
    config.read = uart_read;
    config.millis = millis;
    config.new_session = new_session;
    config.on_event = on_event;
    config.on_command = on_command;
    config.hello = &d.hello;
    if (d.state_path != NULL) {
        config.load_state = on_load_state;
        config.save_state = on_save_state;
    }
    ewl_status status = ewl_init(&d.link, &config, &d);
    if (status != EWL_OK) {
        fprintf(stderr, "posix_device: %s\n", ewl_status_text(status));
        return 1;
    }
    printf("session %08lx relay %u\n", (unsigned long)ewl_session(&d.link), d.relay ? 1u : 0u);
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    serve(&d);
    print_stats(&d.link);
    return 0;
}
