/*
 * A small JSON reader for the test programs (not part of the library: it allocates). Enough
 * for firmware-sim/vectors/: objects, arrays, strings with escapes, numbers, true/false/null.
 */
#ifndef EWL_TEST_JSON_H
#define EWL_TEST_JSON_H

#include <stdbool.h>
#include <stddef.h>

typedef enum json_kind { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_kind;

typedef struct json {
    json_kind kind;
    bool boolean;
    double number;
    char *string;        /* UTF-8, NUL-terminated */
    size_t length;       /* string bytes */
    struct json **items; /* array items or object values */
    char **keys;         /* object keys */
    size_t count;
} json;

/* The parsed document, or NULL with a message in *error. */
json *json_parse(const char *text, const char **error);
/* Reads and parses a file; exits with a message on failure. */
json *json_load(const char *path);
/* The member `key` of an object, or NULL. */
const json *json_get(const json *object, const char *key);
/* Like json_get, but the member must exist (exits otherwise). */
const json *json_need(const json *object, const char *key);
void json_free(json *value);

#endif
