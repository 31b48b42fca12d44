#!/bin/sh
# run-fuzzers.sh SECONDS: build the libFuzzer harnesses (clang, ASan+UBSan)
# against the parser sources and run each for SECONDS, seeded from the test
# corpora (xml/examples, tests/domains via the unit tests' inline cases are
# not files).  A crash fails the run and leaves its input in the work dir.
set -eu
SECS=${1:-60}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
W=${FUZZ_WORKDIR:-$SRC/build-fuzz}
mkdir -p "$W/corpus-spec" "$W/corpus-domain"
python3 "$SRC/lib/gen-schema.py" "$SRC/xml/virt-inject.rng" "$W/vi-schema.c"
printf '#define PACKAGE_VERSION "fuzz"\n#define SYSCONFDIR "/etc"\n#define LOCALSTATEDIR "/var"\n#define RUNSTATEDIR "/run"\n#define LIBEXECDIR "/usr/libexec"\n#define MODULEDIR "/usr/lib/virt-inject"\n' > "$W/config.h"
CFLAGS="-g -O1 -D_GNU_SOURCE -include $W/config.h -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined $(pkg-config --cflags glib-2.0 gio-2.0 libxml-2.0)"
LIBS="$(pkg-config --libs glib-2.0 gio-2.0 libxml-2.0)"
CORE="$SRC/lib/vi-error.c $SRC/lib/vi-xml.c $SRC/lib/vi-check.c $SRC/lib/vi-spec.c $SRC/lib/vi-spec-model.c $SRC/lib/vi-users.c $SRC/lib/vi-idmap.c $SRC/lib/vi-domain.c $W/vi-schema.c"
for h in spec domain; do
    # shellcheck disable=SC2086
    clang $CFLAGS -I"$SRC/lib" -o "$W/fuzz-$h" "$SRC/tests/fuzz/fuzz-$h.c" $CORE $LIBS
done
cp "$SRC"/xml/examples/minimal.xml "$SRC"/xml/examples/full.xml "$W/corpus-spec/"
cp "$SRC"/xml/examples/*-domain.xml "$W/corpus-domain/"
cp "$SRC"/tests/fuzz/corpus/* "$W/corpus-spec/" 2>/dev/null || true
status=0
for h in spec domain; do
    echo "fuzzing $h for $SECS s"
    (cd "$W" && ASAN_OPTIONS=detect_leaks=0 "./fuzz-$h" -max_total_time="$SECS" -max_len=65536 \
        -timeout=10 -rss_limit_mb=2048 "corpus-$h" 2>"fuzz-$h.log") || { status=1; tail -30 "$W/fuzz-$h.log"; }
    grep -E '^#[0-9]+.*DONE|stat::number_of_executed_units' "$W/fuzz-$h.log" | tail -1 || true
done
exit $status
