/*
 * What the test programs share: failure counting, hex, growing byte buffers, and a list of
 * allocations freed at exit (the checks run under AddressSanitizer's leak check).
 */
#ifndef EWL_TEST_CHECK_H
#define EWL_TEST_CHECK_H

#include "../edgews_link.h"
#include "json.h"

/* Counts a check; prints the formatted message and counts a failure when `ok` is false. */
void check(bool ok, const char *format, ...);
int check_failures(void);
int check_count(void);

/* Memory freed by release_all. */
void *keep(void *allocation);
void release_all(void);

typedef struct buffer {
    uint8_t *data;
    size_t length, capacity;
} buffer;

void buffer_put(void *context, uint8_t byte); /* an ewl_put_fn */
void buffer_append(buffer *b, const uint8_t *bytes, size_t length);
void buffer_clear(buffer *b);

/* Hex text to bytes (kept), and bytes to hex text (kept). */
uint8_t *unhex(const char *text, size_t *length);
char *tohex(const uint8_t *data, size_t length);
bool same_hex(const uint8_t *data, size_t length, const char *hex);

/* vectors_check: loads dir/name (freed at exit), and the checks of messages.c and sessions.c. */
const json *load_vectors(const char *dir, const char *name);
void check_messages(const char *dir);
void check_sessions(const char *dir);

#endif
