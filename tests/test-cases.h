/* test-cases.h: a static table of cases registered as one gtest each. */
#pragma once

#include <glib.h>

/* One test "@prefix/NAME" per element of the array @table, whose elements
 * have a "const char *name", calling @func with a pointer to the element. */
#define VI_TEST_ADD_CASES(prefix, table, func) \
    for (gsize vi_case_ = 0; vi_case_ < G_N_ELEMENTS (table); vi_case_++) { \
        g_autofree char *vi_path_ = g_strdup_printf ("%s/%s", (prefix), (table)[vi_case_].name); \
        g_test_add_data_func (vi_path_, &(table)[vi_case_], (func)); \
    }
