/* Decode the row images of MySQL/MariaDB ROWS events straight into Arrow column buffers.
 *
 * The binary log's hot path: pymysqlreplication decodes each value with several Python calls
 * (about 150 per row of a six-column table), and lakeshop then turned each row into Arrow.
 * Here a Decoder, built once per table shape from the TABLE_MAP metadata, appends the rows of
 * each event it is fed to growing column buffers, with the CDC columns (_cdc_op, _cdc_seq,
 * _cdc_committed_at) beside them; finish() hands the buffers to Python, which wraps them as
 * Arrow arrays without another pass. Values are the ones the Python path lands (the type
 * matrix test runs both): the Python decoder stays as the fallback for what this one does not
 * cover (stream.py decides per table and per event).
 *
 * Any malformed input raises ValueError and leaves the decoder as it was before that event.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

enum {
    K_INT = 1,        /* TINYINT..BIGINT signed, and unsigned up to INT: int64 */
    K_UINT64,         /* BIGINT UNSIGNED: decimal128(20, 0) */
    K_YEAR,           /* int64; YEAR 0000 is 0 */
    K_FLOAT,          /* float64 (the exact float32) */
    K_DOUBLE,         /* float64 */
    K_DECIMAL,        /* decimal128(p, out_scale) */
    K_DECIMAL_TEXT,   /* wider than 38 digits: exact text */
    K_BIT,            /* int64 */
    K_DATE,           /* date32 */
    K_DATETIME,       /* old 8-byte DATETIME: timestamp[us] */
    K_DATETIME2,      /* timestamp[us] */
    K_TIMESTAMP,      /* old 4-byte TIMESTAMP: timestamp[us, UTC] */
    K_TIMESTAMP2,     /* timestamp[us, UTC] */
    K_TIME,           /* old 3-byte TIME: text */
    K_TIME2,          /* text, fsp digits */
    K_STRING,         /* CHAR/VARCHAR/BINARY/VARBINARY: length prefix of `width` bytes */
    K_BLOB,           /* BLOB/TEXT/GEOMETRY: length prefix of `width` bytes */
    K_ENUM,           /* index of `width` bytes into labels ([""] + values) */
    K_SET,            /* bitmap of `width` bytes over labels */
};

enum { ENC_BINARY = 0, ENC_UTF8, ENC_CP1252, ENC_ASCII };

typedef struct {
    char *p;
    Py_ssize_t len, cap;
} Buf;

typedef struct {
    int kind, width, is_unsigned, precision, scale, out_scale, fsp, encoding, bits;
    int fixed;          /* bytes per value in `data`, 0 for variable width (offsets) */
    PyObject *labels;   /* tuple of bytes (ENUM, SET) */
    Buf data, offsets, validity;
    Py_ssize_t nulls;
} Col;

typedef struct {
    PyObject_HEAD
    Col *cols;
    int ncols;
    int *pk;
    int npk;
    Py_ssize_t rows, invalid;
    Buf ops, op_offsets, seqs, seq_offsets, committed, keep;
    Py_ssize_t dropped;
} Decoder;

/* ---- growing buffers ---------------------------------------------------------------------- */

static int buf_reserve(Buf *b, Py_ssize_t extra) {
    if (b->len + extra <= b->cap)
        return 0;
    Py_ssize_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra)
        cap *= 2;
    char *p = PyMem_Realloc(b->p, (size_t)cap);
    if (!p) {
        PyErr_NoMemory();
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static int buf_put(Buf *b, const void *src, Py_ssize_t n) {
    if (buf_reserve(b, n) < 0)
        return -1;
    memcpy(b->p + b->len, src, (size_t)n);
    b->len += n;
    return 0;
}

static void buf_free(Buf *b) {
    PyMem_Free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* bit `row` of an Arrow validity bitmap (1 = valid); the bitmap grows a byte at a time */
static int bit_set(Buf *b, Py_ssize_t row, int valid) {
    Py_ssize_t byte = row >> 3;
    while (b->len <= byte) {
        char zero = 0;
        if (buf_put(b, &zero, 1) < 0)
            return -1;
    }
    if (valid)
        b->p[byte] |= (char)(1 << (row & 7));
    else
        b->p[byte] &= (char)~(1 << (row & 7));
    return 0;
}

/* Arrow offsets: a leading 0, then the end of each value */
static int offsets_push(Buf *offsets, Py_ssize_t end) {
    if (end > INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "column data over 2 GiB in one batch");
        return -1;
    }
    int32_t v = (int32_t)end;
    return buf_put(offsets, &v, 4);
}

/* ---- reading -------------------------------------------------------------------------------- */

typedef struct {
    const unsigned char *p, *end;
} Reader;

static int need(Reader *r, Py_ssize_t n) {
    if (r->end - r->p < n) {
        PyErr_SetString(PyExc_ValueError, "row image ends early");
        return -1;
    }
    return 0;
}

static uint64_t le(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t be(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* ---- calendar ------------------------------------------------------------------------------- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int days_in_month(int y, int m) {
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dim[m - 1];
}

/* what Python's datetime accepts (the Python path sends anything else to NULL, counted) */
static int valid_datetime(int y, int mo, int d, int h, int mi, int s) {
    return y >= 1 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 && d <= days_in_month(y, mo) &&
           h <= 23 && mi <= 59 && s <= 59;
}

static int64_t micros_of(int y, int mo, int d, int h, int mi, int s, int64_t frac) {
    return (days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + s) *
               (int64_t)1000000 + frac;
}

/* the fractional part of a DATETIME2/TIMESTAMP2/TIME2 in microseconds; big-endian, signed */
static int read_fsp(Reader *r, int fsp, int64_t *micros) {
    int n = (fsp + 1) / 2;
    *micros = 0;
    if (n == 0)
        return 0;
    if (need(r, n) < 0)
        return -1;
    int64_t v = (int64_t)be(r->p, n);
    if (v & ((int64_t)1 << (8 * n - 1)))
        v -= (int64_t)1 << (8 * n);
    r->p += n;
    if (fsp % 2)
        v /= 10;
    static const int64_t scale[] = {1000000, 100000, 10000, 1000, 100, 10, 1};
    *micros = v * scale[fsp];
    return 0;
}

/* ---- text ----------------------------------------------------------------------------------- */

/* strict UTF-8, as Python's decoder: no overlongs, no surrogates, nothing past U+10FFFF */
static int utf8_valid(const unsigned char *s, Py_ssize_t n) {
    Py_ssize_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int len;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + len > n)
            return 0;
        for (int k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
        i += len;
    }
    return 1;
}

/* cp1252 (what PyMySQL reads MySQL's latin1 as) from 0x80 to 0x9F; 0 where Python's codec
 * has no character (0x81, 0x8D, 0x8F, 0x90, 0x9D: a strict decode fails there) */
static const uint16_t CP1252_HIGH[32] = {
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
};

static int put_text(Col *c, const unsigned char *s, Py_ssize_t n) {
    switch (c->encoding) {
    case ENC_UTF8:
        if (!utf8_valid(s, n)) {
            PyErr_SetString(PyExc_ValueError, "text is not valid UTF-8");
            return -1;
        }
        return buf_put(&c->data, s, n);
    case ENC_ASCII:
        for (Py_ssize_t i = 0; i < n; i++)
            if (s[i] >= 0x80) {
                PyErr_SetString(PyExc_ValueError, "text is not ASCII");
                return -1;
            }
        return buf_put(&c->data, s, n);
    case ENC_CP1252: {
        if (buf_reserve(&c->data, 3 * n) < 0)
            return -1;
        unsigned char *out = (unsigned char *)c->data.p + c->data.len;
        for (Py_ssize_t i = 0; i < n; i++) {
            uint32_t cp = s[i];
            if (cp >= 0x80 && cp < 0xA0) {
                cp = CP1252_HIGH[cp - 0x80];
                if (!cp) {
                    PyErr_SetString(PyExc_ValueError, "byte undefined in cp1252");
                    return -1;
                }
            }
            if (cp < 0x80) {
                *out++ = (unsigned char)cp;
            } else if (cp < 0x800) {
                *out++ = (unsigned char)(0xC0 | (cp >> 6));
                *out++ = (unsigned char)(0x80 | (cp & 0x3F));
            } else {
                *out++ = (unsigned char)(0xE0 | (cp >> 12));
                *out++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
                *out++ = (unsigned char)(0x80 | (cp & 0x3F));
            }
        }
        c->data.len = (char *)out - c->data.p;
        return 0;
    }
    default:
        return buf_put(&c->data, s, n);
    }
}

static int put_ascii(Col *c, const char *s, Py_ssize_t n) { return buf_put(&c->data, s, n); }

/* ---- one value ---------------------------------------------------------------------------- */

#define PUT(col, value)                                                                        \
    do {                                                                                       \
        if (buf_put(&(col)->data, &(value), sizeof(value)) < 0)                                \
            return -1;                                                                         \
    } while (0)

static int put_decimal128(Col *c, __int128 v) { return buf_put(&c->data, &v, 16); }

static const int DIG2BYTES[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};

/* MySQL's binary DECIMAL: groups of 9 digits in 4 bytes, big-endian, the leading and trailing
 * partial groups in fewer bytes; the first bit is the sign, and a negative value has every bit
 * inverted. Returns the groups (integral then fractional) and how many digits each holds. */
static int read_decimal_groups(Reader *r, int precision, int scale, uint32_t *groups,
                               int *widths, int *ngroups, int *negative) {
    int intg = precision - scale, intg0 = intg / 9, intg0x = intg % 9;
    int frac0 = scale / 9, frac0x = scale % 9;
    int size = intg0 * 4 + DIG2BYTES[intg0x] + frac0 * 4 + DIG2BYTES[frac0x];
    if (size <= 0 || size > 40) {
        PyErr_SetString(PyExc_ValueError, "bad DECIMAL metadata");
        return -1;
    }
    if (need(r, size) < 0)
        return -1;
    unsigned char b[40];
    memcpy(b, r->p, (size_t)size);
    r->p += size;
    *negative = !(b[0] & 0x80);
    b[0] ^= 0x80;
    if (*negative)
        for (int i = 0; i < size; i++)
            b[i] = (unsigned char)~b[i];
    int pos = 0, n = 0;
    static const uint32_t LIMIT[10] = {0, 9, 99, 999, 9999, 99999, 999999, 9999999, 99999999,
                                       999999999};
#define GROUP(bytes, width)                                                                    \
    do {                                                                                       \
        uint64_t g = be(b + pos, (bytes));                                                     \
        pos += (bytes);                                                                        \
        if (g > LIMIT[(width)]) {                                                              \
            PyErr_SetString(PyExc_ValueError, "bad DECIMAL digits");                           \
            return -1;                                                                         \
        }                                                                                      \
        groups[n] = (uint32_t)g;                                                               \
        widths[n++] = (width);                                                                 \
    } while (0)
    if (intg0x)
        GROUP(DIG2BYTES[intg0x], intg0x);
    for (int i = 0; i < intg0; i++)
        GROUP(4, 9);
    for (int i = 0; i < frac0; i++)
        GROUP(4, 9);
    if (frac0x)
        GROUP(DIG2BYTES[frac0x], frac0x);
#undef GROUP
    *ngroups = n;
    return 0;
}

static const __int128 POW10[10] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
                                   100000000, 1000000000};

static int decode_value(Col *c, Reader *r) {
    switch (c->kind) {
    case K_INT: {
        if (need(r, c->width) < 0)
            return -1;
        uint64_t u = le(r->p, c->width);
        r->p += c->width;
        int64_t v;
        if (c->is_unsigned || c->width == 8) {
            v = (int64_t)u;
        } else {
            int shift = 64 - 8 * c->width;
            v = ((int64_t)(u << shift)) >> shift;
        }
        PUT(c, v);
        return 0;
    }
    case K_UINT64: {
        if (need(r, 8) < 0)
            return -1;
        __int128 v = (__int128)le(r->p, 8);
        r->p += 8;
        return put_decimal128(c, v);
    }
    case K_YEAR: {
        if (need(r, 1) < 0)
            return -1;
        int64_t v = r->p[0] ? 1900 + r->p[0] : 0;
        r->p += 1;
        PUT(c, v);
        return 0;
    }
    case K_FLOAT: {
        if (need(r, 4) < 0)
            return -1;
        float f;
        memcpy(&f, r->p, 4);
        r->p += 4;
        double v = f;
        PUT(c, v);
        return 0;
    }
    case K_DOUBLE: {
        if (need(r, 8) < 0)
            return -1;
        double v;
        memcpy(&v, r->p, 8);
        r->p += 8;
        PUT(c, v);
        return 0;
    }
    case K_DECIMAL:
    case K_DECIMAL_TEXT: {
        uint32_t groups[16];
        int widths[16], n, negative;
        if (read_decimal_groups(r, c->precision, c->scale, groups, widths, &n, &negative) < 0)
            return -1;
        if (c->kind == K_DECIMAL) {
            __int128 v = 0;
            for (int i = 0; i < n; i++)
                v = v * POW10[widths[i]] + groups[i];
            for (int i = c->scale; i < c->out_scale; i++)
                v *= 10;
            return put_decimal128(c, negative ? -v : v);
        }
        /* text as Python formats Decimal(...) with "f": the integral digits without leading
         * zeros (at least one), then the fraction with every one of its digits */
        char digits[96];
        int len = 0;
        for (int i = 0; i < n; i++) {
            uint32_t g = groups[i];
            for (int k = widths[i] - 1; k >= 0; k--) {
                digits[len + k] = (char)('0' + g % 10);
                g /= 10;
            }
            len += widths[i];
        }
        int intg = len - c->scale, start = 0;
        while (start < intg - 1 && digits[start] == '0')
            start++;
        if (negative && put_ascii(c, "-", 1) < 0)
            return -1;
        if (intg > 0) {
            if (put_ascii(c, digits + start, intg - start) < 0)
                return -1;
        } else if (put_ascii(c, "0", 1) < 0) {
            return -1;
        }
        if (c->scale > 0) {
            if (put_ascii(c, ".", 1) < 0 || put_ascii(c, digits + intg, c->scale) < 0)
                return -1;
        }
        return 0;
    }
    case K_BIT: {
        if (need(r, c->width) < 0)
            return -1;
        uint64_t u = be(r->p, c->width);
        r->p += c->width;
        if (c->bits < 64)
            u &= ((uint64_t)1 << c->bits) - 1;
        int64_t v = (int64_t)u;
        PUT(c, v);
        return 0;
    }
    default:
        PyErr_SetString(PyExc_ValueError, "unknown column kind");
        return -1;
    }
}

/* Values that can be NULL although the image holds bytes for them (zero and invalid dates):
 * returns 1 when the value is NULL, 0 when written, -1 on error. */
static int decode_temporal(Col *c, Reader *r) {
    switch (c->kind) {
    case K_DATE: {
        if (need(r, 3) < 0)
            return -1;
        uint32_t v = (uint32_t)le(r->p, 3);
        r->p += 3;
        int day = v & 31, month = (v >> 5) & 15, year = (int)(v >> 9);
        if (!v || !valid_datetime(year, month, day, 0, 0, 0))
            return 1;
        int32_t days = (int32_t)days_from_civil(year, (unsigned)month, (unsigned)day);
        PUT(c, days);
        return 0;
    }
    case K_DATETIME: {
        if (need(r, 8) < 0)
            return -1;
        uint64_t v = le(r->p, 8);
        r->p += 8;
        uint64_t date = v / 1000000, time = v % 1000000;
        int year = (int)(date / 10000), month = (int)(date % 10000 / 100), day = (int)(date % 100);
        int h = (int)(time / 10000), mi = (int)(time % 10000 / 100), s = (int)(time % 100);
        if (!v || !valid_datetime(year, month, day, h, mi, s))
            return 1;
        int64_t micros = micros_of(year, month, day, h, mi, s, 0);
        PUT(c, micros);
        return 0;
    }
    case K_DATETIME2: {
        if (need(r, 5) < 0)
            return -1;
        /* the sign bit (set: non-negative, as every DATETIME is) ignored, as the Python
         * decoder slices it */
        int64_t packed = (int64_t)(be(r->p, 5) & (((uint64_t)1 << 39) - 1));
        r->p += 5;
        int64_t frac;
        if (read_fsp(r, c->fsp, &frac) < 0)
            return -1;
        int64_t ymd = packed >> 17, ym = ymd >> 5, hms = packed & 0x1FFFF;
        int year = (int)(ym / 13), month = (int)(ym % 13), day = (int)(ymd & 31);
        int h = (int)(hms >> 12), mi = (int)((hms >> 6) & 63), s = (int)(hms & 63);
        if (!valid_datetime(year, month, day, h, mi, s))
            return 1;
        int64_t micros = micros_of(year, month, day, h, mi, s, frac);
        PUT(c, micros);
        return 0;
    }
    case K_TIMESTAMP:
    case K_TIMESTAMP2: {
        if (need(r, 4) < 0)
            return -1;
        uint64_t secs = c->kind == K_TIMESTAMP ? le(r->p, 4) : be(r->p, 4);
        r->p += 4;
        int64_t frac = 0;
        if (c->kind == K_TIMESTAMP2 && read_fsp(r, c->fsp, &frac) < 0)
            return -1;
        if (secs == 0 && frac == 0)
            return 2; /* the zero TIMESTAMP: NULL, as in the snapshot (not counted) */
        int64_t micros = (int64_t)secs * 1000000 + frac;
        PUT(c, micros);
        return 0;
    }
    default:
        PyErr_SetString(PyExc_ValueError, "unknown temporal kind");
        return -1;
    }
}

static int put_time_text(Col *c, int negative, int64_t hours, int minutes, int seconds,
                         int64_t micros, int fsp) {
    char text[48];
    int n = snprintf(text, sizeof text, "%s%02lld:%02d:%02d", negative ? "-" : "",
                     (long long)hours, minutes, seconds);
    if (fsp > 0) {
        char frac[16];
        snprintf(frac, sizeof frac, ".%06lld", (long long)micros);
        memcpy(text + n, frac, (size_t)fsp + 1);
        n += fsp + 1;
    }
    return put_ascii(c, text, n);
}

/* variable-width values: text, bytes, TIME as text, ENUM, SET */
static int decode_var(Col *c, Reader *r) {
    switch (c->kind) {
    case K_DECIMAL_TEXT:
        return decode_value(c, r);
    case K_STRING:
    case K_BLOB: {
        if (need(r, c->width) < 0)
            return -1;
        uint64_t n = le(r->p, c->width);
        r->p += c->width;
        if (need(r, (Py_ssize_t)n) < 0)
            return -1;
        const unsigned char *s = r->p;
        r->p += n;
        return put_text(c, s, (Py_ssize_t)n);
    }
    case K_TIME: {
        if (need(r, 3) < 0)
            return -1;
        uint32_t v = (uint32_t)le(r->p, 3);
        r->p += 3;
        int64_t total = (int64_t)(v / 10000) * 3600 + (v % 10000 / 100) * 60 + v % 100;
        return put_time_text(c, 0, total / 3600, (int)(total % 3600 / 60), (int)(total % 60), 0,
                             0);
    }
    case K_TIME2: {
        /* MySQL's my_time_packed_from_binary, then TIME_from_longlong_time_packed */
        int n = (c->fsp + 1) / 2;
        if (need(r, 3 + n) < 0)
            return -1;
        int64_t intpart = (int64_t)be(r->p, 3) - 0x800000, frac = 0, packed;
        if (n == 1 || n == 2) {
            frac = (int64_t)be(r->p + 3, n);
            if (intpart < 0 && frac) {
                intpart++;
                frac -= n == 1 ? 0x100 : 0x10000;
            }
            packed = (intpart << 24) + frac * (n == 1 ? 10000 : 100);
        } else if (n == 3) {
            packed = (int64_t)be(r->p, 6) - ((int64_t)0x800000 << 24);
        } else {
            packed = intpart << 24;
        }
        r->p += 3 + n;
        int negative = packed < 0;
        if (negative)
            packed = -packed;
        int64_t hms = packed >> 24, micros = packed % (1 << 24);
        return put_time_text(c, negative, (hms >> 12) % (1 << 10), (int)((hms >> 6) % (1 << 6)),
                             (int)(hms % (1 << 6)), micros, c->fsp);
    }
    case K_ENUM: {
        if (need(r, c->width) < 0)
            return -1;
        uint64_t i = le(r->p, c->width);
        r->p += c->width;
        if (i >= (uint64_t)PyTuple_GET_SIZE(c->labels)) {
            PyErr_SetString(PyExc_ValueError, "ENUM index out of range");
            return -1;
        }
        PyObject *label = PyTuple_GET_ITEM(c->labels, (Py_ssize_t)i);
        return buf_put(&c->data, PyBytes_AS_STRING(label), PyBytes_GET_SIZE(label));
    }
    case K_SET: {
        if (need(r, c->width) < 0)
            return -1;
        uint64_t mask = le(r->p, c->width);
        r->p += c->width;
        Py_ssize_t count = PyTuple_GET_SIZE(c->labels);
        int first = 1;
        for (Py_ssize_t i = 0; i < count && i < 64; i++) {
            if (!(mask & ((uint64_t)1 << i)))
                continue;
            if (!first && put_ascii(c, ",", 1) < 0)
                return -1;
            PyObject *label = PyTuple_GET_ITEM(c->labels, i);
            if (buf_put(&c->data, PyBytes_AS_STRING(label), PyBytes_GET_SIZE(label)) < 0)
                return -1;
            first = 0;
        }
        return 0;
    }
    default:
        PyErr_SetString(PyExc_ValueError, "unknown variable-width kind");
        return -1;
    }
}

static int is_temporal(int kind) {
    return kind == K_DATE || kind == K_DATETIME || kind == K_DATETIME2 || kind == K_TIMESTAMP ||
           kind == K_TIMESTAMP2;
}

/* ---- one row image ---------------------------------------------------------------------- */

static int put_null(Col *c, Py_ssize_t row) {
    c->nulls++;
    if (bit_set(&c->validity, row, 0) < 0)
        return -1;
    if (c->fixed) {
        if (buf_reserve(&c->data, c->fixed) < 0)
            return -1;
        memset(c->data.p + c->data.len, 0, (size_t)c->fixed);
        c->data.len += c->fixed;
        return 0;
    }
    return offsets_push(&c->offsets, c->data.len);
}

static int decode_image(Decoder *d, Reader *r) {
    Py_ssize_t nbytes = (d->ncols + 7) / 8;
    if (need(r, nbytes) < 0)
        return -1;
    const unsigned char *nullmap = r->p;
    r->p += nbytes;
    Py_ssize_t row = d->rows;
    for (int i = 0; i < d->ncols; i++) {
        Col *c = &d->cols[i];
        if (nullmap[i >> 3] & (1 << (i & 7))) {
            if (put_null(c, row) < 0)
                return -1;
            continue;
        }
        if (is_temporal(c->kind)) {
            int null = decode_temporal(c, r);
            if (null < 0)
                return -1;
            if (null) {
                if (null == 1)
                    d->invalid++;
                if (put_null(c, row) < 0)
                    return -1;
                continue;
            }
        } else if (c->fixed) {
            if (decode_value(c, r) < 0)
                return -1;
        } else {
            if (decode_var(c, r) < 0 || offsets_push(&c->offsets, c->data.len) < 0)
                return -1;
        }
        if (bit_set(&c->validity, row, 1) < 0)
            return -1;
    }
    d->rows++;
    return 0;
}

/* ---- the CDC columns of a row ------------------------------------------------------------ */

static const char *OPS[] = {"insert", "update", "delete"};

static int put_cdc(Decoder *d, int op, const char *prefix, Py_ssize_t prefix_len, int64_t row,
                   int64_t committed) {
    const char *name = OPS[op];
    if (buf_put(&d->ops, name, (Py_ssize_t)strlen(name)) < 0 ||
        offsets_push(&d->op_offsets, d->ops.len) < 0)
        return -1;
    char digits[20];
    int n = 0;
    for (uint64_t v = (uint64_t)row; v || n < 10; v /= 10)
        digits[19 - n++] = (char)('0' + v % 10);
    if (buf_put(&d->seqs, prefix, prefix_len) < 0 || buf_put(&d->seqs, digits + 20 - n, n) < 0 ||
        offsets_push(&d->seq_offsets, d->seqs.len) < 0)
        return -1;
    if (buf_put(&d->committed, &committed, 8) < 0)
        return -1;
    char keep = 1;
    return buf_put(&d->keep, &keep, 1);
}

/* ---- saving and restoring lengths, so a bad event leaves nothing behind ---------------- */

typedef struct {
    Py_ssize_t data, offsets, validity, nulls;
} ColMark;

typedef struct {
    Py_ssize_t rows, invalid, dropped, ops, op_offsets, seqs, seq_offsets, committed, keep;
    ColMark *cols;
} Mark;

static int mark(Decoder *d, Mark *m) {
    m->cols = PyMem_Malloc(sizeof(ColMark) * (size_t)(d->ncols ? d->ncols : 1));
    if (!m->cols) {
        PyErr_NoMemory();
        return -1;
    }
    m->rows = d->rows;
    m->invalid = d->invalid;
    m->dropped = d->dropped;
    m->ops = d->ops.len;
    m->op_offsets = d->op_offsets.len;
    m->seqs = d->seqs.len;
    m->seq_offsets = d->seq_offsets.len;
    m->committed = d->committed.len;
    m->keep = d->keep.len;
    for (int i = 0; i < d->ncols; i++) {
        m->cols[i].data = d->cols[i].data.len;
        m->cols[i].offsets = d->cols[i].offsets.len;
        m->cols[i].validity = d->cols[i].validity.len;
        m->cols[i].nulls = d->cols[i].nulls;
    }
    return 0;
}

static void restore(Decoder *d, Mark *m) {
    d->rows = m->rows;
    d->invalid = m->invalid;
    d->dropped = m->dropped;
    d->ops.len = m->ops;
    d->op_offsets.len = m->op_offsets;
    d->seqs.len = m->seqs;
    d->seq_offsets.len = m->seq_offsets;
    d->committed.len = m->committed;
    d->keep.len = m->keep;
    for (int i = 0; i < d->ncols; i++) {
        d->cols[i].data.len = m->cols[i].data;
        d->cols[i].offsets.len = m->cols[i].offsets;
        d->cols[i].validity.len = m->cols[i].validity;
        d->cols[i].nulls = m->cols[i].nulls;
    }
}

/* ---- comparing the primary key of two decoded rows ------------------------------------- */

static int valid_at(Col *c, Py_ssize_t row) {
    return (c->validity.p[row >> 3] >> (row & 7)) & 1;
}

static int same_value(Col *c, Py_ssize_t a, Py_ssize_t b) {
    int va = valid_at(c, a), vb = valid_at(c, b);
    if (!va || !vb)
        return va == vb;
    if (c->fixed) {
        if (c->kind == K_FLOAT || c->kind == K_DOUBLE) {
            double x, y;
            memcpy(&x, c->data.p + a * c->fixed, 8);
            memcpy(&y, c->data.p + b * c->fixed, 8);
            return x == y;
        }
        return memcmp(c->data.p + a * c->fixed, c->data.p + b * c->fixed, (size_t)c->fixed) == 0;
    }
    const int32_t *off = (const int32_t *)c->offsets.p;
    int32_t sa = off[a], ea = off[a + 1], sb = off[b], eb = off[b + 1];
    return ea - sa == eb - sb && memcmp(c->data.p + sa, c->data.p + sb, (size_t)(ea - sa)) == 0;
}

/* ---- the Decoder type ------------------------------------------------------------------ */

static void Decoder_dealloc(Decoder *self) {
    if (self->cols) {
        for (int i = 0; i < self->ncols; i++) {
            Col *c = &self->cols[i];
            buf_free(&c->data);
            buf_free(&c->offsets);
            buf_free(&c->validity);
            Py_XDECREF(c->labels);
        }
        PyMem_Free(self->cols);
    }
    PyMem_Free(self->pk);
    buf_free(&self->ops);
    buf_free(&self->op_offsets);
    buf_free(&self->seqs);
    buf_free(&self->seq_offsets);
    buf_free(&self->committed);
    buf_free(&self->keep);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int fixed_width(int kind) {
    switch (kind) {
    case K_INT:
    case K_YEAR:
    case K_FLOAT:
    case K_DOUBLE:
    case K_BIT:
    case K_DATETIME:
    case K_DATETIME2:
    case K_TIMESTAMP:
    case K_TIMESTAMP2:
        return 8;
    case K_UINT64:
    case K_DECIMAL:
        return 16;
    case K_DATE:
        return 4;
    default:
        return 0;
    }
}

/* empty, with the leading 0 of every offsets buffer */
static int reset(Decoder *d) {
    d->rows = d->invalid = d->dropped = 0;
    d->ops.len = d->seqs.len = d->committed.len = d->keep.len = 0;
    d->op_offsets.len = d->seq_offsets.len = 0;
    if (offsets_push(&d->op_offsets, 0) < 0 || offsets_push(&d->seq_offsets, 0) < 0)
        return -1;
    for (int i = 0; i < d->ncols; i++) {
        Col *c = &d->cols[i];
        c->data.len = c->offsets.len = c->validity.len = 0;
        c->nulls = 0;
        if (!c->fixed && offsets_push(&c->offsets, 0) < 0)
            return -1;
    }
    return 0;
}

/* Decoder(specs, pk): specs is a sequence of (kind, width, unsigned, precision, scale,
 * out_scale, fsp, encoding, bits, labels) tuples, one per column; pk the indexes of the
 * primary-key columns (an update that changes them lands as a delete and an insert). */
static int Decoder_init(Decoder *self, PyObject *args, PyObject *Py_UNUSED(kwds)) {
    PyObject *specs, *pk;
    if (!PyArg_ParseTuple(args, "OO", &specs, &pk))
        return -1;
    PyObject *seq = PySequence_Fast(specs, "specs must be a sequence");
    if (!seq)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    self->cols = PyMem_Calloc((size_t)(n ? n : 1), sizeof(Col));
    if (!self->cols) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return -1;
    }
    self->ncols = (int)n;
    for (Py_ssize_t i = 0; i < n; i++) {
        Col *c = &self->cols[i];
        PyObject *labels = NULL;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "iiiiiiiiiO", &c->kind, &c->width,
                              &c->is_unsigned, &c->precision, &c->scale, &c->out_scale, &c->fsp,
                              &c->encoding, &c->bits, &labels)) {
            Py_DECREF(seq);
            return -1;
        }
        if (c->kind < K_INT || c->kind > K_SET || c->width < 0 || c->width > 8 || c->fsp < 0 ||
            c->fsp > 6 || c->precision < 0 || c->precision > 65 || c->scale < 0 ||
            c->scale > c->precision ||
            (c->kind == K_DECIMAL && (c->precision > 38 || c->out_scale < c->scale ||
                                      c->out_scale > 38 ||
                                      c->precision - c->scale + c->out_scale > 38))) {
            Py_DECREF(seq);
            PyErr_Format(PyExc_ValueError, "bad spec for column %zd", i);
            return -1;
        }
        if (c->kind == K_ENUM || c->kind == K_SET) {
            if (!PyTuple_Check(labels)) {
                Py_DECREF(seq);
                PyErr_SetString(PyExc_TypeError, "labels must be a tuple of bytes");
                return -1;
            }
            for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(labels); k++)
                if (!PyBytes_Check(PyTuple_GET_ITEM(labels, k))) {
                    Py_DECREF(seq);
                    PyErr_SetString(PyExc_TypeError, "labels must be a tuple of bytes");
                    return -1;
                }
            Py_INCREF(labels);
            c->labels = labels;
        }
        c->fixed = fixed_width(c->kind);
    }
    Py_DECREF(seq);
    PyObject *pks = PySequence_Fast(pk, "pk must be a sequence");
    if (!pks)
        return -1;
    self->npk = (int)PySequence_Fast_GET_SIZE(pks);
    self->pk = PyMem_Calloc((size_t)(self->npk ? self->npk : 1), sizeof(int));
    for (int i = 0; i < self->npk; i++) {
        long v = PyLong_AsLong(PySequence_Fast_GET_ITEM(pks, i));
        if (v < 0 || v >= n) {
            Py_DECREF(pks);
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "primary-key index out of range");
            return -1;
        }
        self->pk[i] = (int)v;
    }
    Py_DECREF(pks);
    return reset(self);
}

/* feed(data, start, end, op, prefix, committed_us) -> rows landed from this event
 *   data[start:end]: the row images of one event; op 0 write, 1 update (before and after
 *   image per row), 2 delete; prefix the _cdc_seq text before the row number
 *   ("FFFFFF.PPPPPPPPPPPPP."); committed_us the commit time in microseconds. */
static PyObject *Decoder_feed(Decoder *self, PyObject *args) {
    Py_buffer view;
    Py_ssize_t start, end;
    int op;
    const char *prefix;
    Py_ssize_t prefix_len;
    long long committed;
    if (!PyArg_ParseTuple(args, "y*nnis#L", &view, &start, &end, &op, &prefix, &prefix_len,
                          &committed))
        return NULL;
    if (start < 0 || end > view.len || start > end || op < 0 || op > 2) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "bad event bounds");
        return NULL;
    }
    Mark m;
    if (mark(self, &m) < 0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    Reader r = {(const unsigned char *)view.buf + start, (const unsigned char *)view.buf + end};
    Py_ssize_t before_rows = self->rows;
    int64_t i = 0;
    int failed = 0;
    while (r.p < r.end && !failed) {
        if (op != 1) {
            failed = decode_image(self, &r) < 0 ||
                     put_cdc(self, op == 0 ? 0 : 2, prefix, prefix_len, 2 * i, committed) < 0;
        } else {
            Py_ssize_t old = self->rows;
            if (decode_image(self, &r) < 0 || decode_image(self, &r) < 0) {
                failed = 1;
                break;
            }
            int moved = 0;
            for (int k = 0; k < self->npk && !moved; k++)
                moved = !same_value(&self->cols[self->pk[k]], old, old + 1);
            if (moved) {
                /* a new primary key: the old key is gone (delete), the new one appears */
                failed = put_cdc(self, 2, prefix, prefix_len, 2 * i, committed) < 0 ||
                         put_cdc(self, 0, prefix, prefix_len, 2 * i + 1, committed) < 0;
            } else {
                /* the before image is decoded (its invalid values count, as in the Python
                 * path) but does not land: it is dropped by finish()'s mask */
                failed = put_cdc(self, 1, prefix, prefix_len, 2 * i, committed) < 0 ||
                         put_cdc(self, 1, prefix, prefix_len, 2 * i, committed) < 0;
                if (!failed) {
                    self->keep.p[self->keep.len - 2] = 0;
                    self->dropped++;
                }
            }
        }
        i++;
    }
    PyBuffer_Release(&view);
    if (failed) {
        restore(self, &m);
        PyMem_Free(m.cols);
        return NULL;
    }
    PyMem_Free(m.cols);
    return PyLong_FromSsize_t((self->rows - before_rows) - (self->dropped - m.dropped));
}

static PyObject *take(Buf *b) {
    PyObject *out = PyBytes_FromStringAndSize(b->p ? b->p : "", b->len);
    return out;
}

/* finish() -> (rows, columns, ops, seqs, committed, keep, invalid)
 *   columns: per column (validity, offsets or None, data, nulls); ops and seqs: (offsets,
 *   data); committed: int64 microseconds; keep: one byte per row (None when every row lands).
 *   Offsets are Arrow's (a leading 0). The decoder is empty afterwards and can be fed
 *   again. */
static PyObject *Decoder_finish(Decoder *self, PyObject *Py_UNUSED(ignored)) {
    PyObject *cols = PyList_New(self->ncols);
    if (!cols)
        return NULL;
    for (int i = 0; i < self->ncols; i++) {
        Col *c = &self->cols[i];
        PyObject *item = Py_BuildValue("(NNNn)", take(&c->validity),
                                       c->fixed ? (Py_INCREF(Py_None), Py_None) : take(&c->offsets),
                                       take(&c->data), c->nulls);
        if (!item) {
            Py_DECREF(cols);
            return NULL;
        }
        PyList_SET_ITEM(cols, i, item);
    }
    PyObject *keep;
    if (self->dropped) {
        keep = take(&self->keep);
    } else {
        Py_INCREF(Py_None);
        keep = Py_None;
    }
    PyObject *out = Py_BuildValue("(nN(NN)(NN)NNn)", self->rows, cols, take(&self->op_offsets),
                                  take(&self->ops), take(&self->seq_offsets), take(&self->seqs),
                                  take(&self->committed), keep, self->invalid);
    if (out && reset(self) < 0) {
        Py_DECREF(out);
        return NULL;
    }
    return out;
}

static PyObject *Decoder_rows(Decoder *self, void *Py_UNUSED(closure)) {
    return PyLong_FromSsize_t(self->rows - self->dropped);
}

static PyMethodDef Decoder_methods[] = {
    {"feed", (PyCFunction)Decoder_feed, METH_VARARGS,
     "feed(data, start, end, op, prefix, committed_us): decode one event's row images"},
    {"finish", (PyCFunction)Decoder_finish, METH_NOARGS,
     "finish(): the buffers of every row fed since the last finish"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Decoder_getset[] = {
    {"rows", (getter)Decoder_rows, NULL, "rows that will land", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject DecoderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ingestion.mysql_cdc._rowimage.Decoder",
    .tp_basicsize = sizeof(Decoder),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Decodes the row images of one table shape into Arrow column buffers.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Decoder_init,
    .tp_dealloc = (destructor)Decoder_dealloc,
    .tp_methods = Decoder_methods,
    .tp_getset = Decoder_getset,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_rowimage",
    "Row images of MySQL/MariaDB ROWS events decoded into Arrow buffers (see stream.py).", -1,
    NULL, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__rowimage(void) {
    if (PyType_Ready(&DecoderType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    Py_INCREF(&DecoderType);
    if (PyModule_AddObject(m, "Decoder", (PyObject *)&DecoderType) < 0) {
        Py_DECREF(&DecoderType);
        Py_DECREF(m);
        return NULL;
    }
#define KIND(name) PyModule_AddIntConstant(m, #name, name)
    KIND(K_INT); KIND(K_UINT64); KIND(K_YEAR); KIND(K_FLOAT); KIND(K_DOUBLE); KIND(K_DECIMAL);
    KIND(K_DECIMAL_TEXT); KIND(K_BIT); KIND(K_DATE); KIND(K_DATETIME); KIND(K_DATETIME2);
    KIND(K_TIMESTAMP); KIND(K_TIMESTAMP2); KIND(K_TIME); KIND(K_TIME2); KIND(K_STRING);
    KIND(K_BLOB); KIND(K_ENUM); KIND(K_SET); KIND(ENC_BINARY); KIND(ENC_UTF8); KIND(ENC_CP1252);
    KIND(ENC_ASCII);
#undef KIND
    return m;
}
