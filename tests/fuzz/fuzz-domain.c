/* fuzz-domain.c: libFuzzer harness for the domain parser and target choice. */
#include <stddef.h>
#include <stdint.h>

#include "vi-domain.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    ViDomain *dom = vi_domain_parse ((const char *) data, size, NULL, NULL);

    if (dom != NULL) {
        ViSpec *spec = dom->inject ? vi_spec_from_node (dom->inject, NULL, NULL) : NULL;
        ViTarget *t = vi_domain_choose_target (dom, spec, NULL, NULL);

        if (t != NULL) {
            char *d = vi_target_describe (t);
            g_free (d);
        }
        vi_target_free (t);
        vi_spec_free (spec);
        vi_domain_free (dom);
    }
    return 0;
}
