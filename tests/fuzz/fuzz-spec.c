/* fuzz-spec.c: libFuzzer harness for the request parser (vi_spec_parse). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vi-spec.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    ViLimits limits = { 1 << 20, 1 << 16, 256 };
    ViSpec *spec = vi_spec_parse ((const char *) data, size, &limits, NULL);

    if (spec != NULL) {
        /* Whatever parses must format and parse back to the same digest. */
        char *canon = vi_spec_format (spec);
        char *d1 = vi_spec_digest (spec);
        ViSpec *again = vi_spec_parse (canon, strlen (canon), &limits, NULL);
        char *d2 = again ? vi_spec_digest (again) : NULL;

        if (d2 == NULL || strcmp (d1, d2) != 0)
            __builtin_trap ();
        g_free (d2);
        vi_spec_free (again);
        g_free (d1);
        g_free (canon);
        vi_spec_free (spec);
    }
    return 0;
}
