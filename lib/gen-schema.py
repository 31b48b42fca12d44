#!/usr/bin/env python3
"""Turn xml/virt-inject.rng into a C array so the library never looks for
the schema on disk (the hook runs with a minimal environment)."""
import sys

src, out = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
with open(out, "w") as f:
    f.write("/* Generated from virt-inject.rng by gen-schema.py. Do not edit. */\n")
    f.write("#include <glib.h>\n")
    f.write("extern const char vi_schema_rng[];\nextern const gsize vi_schema_rng_len;\n")
    f.write("const char vi_schema_rng[] = {\n")
    for i in range(0, len(data), 16):
        f.write("  " + ", ".join(str(b) for b in data[i:i + 16]) + ",\n")
    f.write("  0\n};\n")
    f.write("const gsize vi_schema_rng_len = %d;\n" % len(data))
