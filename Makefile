# fulcrum — a plain Makefile. `make help` lists the targets.
# SPDX-License-Identifier: GPL-3.0-or-later

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
SANITIZE ?=
PORT    ?= 8080
DB      ?= $(BUILD)/demo.db

# Debian packages: to build, to test, to benchmark. Installed when missing.
BUILD_PKGS = gcc make pkg-config libc6-dev libglpk-dev liblua5.4-dev libjansson-dev \
             libmicrohttpd-dev libsqlite3-dev libcmocka-dev nettle-dev libcurl4-gnutls-dev
TEST_PKGS  = curl glpk-utils clang-format clang-tidy chromium
FUZZ_PKGS  = clang libclang-rt-14-dev
BENCH_PKGS = wrk curl r-cran-forecast

WARN = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wformat=2 -Wvla -Werror -Wno-format-truncation
CFLAGS ?= -O2 -g
ASAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
TSAN_FLAGS = -fsanitize=thread -fno-omit-frame-pointer
# SANITIZE=1: ASan+UBSan; SANITIZE=thread: ThreadSanitizer
SAN_FLAGS = $(if $(filter thread,$(SANITIZE)),$(TSAN_FLAGS),$(if $(SANITIZE),$(ASAN_FLAGS)))
# Recursive (=): pkg-config runs when a recipe needs it, after the packages are in.
PKG_CFLAGS = $(shell pkg-config --cflags lua5.4 jansson libmicrohttpd sqlite3 nettle libcurl)
PKG_LIBS   = $(shell pkg-config --libs lua5.4 jansson libmicrohttpd sqlite3 nettle libcurl) -lglpk -lm -lpthread
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SAN_FLAGS) $(PKG_CFLAGS) -I. -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(SAN_FLAGS)

# The product library: engines, store, flows and the HTTP door. The CLI links it into
# build/fulcrum; the benchmarks into build/fulcrum-bench, outside the product.
LIB_SRC  = $(wildcard data/*.c forecast/*.c solver/*.c rules/*.c flow/*.c http/*.c)
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/openapi.o \
           $(BUILD)/obj/gen/default_pack.o $(BUILD)/obj/gen/web.o
CLI_OBJ  = $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard cli/*.c))
TEST_SRC = $(wildcard tests/unit/test_*.c)
TEST_BIN = $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC = $(wildcard fuzz/fuzz_*.c)
FUZZ_REPLAY = $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/%_replay)
DEPFILES = $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(BUILD)/obj/bench/bench.d $(TEST_BIN:=.d) \
           $(FUZZ_REPLAY:=.d)

DEPS_STAMP = build/.deps-build

.PHONY: all help deps test test-deps unit sanitize tsan tidy valgrind fuzz bench run install \
        format format-check clean

all: $(BUILD)/fulcrum

help:
	@echo "make            build build/fulcrum"
	@echo "make test       build and run every test, then again under ASan+UBSan"
	@echo "make run        build, create the demo database if needed, serve on 127.0.0.1:$(PORT)"
	@echo "make sanitize   the suite under ASan+UBSan only"
	@echo "make tsan       the concurrency tests under ThreadSanitizer"
	@echo "make tidy       clang-tidy over the sources (.clang-tidy)"
	@echo "make valgrind   the unit tests under valgrind"
	@echo "make fuzz       run each libFuzzer target for FUZZ_SECONDS (default 60)"
	@echo "make bench      benchmarks that print figures"
	@echo "make install    PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)"
	@echo "make format     clang-format the tree; format-check checks it"

$(DEPS_STAMP):
	@mkdir -p build
	@sh tools/deps.sh $(BUILD_PKGS)
	@touch $@

deps: $(DEPS_STAMP)

$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# http/openapi.json is served from the binary: embed it as a C array.
$(BUILD)/embed: tools/embed.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O1 -o $@ $<

$(BUILD)/gen/openapi.c: http/openapi.json $(BUILD)/embed
	@mkdir -p $(dir $@)
	$(BUILD)/embed http_openapi_json < $< > $@

$(BUILD)/obj/gen/openapi.o: $(BUILD)/gen/openapi.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# The web console: npm installs its toolchain from the committed lockfile and esbuild
# bundles it into build/web (one bundle, shared by every build); the binary embeds it.
WEB_SRC = web/index.html web/build.mjs $(wildcard web/src/*.js web/src/*.css)
build/web/.npm: web/package.json web/package-lock.json | $(DEPS_STAMP)
	@mkdir -p build/web
	@sh tools/node.sh
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

build/web/.bundle: $(WEB_SRC) build/web/.npm
	cd web && node build.mjs ../build/web
	@touch $@

$(BUILD)/gen/web.c: build/web/.bundle docs/RULES.md tools/embed_web.sh $(BUILD)/embed
	@mkdir -p $(dir $@)
	sh tools/embed_web.sh $(BUILD)/embed build/web docs/RULES.md > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/gen/web.o: $(BUILD)/gen/web.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# The default rule pack ships inside the binary too (the demo activates it).
$(BUILD)/gen/default_pack.c: rules/packs/default.lua $(BUILD)/embed
	@mkdir -p $(dir $@)
	$(BUILD)/embed flow_default_pack < $< > $@

$(BUILD)/obj/gen/default_pack.o: $(BUILD)/gen/default_pack.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libfulcrum.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/fulcrum: $(CLI_OBJ) $(BUILD)/libfulcrum.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/fulcrum-bench: $(BUILD)/obj/bench/bench.o $(BUILD)/libfulcrum.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libfulcrum.a | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libfulcrum.a $(ALL_LDFLAGS) $(PKG_LIBS) -lcmocka

# The allocation-failure loop: fulcrum's own calls to the allocator go through wrappers
# that fail the Nth call (tests/unit/test_alloc.c).
ALLOC_WRAP = -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free,--wrap=strdup,--wrap=strndup
$(BUILD)/tests/test_alloc: tests/unit/test_alloc.c $(BUILD)/libfulcrum.a | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libfulcrum.a $(ALL_LDFLAGS) $(ALLOC_WRAP) $(PKG_LIBS) -lcmocka

# A fuzz target linked with a plain main() that replays files: the corpus runs in
# `make test` under every build, with no libFuzzer needed.
$(BUILD)/fuzz/%_replay: fuzz/%.c fuzz/replay.c $(BUILD)/libfulcrum.a | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< fuzz/replay.c $(BUILD)/libfulcrum.a $(ALL_LDFLAGS) $(PKG_LIBS)

unit: $(BUILD)/fulcrum $(TEST_BIN) $(FUZZ_REPLAY)

build/.deps-test: $(DEPS_STAMP)
	@sh tools/deps.sh $(TEST_PKGS)
	@sh tools/node.sh
	@touch $@

test-deps: build/.deps-test

# The suite twice: the optimised build, then ASan+UBSan; the concurrency tests under
# ThreadSanitizer; clang-tidy; one closing line for all.
test: build/.deps-test
	@$(MAKE) --no-print-directory format-check
	@$(MAKE) --no-print-directory unit BUILD=build
	@$(MAKE) --no-print-directory unit BUILD=build/asan SANITIZE=1 CFLAGS="-O1 -g"
	@$(MAKE) --no-print-directory tsan-build
	@TSAN=build/tsan TIDY=1 sh tests/run.sh build build/asan

sanitize: build/.deps-test
	@$(MAKE) --no-print-directory unit BUILD=build/asan SANITIZE=1 CFLAGS="-O1 -g"
	@sh tests/run.sh build/asan

# ThreadSanitizer: the tests whose code runs on several threads (tests/run.sh picks them)
tsan-build:
	@$(MAKE) --no-print-directory unit BUILD=build/tsan SANITIZE=thread CFLAGS="-O1 -g"

tsan: build/.deps-test tsan-build
	@TSAN=build/tsan sh tests/run.sh

tidy: build/.deps-test
	@sh tools/tidy.sh

valgrind: $(TEST_BIN)
	@sh tools/deps.sh valgrind
	@for t in $(TEST_BIN); do valgrind -q --error-exitcode=1 --leak-check=full $$t || exit 1; done

FUZZ_SECONDS ?= 60
fuzz: build/.deps-test
	@sh tools/deps.sh $(FUZZ_PKGS)
	@sh tools/fuzz.sh $(FUZZ_SECONDS)

bench: $(DEPS_STAMP)
	@sh tools/deps.sh $(BENCH_PKGS)
	@sh tools/node.sh
	@$(MAKE) --no-print-directory all build/fulcrum-bench BUILD=build
	@sh bench/run.sh

run: $(BUILD)/fulcrum
	@sh tools/run.sh $(BUILD)/fulcrum $(DB) $(PORT)

install: $(BUILD)/fulcrum
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/fulcrum
	install -m 0755 $(BUILD)/fulcrum $(DESTDIR)$(PREFIX)/bin/fulcrum
	install -m 0644 docs/*.md $(DESTDIR)$(PREFIX)/share/fulcrum/

FORMAT_SRC = $(wildcard */*.c */*.h tests/unit/*.c)
format:
	clang-format -i $(FORMAT_SRC)

format-check:
	@clang-format --dry-run -Werror $(FORMAT_SRC)

clean:
	rm -rf build

-include $(DEPFILES)
