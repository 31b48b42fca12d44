#!/bin/sh
# bench-hook.sh BUILD_DIR: the hook when it has nothing to do (a domain
# without an inject element; an operation other than prepare), as libvirt
# runs it: a fresh process per event, the domain XML on stdin.
set -eu
B=$(cd "$1" && pwd)
HOOK=$B/hooks/virt-inject-hook
N=${N:-200}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cat > "$T/plain.xml" <<'XML'
<domain type='kvm'><name>plain</name><uuid>8c0d2f4e-6a57-4b0e-9d7e-3f1a2b3c4d5e</uuid>
<memory unit='MiB'>1024</memory><devices><disk type='file' device='disk'>
<driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/images/plain.qcow2'/>
<target dev='vda'/></disk></devices></domain>
XML
sed 's|<devices>|<metadata><vi:inject xmlns:vi="http://virt-inject.org/xmlns/libvirt/domain/1.0"><vi:hostname>h</vi:hostname></vi:inject></metadata><devices>|' "$T/plain.xml" > "$T/req.xml"
run () {  # run XML OP SUBOP -> ms per call
    s=$(date +%s%N)
    i=0; while [ $i -lt "$N" ]; do "$HOOK" d "$2" "$3" - < "$1"; i=$((i + 1)); done
    e=$(date +%s%N)
    echo "scale=2; ($e - $s) / $N / 1000000" | bc
}
base=$(s=$(date +%s%N); i=0; while [ $i -lt "$N" ]; do /bin/true < "$T/plain.xml"; i=$((i + 1)); done; e=$(date +%s%N); echo "scale=2; ($e - $s) / $N / 1000000" | bc)
printf '| hook event (mean of %s runs)               | ms per call | target |\n' "$N"
printf '|---------------------------------------------|------------:|--------|\n'
printf '| prepare begin, no inject element            | %11s | < 5 ms |\n' "$(run "$T/plain.xml" prepare begin)"
printf '| started begin, domain with a request        | %11s | < 5 ms |\n' "$(run "$T/req.xml" started begin)"
printf '| stopped end, domain with a request          | %11s | < 5 ms |\n' "$(run "$T/req.xml" stopped end)"
printf '| (for scale: /bin/true)                      | %11s |        |\n' "$base"
