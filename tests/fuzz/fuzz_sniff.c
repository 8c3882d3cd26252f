/* pl_sniff_detect and pl_fname_*: untrusted bytes in, bounded reads only
 * (ASan catches any overread, since the input buffer is exactly size
 * bytes), and the results keep their promises. */
#include "fuzz.h"
#include "pl_fname.h"
#include "pl_sniff.h"

#include <stdlib.h>
#include <string.h>

static void check_sniff(const uint8_t *data, size_t size)
{
    pl_sniff s;

    pl_sniff_detect(data, size, &s);
    if (!s.content_type)
        abort();
    if (s.has_size && (s.width == 0 || s.height == 0))
        abort();
    if (s.has_size && !pl_sniff_is_image(s.content_type))
        abort(); /* only images have a size */
}

static void check_fname(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size), out[PL_FNAME_MAX + 1];
    char disp[PL_FNAME_DISPOSITION_LEN];

    pl_fname_sanitize(s, out);
    if (out[0] == '\0' || strlen(out) > PL_FNAME_MAX || strpbrk(out, "/\\"))
        abort();
    for (const unsigned char *p = (const unsigned char *)out; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            abort();
    if (pl_fname_disposition(out, size & 1, disp, sizeof(disp)) != 0)
        abort(); /* any sanitised name must fit */
    for (const unsigned char *p = (const unsigned char *)disp; *p; p++)
        if (*p < 0x20 || *p >= 0x7f)
            abort(); /* a header value must be plain ASCII */
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);

    if (!copy)
        return 0;
    memcpy(copy, data, size);
    check_sniff(copy, size);
    free(copy);
    check_fname(data, size);
    return 0;
}
