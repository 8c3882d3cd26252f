#include "pl_sniff.h"

#include <string.h>

#define OCTET "application/octet-stream"

static uint32_t be16(const unsigned char *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t le16(const unsigned char *p) { return (uint32_t)p[1] << 8 | p[0]; }
static uint32_t le24(const unsigned char *p) { return le16(p) | (uint32_t)p[2] << 16; }
static uint32_t be32(const unsigned char *p) { return be16(p) << 16 | be16(p + 2); }

static int has(const unsigned char *p, size_t n, size_t at, const char *magic, size_t len)
{
    return n >= at + len && memcmp(p + at, magic, len) == 0;
}

static void set_size(pl_sniff *out, uint32_t w, uint32_t h)
{
    /* A zero dimension is no image; keep the type, drop the size. */
    if (w == 0 || h == 0)
        return;
    out->has_size = 1;
    out->width = w;
    out->height = h;
}

static void png_size(const unsigned char *p, size_t n, pl_sniff *out)
{
    /* The first chunk must be IHDR: length, "IHDR", width, height (BE). */
    if (has(p, n, 12, "IHDR", 4) && n >= 24 && be32(p + 16) <= 0x7fffffff &&
        be32(p + 20) <= 0x7fffffff)
        set_size(out, be32(p + 16), be32(p + 20));
}

static int jpeg_is_sof(unsigned m)
{
    /* SOF0..SOF15 less DHT (C4), JPG (C8) and DAC (CC). */
    return m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc;
}

/* Walks the marker segments up to the first frame header. Each step moves
 * forward by at least 2 bytes, so the walk ends within n. */
static void jpeg_size(const unsigned char *p, size_t n, pl_sniff *out)
{
    size_t i = 2;

    while (i + 4 <= n) {
        unsigned m;
        if (p[i] != 0xff)
            return;
        m = p[i + 1];
        if (m == 0xff) { /* fill byte */
            i++;
            continue;
        }
        if (m == 0x01 || (m >= 0xd0 && m <= 0xd8)) { /* no length */
            i += 2;
            continue;
        }
        if (m == 0xd9 || m == 0xda) /* end of image, start of scan */
            return;
        if (jpeg_is_sof(m)) {
            if (i + 9 <= n && be16(p + i + 2) >= 7)
                set_size(out, be16(p + i + 7), be16(p + i + 5));
            return;
        }
        if (be16(p + i + 2) < 2)
            return;
        i += 2 + be16(p + i + 2);
    }
}

static void webp_size(const unsigned char *p, size_t n, pl_sniff *out)
{
    if (has(p, n, 12, "VP8 ", 4) && n >= 30 && has(p, n, 23, "\x9d\x01\x2a", 3))
        set_size(out, le16(p + 26) & 0x3fff, le16(p + 28) & 0x3fff);
    else if (has(p, n, 12, "VP8L", 4) && n >= 25 && p[20] == 0x2f) {
        uint32_t b = (uint32_t)p[21] | (uint32_t)p[22] << 8 | (uint32_t)p[23] << 16 |
                     (uint32_t)p[24] << 24;
        set_size(out, (b & 0x3fff) + 1, ((b >> 14) & 0x3fff) + 1);
    } else if (has(p, n, 12, "VP8X", 4) && n >= 30)
        set_size(out, le24(p + 24) + 1, le24(p + 27) + 1);
}

/* An MPEG audio frame header: sync, a defined version, layer, bitrate and
 * sample rate. (ADTS AAC has layer 0 and is left out.) */
static int mp3_frame(const unsigned char *p, size_t n)
{
    return n >= 4 && p[0] == 0xff && (p[1] & 0xe0) == 0xe0 && ((p[1] >> 3) & 3) != 1 &&
           ((p[1] >> 1) & 3) != 0 && (p[2] >> 4) != 0xf && (p[2] >> 4) != 0 &&
           ((p[2] >> 2) & 3) != 3;
}

/* Matroska's EBML header names its DocType near the start. */
static const char *matroska_type(const unsigned char *p, size_t n)
{
    size_t lim = n < 64 ? n : 64;
    for (size_t i = 4; i + 4 <= lim; i++)
        if (memcmp(p + i, "webm", 4) == 0)
            return "video/webm";
    return "video/x-matroska";
}

static const char *media_type(const unsigned char *p, size_t n)
{
    if (has(p, n, 0, "%PDF-", 5))
        return "application/pdf";
    if (has(p, n, 0, "PK\x03\x04", 4) || has(p, n, 0, "PK\x05\x06", 4))
        return "application/zip";
    if (has(p, n, 4, "ftyp", 4))
        return has(p, n, 8, "qt  ", 4) ? "video/quicktime" : "video/mp4";
    if (has(p, n, 0, "\x1a\x45\xdf\xa3", 4))
        return matroska_type(p, n);
    if (has(p, n, 0, "OggS", 4))
        return "audio/ogg";
    if (has(p, n, 0, "ID3", 3) || mp3_frame(p, n))
        return "audio/mpeg";
    return OCTET;
}

void pl_sniff_detect(const unsigned char *p, size_t n, pl_sniff *out)
{
    memset(out, 0, sizeof(*out));
    if (has(p, n, 0, "\x89PNG\r\n\x1a\n", 8)) {
        out->content_type = "image/png";
        png_size(p, n, out);
    } else if (has(p, n, 0, "\xff\xd8\xff", 3)) {
        out->content_type = "image/jpeg";
        jpeg_size(p, n, out);
    } else if (has(p, n, 0, "GIF87a", 6) || has(p, n, 0, "GIF89a", 6)) {
        out->content_type = "image/gif";
        if (n >= 10)
            set_size(out, le16(p + 6), le16(p + 8));
    } else if (has(p, n, 0, "RIFF", 4) && has(p, n, 8, "WEBP", 4)) {
        out->content_type = "image/webp";
        webp_size(p, n, out);
    } else {
        out->content_type = media_type(p, n);
    }
}

int pl_sniff_is_image(const char *t)
{
    return t && (strcmp(t, "image/png") == 0 || strcmp(t, "image/jpeg") == 0 ||
                 strcmp(t, "image/gif") == 0 || strcmp(t, "image/webp") == 0);
}
