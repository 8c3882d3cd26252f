/* The libFuzzer entry point every target defines; replay.c calls it too. */
#ifndef PL_FUZZ_H
#define PL_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every parser here wants a NUL-terminated copy; the caller frees it. */
char *fuzz_cstr(const uint8_t *data, size_t size);

#endif
