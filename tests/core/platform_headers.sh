#!/bin/sh
# No file of lib/ outside the platform layer (lib/core/platform*.{c,h})
# includes an OS header, or opens a path with fopen (paths are UTF-8; on
# Windows only the platform layer's wide-character calls open them).
#
# OS headers: POSIX and Unix (unistd, fcntl, pthread, sched, dirent, dlfcn,
# poll, semaphore, ftw, termios, sys/*), Linux (linux/*, asm/*), macOS
# (mach/*, mach-o/*, libkern/*, TargetConditionals, xlocale), Windows
# (windows, winbase, winnt, io, direct, process, processthreadsapi,
# synchapi, memoryapi, sysinfoapi, fileapi, handleapi), and the compilers'
# CPU-query headers (cpuid, intrin: x86 cpuid belongs to platform_cpu.c).
# Allowed everywhere: the C standard headers and the ISA intrinsics the
# kernels are written in (immintrin.h, arm_neon.h), cblas.h (OpenBLAS).
#   platform_headers.sh LIB_DIR
set -eu
lib=${1:?usage: platform_headers.sh LIB_DIR}
[ -d "$lib/core" ] || { echo "no $lib/core" >&2; exit 1; }
os='(unistd|fcntl|pthread|sched|dirent|dlfcn|poll|semaphore|ftw|termios|sys/[a-z_/]+|linux/[a-z_/]+|asm/[a-z_/]+|mach/[a-z_/]+|mach-o/[a-z_/]+|libkern/[a-zA-Z_/]+|TargetConditionals|xlocale|windows|winbase|winnt|io|direct|process|processthreadsapi|synchapi|memoryapi|sysinfoapi|fileapi|handleapi|cpuid|intrin)\.h'
files=$(find "$lib" -name '*.[ch]' ! -path "$lib/core/platform*" | sort)
n=$(printf '%s\n' "$files" | grep -c .)
bad=0
# shellcheck disable=SC2086
if grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]*<$os>" $files; then
  echo "FAIL: OS headers outside lib/core/platform* (above)"; bad=1
fi
# shellcheck disable=SC2086
if grep -nE '(^|[^_a-z])fopen[[:space:]]*\(' $files; then
  echo "FAIL: fopen outside lib/core/platform* (use ds_fopen, above)"; bad=1
fi
# The check itself: the platform layer does include them.
grep -qE "#include <(sys/mman|windows|pthread)\.h>" "$lib"/core/platform_*.c || { echo "FAIL: pattern finds nothing"; bad=1; }
[ "$bad" = 0 ] && echo "ok: $n files of lib/ outside the platform layer include no OS header and call no fopen"
exit "$bad"
