/*
 * The test programs' shared helpers (see check.h).
 */
#include "check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures, checks;

void check(bool ok, const char *format, ...) {
    checks++;
    if (ok) return;
    va_list args;
    va_start(args, format);
    fputs("FAIL ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    failures++;
}

int check_failures(void) { return failures; }
int check_count(void) { return checks; }

static void **kept;
static size_t kept_count;

void *keep(void *allocation) {
    void **bigger = realloc(kept, (kept_count + 1) * sizeof *kept);
    if (allocation == NULL || bigger == NULL) abort();
    kept = bigger;
    kept[kept_count++] = allocation;
    return allocation;
}

void release_all(void) {
    for (size_t i = 0; i < kept_count; i++) free(kept[i]);
    free(kept);
}

void buffer_append(buffer *b, const uint8_t *bytes, size_t length) {
    if (b->length + length > b->capacity) {
        size_t capacity = (b->length + length) * 2;
        uint8_t *bigger = realloc(b->data, capacity);
        if (bigger == NULL) abort();
        b->data = bigger;
        b->capacity = capacity;
    }
    memcpy(b->data + b->length, bytes, length);
    b->length += length;
}

void buffer_put(void *context, uint8_t byte) {
    buffer_append(context, &byte, 1);
}

void buffer_clear(buffer *b) {
    free(b->data);
    b->data = NULL;
    b->length = b->capacity = 0;
}

uint8_t *unhex(const char *text, size_t *length) {
    size_t n = strlen(text) / 2;
    uint8_t *out = keep(malloc(n + 1));
    for (size_t i = 0; i < n; i++) {
        unsigned byte;
        if (sscanf(text + 2 * i, "%2x", &byte) != 1) abort();
        out[i] = (uint8_t)byte;
    }
    *length = n;
    return out;
}

char *tohex(const uint8_t *data, size_t length) {
    char *out = keep(malloc(2 * length + 1));
    for (size_t i = 0; i < length; i++) sprintf(out + 2 * i, "%02x", data[i]);
    out[2 * length] = '\0';
    return out;
}

bool same_hex(const uint8_t *data, size_t length, const char *hex) {
    return strcmp(tohex(data, length), hex) == 0;
}
