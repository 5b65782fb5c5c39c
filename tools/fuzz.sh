#!/bin/sh
# make fuzz: build each fuzz target (or only $2) with libFuzzer (clang), run it N seconds on
# its corpus; new inputs that raise coverage are added to the corpus directory.
set -eu
secs=${1:-60}
mkdir -p build/libfuzzer
PKG_CFLAGS=$(pkg-config --cflags lua5.4 jansson libmicrohttpd sqlite3)
PKG_LIBS="$(pkg-config --libs lua5.4 jansson libmicrohttpd sqlite3) -lglpk -lm -lpthread"
make -s build/gen/openapi.c build/gen/default_pack.c BUILD=build
srcs="$(ls data/*.c forecast/*.c solver/*.c rules/*.c flow/*.c http/*.c 2>/dev/null) build/gen/openapi.c build/gen/default_pack.c"
only=${2:-}
for f in fuzz/fuzz_*.c; do
	name=$(basename "$f" .c)
	[ -n "$only" ] && [ "$name" != "$only" ] && continue
	corpus="fuzz/corpus/${name#fuzz_}"
	mkdir -p "$corpus"
	# shellcheck disable=SC2086
	clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -I. \
		$PKG_CFLAGS -o "build/libfuzzer/$name" "$f" $srcs $PKG_LIBS
	echo "fuzzing $name for $secs s"
	"build/libfuzzer/$name" -max_total_time="$secs" -max_len=65536 "$corpus"
done
