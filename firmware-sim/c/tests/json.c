#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *at;
    const char *error;
} parser;

static json *parse_value(parser *p);

static void skip_space(parser *p) {
    while (*p->at == ' ' || *p->at == '\n' || *p->at == '\r' || *p->at == '\t') p->at++;
}

static json *new_value(json_kind kind) {
    json *v = calloc(1, sizeof *v);
    if (v == NULL) abort();
    v->kind = kind;
    return v;
}

static void *grow(void *array, size_t count, size_t size) {
    void *bigger = realloc(array, (count + 1) * size);
    if (bigger == NULL) abort();
    return bigger;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static long read_hex4(parser *p) {
    long code = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit(p->at[i]);
        if (d < 0) return -1;
        code = code * 16 + d;
    }
    p->at += 4;
    return code;
}

static size_t put_utf8(char *out, long code) {
    if (code < 0x80) { out[0] = (char)code; return 1; }
    if (code < 0x800) { out[0] = (char)(0xc0 | code >> 6); out[1] = (char)(0x80 | (code & 0x3f)); return 2; }
    if (code < 0x10000) {
        out[0] = (char)(0xe0 | code >> 12); out[1] = (char)(0x80 | ((code >> 6) & 0x3f)); out[2] = (char)(0x80 | (code & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | code >> 18); out[1] = (char)(0x80 | ((code >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((code >> 6) & 0x3f)); out[3] = (char)(0x80 | (code & 0x3f));
    return 4;
}

/* A \u escape, with its low surrogate when it is a high one. */
static long read_escape_code(parser *p) {
    long code = read_hex4(p);
    if (code >= 0xd800 && code <= 0xdbff && p->at[0] == '\\' && p->at[1] == 'u') {
        p->at += 2;
        long low = read_hex4(p);
        if (low < 0xdc00 || low > 0xdfff) return -1;
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
    }
    return code;
}

static char *parse_string(parser *p, size_t *length) {
    char *out = malloc(strlen(p->at) + 1); /* never longer than the rest of the input */
    size_t n = 0;
    if (out == NULL) abort();
    p->at++; /* the opening quote */
    while (*p->at != '"') {
        char c = *p->at++;
        if (c == '\0') { p->error = "unterminated string"; break; }
        if (c != '\\') { out[n++] = c; continue; }
        c = *p->at++;
        switch (c) {
        case 'n': out[n++] = '\n'; break;
        case 't': out[n++] = '\t'; break;
        case 'r': out[n++] = '\r'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'u': {
            long code = read_escape_code(p);
            if (code < 0) { p->error = "bad \\u escape"; break; }
            n += put_utf8(out + n, code);
            break;
        }
        default: out[n++] = c; /* \" \\ \/ */
        }
        if (p->error != NULL) break;
    }
    if (p->error == NULL) p->at++; /* the closing quote */
    out[n] = '\0';
    *length = n;
    return out;
}

static json *parse_container(parser *p, bool object) {
    json *v = new_value(object ? JSON_OBJECT : JSON_ARRAY);
    char close = object ? '}' : ']';
    p->at++;
    skip_space(p);
    if (*p->at == close) { p->at++; return v; }
    for (;;) {
        skip_space(p);
        if (object) {
            size_t length;
            if (*p->at != '"') { p->error = "expected a key"; return v; }
            v->keys = grow(v->keys, v->count, sizeof *v->keys);
            v->keys[v->count] = parse_string(p, &length);
            skip_space(p);
            if (*p->at++ != ':') { p->error = "expected ':'"; return v; }
        }
        v->items = grow(v->items, v->count, sizeof *v->items);
        v->items[v->count++] = parse_value(p);
        if (p->error != NULL) return v;
        skip_space(p);
        if (*p->at == ',') { p->at++; continue; }
        if (*p->at++ != close) p->error = object ? "expected ',' or '}'" : "expected ',' or ']'";
        return v;
    }
}

static json *parse_value(parser *p) {
    skip_space(p);
    if (*p->at == '{' || *p->at == '[') return parse_container(p, *p->at == '{');
    if (*p->at == '"') {
        json *v = new_value(JSON_STRING);
        v->string = parse_string(p, &v->length);
        return v;
    }
    if (strncmp(p->at, "true", 4) == 0 || strncmp(p->at, "false", 5) == 0) {
        json *v = new_value(JSON_BOOL);
        v->boolean = *p->at == 't';
        p->at += v->boolean ? 4 : 5;
        return v;
    }
    if (strncmp(p->at, "null", 4) == 0) {
        p->at += 4;
        return new_value(JSON_NULL);
    }
    char *end;
    json *v = new_value(JSON_NUMBER);
    v->number = strtod(p->at, &end);
    if (end == p->at) p->error = "unexpected character";
    p->at = end;
    return v;
}

json *json_parse(const char *text, const char **error) {
    parser p = {text, NULL};
    json *v = parse_value(&p);
    skip_space(&p);
    if (p.error == NULL && *p.at != '\0') p.error = "trailing characters";
    if (p.error == NULL) return v;
    *error = p.error;
    json_free(v);
    return NULL;
}

json *json_load(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) { fprintf(stderr, "cannot open %s\n", path); exit(2); }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    if (text == NULL || fread(text, 1, (size_t)size, f) != (size_t)size) { fprintf(stderr, "cannot read %s\n", path); exit(2); }
    text[size] = '\0';
    fclose(f);
    const char *error = NULL;
    json *v = json_parse(text, &error);
    if (v == NULL) { fprintf(stderr, "%s: %s\n", path, error); exit(2); }
    free(text);
    return v;
}

const json *json_get(const json *object, const char *key) {
    if (object == NULL || object->kind != JSON_OBJECT) return NULL;
    for (size_t i = 0; i < object->count; i++)
        if (strcmp(object->keys[i], key) == 0) return object->items[i];
    return NULL;
}

const json *json_need(const json *object, const char *key) {
    const json *v = json_get(object, key);
    if (v == NULL) { fprintf(stderr, "vector without \"%s\"\n", key); exit(2); }
    return v;
}

void json_free(json *v) {
    if (v == NULL) return;
    for (size_t i = 0; i < v->count; i++) {
        json_free(v->items[i]);
        if (v->keys != NULL) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->string);
    free(v);
}
