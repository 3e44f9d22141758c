/*
 * Typed values (docs/link-protocol.md §7.1) and the bounded byte writer and reader the
 * message encodings are built from; also the few memory helpers a freestanding build needs.
 * Multi-byte numbers are little-endian whatever the CPU's order.
 */
#include "ewl_internal.h"

/* ---- Memory helpers -------------------------------------------------------------------- */

void ewl_zero(void *to, size_t n) {
    uint8_t *t = to;
    while (n--) *t++ = 0;
}

void ewl_copy(void *to, const void *from, size_t n) {
    uint8_t *t = to;
    const uint8_t *f = from;
    while (n--) *t++ = *f++;
}

void ewl_move(void *to, const void *from, size_t n) {
    uint8_t *t = to;
    const uint8_t *f = from;
    if (t < f) {
        while (n--) *t++ = *f++;
    } else {
        while (n--) t[n] = f[n];
    }
}

bool ewl_same(const void *a, const void *b, size_t n) {
    const uint8_t *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i]) return false;
    return true;
}

void ewl_put_le(uint8_t *to, uint32_t value, size_t bytes) {
    for (size_t i = 0; i < bytes; i++) to[i] = (uint8_t)(value >> (8 * i));
}

/* ---- UTF-8 ----------------------------------------------------------------------------- */

/* Continuation bytes a lead byte announces, and the range its second byte must be in (the
 * tighter ranges after E0, ED, F0 and F4 rule out overlongs, surrogates and > U+10FFFF). */
static bool utf8_lead(uint8_t lead, size_t *follow, uint8_t *low, uint8_t *high) {
    *low = 0x80;
    *high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) *follow = 1;
    else if (lead >= 0xe0 && lead <= 0xef) {
        *follow = 2;
        if (lead == 0xe0) *low = 0xa0;
        if (lead == 0xed) *high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        *follow = 3;
        if (lead == 0xf0) *low = 0x90;
        if (lead == 0xf4) *high = 0x8f;
    } else return false;
    return true;
}

bool ewl_valid_utf8(const uint8_t *text, size_t length) {
    size_t i = 0;
    while (i < length) {
        uint8_t lead = text[i++];
        if (lead < 0x80) continue;
        size_t follow;
        uint8_t low, high;
        if (!utf8_lead(lead, &follow, &low, &high) || length - i < follow) return false;
        if (text[i] < low || text[i] > high) return false;
        for (size_t k = 1; k < follow; k++)
            if ((text[i + k] & 0xc0) != 0x80) return false;
        i += follow;
    }
    return true;
}

/* ---- Writer ---------------------------------------------------------------------------- */

enum { MAX_STR8 = 255 };

void ewl_writer_init(ewl_writer *w, uint8_t *out, size_t capacity) {
    w->out = out;
    w->capacity = capacity;
    w->length = 0;
    w->status = EWL_OK;
}

void ewl_writer_fail(ewl_writer *w, ewl_status status) {
    if (w->status == EWL_OK) w->status = status;
}

void ewl_write_bytes(ewl_writer *w, const void *bytes, size_t length) {
    if (w->out != NULL) {
        if (length > w->capacity - w->length) {
            ewl_writer_fail(w, EWL_ERR_TOO_BIG);
            return;
        }
        ewl_copy(w->out + w->length, bytes, length);
    }
    w->length += length;
}

void ewl_write_u8(ewl_writer *w, uint8_t value) {
    ewl_write_bytes(w, &value, 1);
}

static void write_le(ewl_writer *w, uint32_t value, size_t bytes) {
    uint8_t le[4];
    ewl_put_le(le, value, bytes);
    ewl_write_bytes(w, le, bytes);
}

void ewl_write_u16(ewl_writer *w, uint16_t value) {
    write_le(w, value, 2);
}

static void write_bytes8(ewl_writer *w, const void *bytes, size_t length) {
    if (length > MAX_STR8) {
        ewl_writer_fail(w, EWL_ERR_BAD_VALUE); /* the length byte holds at most 255 */
        return;
    }
    ewl_write_u8(w, (uint8_t)length);
    ewl_write_bytes(w, bytes, length);
}

void ewl_write_str8(ewl_writer *w, ewl_str text) {
    if (!ewl_valid_utf8((const uint8_t *)text.chars, text.length)) ewl_writer_fail(w, EWL_ERR_BAD_VALUE);
    else write_bytes8(w, text.chars, text.length);
}

static bool in_range(const ewl_value *v) {
    switch (v->type) {
    case EWL_U8: return v->as.u <= 0xff;
    case EWL_U16: return v->as.u <= 0xffff;
    case EWL_I8: return v->as.i >= -0x80 && v->as.i <= 0x7f;
    case EWL_I16: return v->as.i >= -0x8000 && v->as.i <= 0x7fff;
    default: return true;
    }
}

void ewl_write_value(ewl_writer *w, const ewl_value *v) {
    if (!in_range(v)) {
        ewl_writer_fail(w, EWL_ERR_BAD_VALUE);
        return;
    }
    switch (v->type) {
    case EWL_NONE: return;
    case EWL_BOOL: ewl_write_u8(w, v->as.boolean ? 1 : 0); return;
    case EWL_U8: case EWL_U16: case EWL_U32: write_le(w, v->as.u, (size_t)1 << ((v->type - EWL_U8) / 2)); return;
    /* Two's complement: converting a negative int32_t to uint32_t is defined (modulo 2^32). */
    case EWL_I8: case EWL_I16: case EWL_I32: write_le(w, (uint32_t)v->as.i, (size_t)1 << ((v->type - EWL_I8) / 2)); return;
    case EWL_F32: {
        uint32_t bits; /* IEEE 754 binary32 on every target this runs on */
        ewl_copy(&bits, &v->as.f32, 4);
        write_le(w, bits, 4);
        return;
    }
    case EWL_F64: {
        uint64_t bits;
        ewl_copy(&bits, &v->as.f64, 8);
        write_le(w, (uint32_t)bits, 4);
        write_le(w, (uint32_t)(bits >> 32), 4);
        return;
    }
    case EWL_STRING: ewl_write_str8(w, v->as.string); return;
    case EWL_BYTES: write_bytes8(w, v->as.bytes.data, v->as.bytes.length); return;
    default: ewl_writer_fail(w, EWL_ERR_BAD_VALUE);
    }
}

ewl_status ewl_writer_finish(const ewl_writer *w, size_t *length) {
    if (w->status == EWL_OK && length != NULL) *length = w->length;
    return w->status;
}

/* ---- Reader ---------------------------------------------------------------------------- */

void ewl_reader_init(ewl_reader *r, const uint8_t *body, size_t length) {
    r->at = body;
    r->left = length;
    r->failed = false;
}

/* The next `n` bytes, or NULL (and the reader failed) when the body ends first. */
static const uint8_t *take(ewl_reader *r, size_t n) {
    if (r->failed || n > r->left) {
        r->failed = true;
        return NULL;
    }
    const uint8_t *p = r->at;
    r->at += n;
    r->left -= n;
    return p;
}

static uint32_t read_le(ewl_reader *r, size_t bytes) {
    const uint8_t *p = take(r, bytes);
    uint32_t value = 0;
    for (size_t i = 0; p != NULL && i < bytes; i++) value |= (uint32_t)p[i] << (8 * i);
    return value;
}

uint8_t ewl_read_u8(ewl_reader *r) {
    return (uint8_t)read_le(r, 1);
}

uint16_t ewl_read_u16(ewl_reader *r) {
    return (uint16_t)read_le(r, 2);
}

static const uint8_t *read_bytes8(ewl_reader *r, size_t *length) {
    *length = ewl_read_u8(r);
    return take(r, *length);
}

ewl_str ewl_read_str8(ewl_reader *r) {
    ewl_str s = {"", 0};
    size_t length;
    const uint8_t *p = read_bytes8(r, &length);
    if (p == NULL) return s;
    /* "decoders reject invalid UTF-8" */
    if (!ewl_valid_utf8(p, length)) r->failed = true;
    s.chars = (const char *)p;
    s.length = length;
    return s;
}

uint8_t ewl_read_type(ewl_reader *r, bool allow_none) {
    uint8_t type = ewl_read_u8(r);
    if (type > EWL_BYTES || (type == EWL_NONE && !allow_none)) r->failed = true;
    return type;
}

/* The low `bits` of `v` read as two's complement, without implementation-defined conversions. */
static int32_t sign_extend(uint32_t v, unsigned bits) {
    uint32_t sign = (uint32_t)1 << (bits - 1);
    return (v & sign) ? -(int32_t)(~v & (sign - 1)) - 1 : (int32_t)v;
}

void ewl_read_value(ewl_reader *r, uint8_t type, ewl_value *out) {
    ewl_zero(out, sizeof *out);
    out->type = type;
    switch (type) {
    case EWL_NONE: return;
    case EWL_BOOL: {
        uint8_t byte = ewl_read_u8(r);
        if (byte > 1) r->failed = true; /* "00 or 01 (other values rejected)" */
        out->as.boolean = byte == 1;
        return;
    }
    case EWL_U8: case EWL_U16: case EWL_U32: out->as.u = read_le(r, (size_t)1 << ((type - EWL_U8) / 2)); return;
    case EWL_I8: case EWL_I16: case EWL_I32: {
        size_t bytes = (size_t)1 << ((type - EWL_I8) / 2);
        out->as.i = sign_extend(read_le(r, bytes), (unsigned)(8 * bytes));
        return;
    }
    case EWL_F32: {
        uint32_t bits = read_le(r, 4);
        ewl_copy(&out->as.f32, &bits, 4);
        return;
    }
    case EWL_F64: {
        uint64_t low = read_le(r, 4), high = read_le(r, 4);
        uint64_t bits = high << 32 | low;
        ewl_copy(&out->as.f64, &bits, 8);
        return;
    }
    case EWL_STRING: out->as.string = ewl_read_str8(r); return;
    case EWL_BYTES: out->as.bytes.data = read_bytes8(r, &out->as.bytes.length); return;
    default: r->failed = true;
    }
}

ewl_status ewl_reader_finish(const ewl_reader *r) {
    /* "A decoder rejects a body that ends early, has bytes left over, or breaks a rule" */
    return r->failed || r->left != 0 ? EWL_ERR_MALFORMED : EWL_OK;
}
