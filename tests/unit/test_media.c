/* pl_sniff (types from magic bytes, image sizes) and pl_fname (names). */
#include "pl_check.h"
#include "pl_fname.h"
#include "pl_sniff.h"

#include <errno.h>
#include <string.h>

static pl_sniff sn;

static const char *sniff(const void *p, size_t n)
{
    pl_sniff_detect(p, n, &sn);
    return sn.content_type;
}
#define SNIFF(lit) sniff(lit, sizeof(lit) - 1)

START_TEST(test_types)
{
    ck_assert_str_eq(SNIFF("%PDF-1.4\n"), "application/pdf");
    ck_assert_str_eq(SNIFF("PK\x03\x04zz"), "application/zip");
    ck_assert_str_eq(SNIFF("\0\0\0\x18" "ftypisom"), "video/mp4");
    ck_assert_str_eq(SNIFF("\0\0\0\x14" "ftypqt  "), "video/quicktime");
    ck_assert_str_eq(SNIFF("\x1a\x45\xdf\xa3\x9f\x42\x82\x84webm"), "video/webm");
    ck_assert_str_eq(SNIFF("\x1a\x45\xdf\xa3\x9f\x42\x82\x88matroska"), "video/x-matroska");
    ck_assert_str_eq(SNIFF("OggS\0\2"), "audio/ogg");
    ck_assert_str_eq(SNIFF("ID3\4\0"), "audio/mpeg");
    ck_assert_str_eq(SNIFF("\xff\xfb\x90\x64"), "audio/mpeg");
    ck_assert_str_eq(SNIFF("\xff\xf1\x50\x80"), "application/octet-stream"); /* AAC */
    /* What a browser would run is never named as such. */
    ck_assert_str_eq(SNIFF("<html><script>x</script>"), "application/octet-stream");
    ck_assert_str_eq(SNIFF("<svg xmlns='http://www.w3.org/2000/svg'/>"),
                     "application/octet-stream");
    ck_assert_str_eq(sniff("", 0), "application/octet-stream");
    ck_assert_str_eq(SNIFF("\x89PNG"), "application/octet-stream"); /* truncated sig */
}
END_TEST

START_TEST(test_png)
{
    static const unsigned char png[] = "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\x01\x2c\0\0\0\xc8";
    ck_assert_str_eq(sniff(png, sizeof(png) - 1), "image/png");
    ck_assert(sn.has_size);
    ck_assert_uint_eq(sn.width, 300);
    ck_assert_uint_eq(sn.height, 200);
    ck_assert_str_eq(sniff(png, 20), "image/png");
    ck_assert(!sn.has_size); /* the header is cut off: no size, no overread */
}
END_TEST

START_TEST(test_jpeg)
{
    /* APP0 of 16 bytes, then SOF0: height 7, width 5. */
    static const unsigned char j[] =
        "\xff\xd8\xff\xe0\x00\x10JFIF\0\1\1\0\0\1\0\1\0\0"
        "\xff\xc0\x00\x11\x08\x00\x07\x00\x05\x03";
    ck_assert_str_eq(sniff(j, sizeof(j) - 1), "image/jpeg");
    ck_assert(sn.has_size);
    ck_assert_uint_eq(sn.width, 5);
    ck_assert_uint_eq(sn.height, 7);
    /* A segment length below 2 ends the walk instead of looping. */
    ck_assert_str_eq(SNIFF("\xff\xd8\xff\xe1\x00\x01\xff\xc0\0\0\0\0\0"), "image/jpeg");
    ck_assert(!sn.has_size);
    /* DHT (C4) is not a frame header. */
    ck_assert_str_eq(SNIFF("\xff\xd8\xff\xc4\x00\x04\0\0\xff\xda"), "image/jpeg");
    ck_assert(!sn.has_size);
}
END_TEST

START_TEST(test_gif_webp)
{
    ck_assert_str_eq(SNIFF("GIF89a\x0a\x00\x14\x00"), "image/gif");
    ck_assert_uint_eq(sn.width, 10);
    ck_assert_uint_eq(sn.height, 20);
    ck_assert_str_eq(SNIFF("GIF87a\x00\x00\x14\x00"), "image/gif");
    ck_assert(!sn.has_size); /* zero width */
    ck_assert_str_eq(SNIFF("RIFF\0\0\0\0WEBPVP8 \0\0\0\0\0\0\0\x9d\x01\x2a\x10\x00\x20\x00"),
                     "image/webp");
    ck_assert_uint_eq(sn.width, 16);
    ck_assert_uint_eq(sn.height, 32);
    ck_assert_str_eq(SNIFF("RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0\x63\0\0\x31\0\0"),
                     "image/webp");
    ck_assert_uint_eq(sn.width, 100);
    ck_assert_uint_eq(sn.height, 50);
    /* VP8L: 14-bit width-1 and height-1: 2x1. */
    ck_assert_str_eq(SNIFF("RIFF\0\0\0\0WEBPVP8L\0\0\0\0\x2f\x01\x00\x00\x00"), "image/webp");
    ck_assert_uint_eq(sn.width, 2);
    ck_assert_uint_eq(sn.height, 1);
    ck_assert(pl_sniff_is_image("image/webp"));
    ck_assert(!pl_sniff_is_image("application/pdf"));
}
END_TEST

static char name[PL_FNAME_MAX + 1];

START_TEST(test_sanitize)
{
    ck_assert_int_eq(pl_fname_sanitize("../../etc/passwd", name), 0);
    ck_assert_str_eq(name, "passwd");
    ck_assert_int_eq(pl_fname_sanitize("C:\\Users\\x\\cat.png", name), 0);
    ck_assert_str_eq(name, "cat.png");
    ck_assert_int_eq(pl_fname_sanitize("a\r\nb\x7f" "c\xc2\x85" "d", name), 0);
    ck_assert_str_eq(name, "abcd");
    ck_assert_int_eq(pl_fname_sanitize("invoice\xe2\x80\xae" "gpj.exe", name), 0);
    ck_assert_str_eq(name, "invoicegpj.exe");
    ck_assert_int_eq(pl_fname_sanitize("..hidden", name), 0);
    ck_assert_str_eq(name, "hidden");
    ck_assert_int_eq(pl_fname_sanitize("/", name), 0);
    ck_assert_str_eq(name, PL_FNAME_DEFAULT);
    ck_assert_int_eq(pl_fname_sanitize(NULL, name), 0);
    ck_assert_str_eq(name, PL_FNAME_DEFAULT);
    ck_assert_int_eq(pl_fname_sanitize("\xc3\x28", name), -EILSEQ);
    ck_assert_int_eq(pl_fname_sanitize("\xed\xa0\x80", name), -EILSEQ); /* surrogate */
    ck_assert_int_eq(pl_fname_sanitize("\xc0\xaf", name), -EILSEQ);     /* overlong '/' */
}
END_TEST

START_TEST(test_sanitize_length)
{
    char in[1000];
    /* 150 two-byte characters: cut at 100 (200 bytes), never mid-character. */
    for (int i = 0; i < 150; i++)
        memcpy(in + 2 * i, "\xc3\xa9", 2);
    in[300] = '\0';
    ck_assert_int_eq(pl_fname_sanitize(in, name), 0);
    ck_assert_uint_eq(strlen(name), 200);
    memmove(in + 1, in, 301);
    in[0] = 'x'; /* now 201 bytes fit only as 1 + 99*2 */
    ck_assert_int_eq(pl_fname_sanitize(in, name), 0);
    ck_assert_uint_eq(strlen(name), 199);
}
END_TEST

START_TEST(test_disposition)
{
    char d[PL_FNAME_DISPOSITION_LEN];
    ck_assert_int_eq(pl_fname_disposition("r\xc3\xa9sum\xc3\xa9 \"x\";%.pdf", 0, d, sizeof(d)), 0);
    ck_assert_str_eq(d, "attachment; filename=\"r_sum_ _x_;_.pdf\"; "
                        "filename*=UTF-8''r%C3%A9sum%C3%A9%20%22x%22%3B%25.pdf");
    ck_assert_int_eq(pl_fname_disposition("a.png", 1, d, sizeof(d)), 0);
    ck_assert_str_eq(d, "inline; filename=\"a.png\"; filename*=UTF-8''a.png");
    ck_assert_int_eq(pl_fname_disposition("a.png", 1, d, 20), -E2BIG);
}
END_TEST

int main(int argc, char **argv)
{
    Suite *s = suite_create("media");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_types);
    tcase_add_test(tc, test_png);
    tcase_add_test(tc, test_jpeg);
    tcase_add_test(tc, test_gif_webp);
    tcase_add_test(tc, test_sanitize);
    tcase_add_test(tc, test_sanitize_length);
    tcase_add_test(tc, test_disposition);
    suite_add_tcase(s, tc);
    return pl_check_main(s, argc, argv);
}
