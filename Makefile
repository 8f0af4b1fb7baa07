# unprompt — one Makefile for everything. See README.md.
#   make            build/engine-run, build/bench, build/libunprompt.a
#   make test       build and run every test (prints "N passed, N failed")
#   make asan       the tests under AddressSanitizer + UBSan (clang)
#   make mutants    small real bugs (tests/mutants.txt) put in one at a time: the tests must catch each
#   make fuzz       libFuzzer targets in build/fuzz (clang); make fuzz-run FUZZ_SECONDS=60
#                   (each target for that long; prints its executions; an input over
#                   10 s or 2 GB is a failure like a crash)
#   make bench      build/bench (all stages)
#   make weights    download + convert the models (the only step that needs a network)
#   make install PREFIX=/usr/local   (then make weights DIR=/usr/local/share/unprompt)
#   make clean

CC      ?= cc
BUILD   ?= build
OPT     ?= -O2
PREFIX  ?= /usr/local
# make check compiles with this many jobs (the tests themselves run one at a time)
JOBS    ?= $(shell nproc 2>/dev/null || echo 1)
ARCH    := $(shell $(CC) -dumpmachine | cut -d- -f1)

WARN     = -Wall -Wextra -Werror
CPPFLAGS = -I. -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64
CFLAGS  += -std=c11 -g $(OPT) $(WARN) -fopenmp -MMD -MP
# Image decoders: libjpeg-turbo, libwebp (+ demux for animations), libtiff.
IMAGE_LIBS = -ljpeg -lwebpdemux -lwebp -ltiff
LDLIBS  += -lopenblas $(IMAGE_LIBS) -lz -lm -fopenmp -pthread

# Per-ISA kernel files get their own target flags, so the binary still runs
# on a CPU without them; the dispatcher picks at run time.
AVX2_FLAGS   = -mavx2 -mfma -mf16c
AVX512_FLAGS = -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx2 -mfma -mf16c
BF16_FLAGS   = $(AVX512_FLAGS) -mavx512bf16
AMX_FLAGS    = $(BF16_FLAGS) -mamx-tile -mamx-bf16

ALL_LIB_SRC = $(wildcard base/*.c format/*.c kernels/*.c engine/*.c engine/*/*.c engine/*/*/*.c)
ifeq ($(ARCH),x86_64)
LIB_SRC = $(filter-out %_neon.c,$(ALL_LIB_SRC))
else
LIB_SRC = $(filter-out %_avx2.c %_avx512.c %_avx512bf16.c %_amx.c,$(ALL_LIB_SRC))
endif
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB      = $(BUILD)/libunprompt.a

CLI_SRC  = $(wildcard tools/engine-run/*.c)
CLI_OBJ  = $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
BENCH_SRC = $(wildcard bench/*.c)
BENCH_OBJ = $(BENCH_SRC:%.c=$(BUILD)/obj/%.o)
TOOL_SRC = $(wildcard tools/*.c)
TOOLS    = $(TOOL_SRC:tools/%.c=$(BUILD)/%)

TEST_SRC = $(wildcard tests/test_*.c)
TESTS    = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY = $(FUZZ_SRC:tests/fuzz/fuzz_%.c=$(BUILD)/tests/test_fuzzreplay_%)

.SECONDARY:
.PHONY: all deps demo test check asan fuzz fuzz-run bench weights install install-files clean test-arm64 mutants
all: $(LIB) $(BUILD)/engine-run $(BUILD)/bench $(TOOLS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@
$(BUILD)/obj/%_avx2.o: %_avx2.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(AVX2_FLAGS) -c $< -o $@
$(BUILD)/obj/%_avx512.o: %_avx512.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(AVX512_FLAGS) -c $< -o $@
$(BUILD)/obj/%_avx512bf16.o: %_avx512bf16.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(BF16_FLAGS) -c $< -o $@
$(BUILD)/obj/%_amx.o: %_amx.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(AMX_FLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

# The server (engine-run serve) is built on libmicrohttpd.
$(BUILD)/engine-run: $(CLI_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $(CLI_OBJ) $(LIB) $(LDLIBS) -lmicrohttpd -o $@
$(BUILD)/bench: $(BENCH_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $(BENCH_OBJ) $(LIB) $(LDLIBS) -o $@
$(BUILD)/%: $(BUILD)/obj/tools/%.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(BUILD)/tests/test_fuzzreplay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -DFUZZ_NAME='"$*"' $< tests/fuzz/replay_main.c $(LIB) $(LDLIBS) -o $@
$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@
# The server's test runs engine-run serve: rebuilt first (make mutants builds tests alone).
$(BUILD)/tests/test_serve: $(BUILD)/engine-run
# The server's base64 reader is tested on its own.
$(BUILD)/tests/test_serve_base64: $(BUILD)/obj/tests/test_serve_base64.o $(BUILD)/obj/tools/engine-run/serve_base64.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@
# The batch test also calls the CLI's sharding directly.
BATCH_OBJ = $(BUILD)/obj/tools/engine-run/batch.o $(BUILD)/obj/tools/engine-run/output.o $(BUILD)/obj/tools/engine-run/inputs.o \
	$(BUILD)/obj/tools/engine-run/msg.o $(BUILD)/obj/tools/engine-run/escape.o
$(BUILD)/tests/test_batch: $(BUILD)/obj/tests/test_batch.o $(BATCH_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(BATCH_OBJ) $(LIB) $(LDLIBS) -o $@
# The escaping test calls the CLI's message and escape functions directly.
ESCAPE_OBJ = $(BUILD)/obj/tools/engine-run/escape.o $(BUILD)/obj/tools/engine-run/msg.o
$(BUILD)/tests/test_cli_escape: $(BUILD)/obj/tests/test_cli_escape.o $(ESCAPE_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(ESCAPE_OBJ) $(LIB) $(LDLIBS) -o $@

# The README's two commands: `make demo` and `make check`.
deps:
	sh tools/install-deps
demo: deps
	$(MAKE) all
	$(BUILD)/engine-run info examples/sample.png

# Everything CI runs: gcc tests, clang build + tests, sanitizers.
# Each suite leaves its totals in <build>/tests/summary; the last line
# printed is the sum of all of them.
check: deps
	@rm -f build/tests/summary build-clang/tests/summary build-asan/tests/summary build-arm64/kernel-tests/summary \
		build-mutants/summary; st=0; \
	$(MAKE) -j$(JOBS) test || st=1; \
	$(MAKE) -j$(JOBS) mutants || st=1; \
	$(MAKE) -j$(JOBS) CC=clang BUILD=build-clang test || st=1; \
	$(MAKE) -j$(JOBS) asan || st=1; \
	$(MAKE) -j$(JOBS) test-arm64 || st=1; \
	rm -rf build/install-test; \
	$(MAKE) install PREFIX=$(CURDIR)/build/install-test >/dev/null && \
		build/install-test/bin/engine-run info examples/sample.png >/dev/null && \
		test -f build/install-test/include/unprompt.h && test -f build/install-test/lib/libunprompt.a && \
		echo "install: ok" || { echo "install: FAILED"; st=1; }; \
	sh tests/total.sh build/tests/summary build-mutants/summary build-clang/tests/summary build-asan/tests/summary \
		build-arm64/kernel-tests/summary || st=1; \
	exit $$st

# The test programs find the binaries and fixtures through these variables.
test: all $(TESTS) $(FUZZ_REPLAY)
	UNPROMPT_BUILD=$(abspath $(BUILD)) UNPROMPT_CC="$(CC)" UNPROMPT_LDFLAGS="$(LDFLAGS)" sh tests/run.sh $(BUILD)/tests

# Each mutant of tests/mutants.txt in a scratch copy (build-mutants/) of the
# tree and its build: only what a mutant touches is rebuilt. Counts in the
# total as one case each: caught = passed, missed = failed.
mutants: all $(TESTS)
	sh tests/mutants.sh $(BUILD)

# OMP_TOOL=disabled: clang's OpenMP runtime otherwise dlopens its ThreadSanitizer
# tool (libarcher, which brings libstdc++'s dynamic TLS); LeakSanitizer 14 then
# reads a bogus dynamic-TLS range of the main thread at exit and dies ("Tracer
# caught signal 11"), failing a test that passed. The tool does nothing without
# ThreadSanitizer, so leaving it out checks the same code.
asan:
	OMP_TOOL=disabled $(MAKE) BUILD=build-asan CC=clang OPT="-O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
		LDFLAGS="-fsanitize=address,undefined" test

FUZZ_TARGETS = $(FUZZ_SRC:tests/fuzz/fuzz_%.c=build/fuzz/fuzz_%)
FUZZ_SECONDS ?= 60
fuzz: $(FUZZ_TARGETS)
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(filter format/%,$(LIB_SRC))
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS) -std=c11 -g -O1 $(WARN) -fsanitize=fuzzer,address,undefined $< $(filter format/%,$(LIB_SRC)) $(IMAGE_LIBS) -lz -lm -o $@
fuzz-run: fuzz
	@for t in $(FUZZ_TARGETS); do n=$${t##*/fuzz_}; mkdir -p build/fuzz/corpus-$$n; \
		echo "== $$n ($(FUZZ_SECONDS) s)"; \
		$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
			build/fuzz/corpus-$$n tests/fuzz/corpus/$$n 2>&1 | \
			grep -E 'stat::number_of_executed_units|ERROR|crash-|timeout-|oom-|Done' ; done

bench: $(BUILD)/bench

# The NEON kernels for real: cross-build for aarch64 and run the kernel tests
# under qemu-user (tools/install-deps --arm64 installs the cross toolchain and
# the arm64 libraries). The format tests are architecture-independent C and
# run natively; under emulation they would only add minutes. test_decode runs
# here too: libjpeg-turbo's and libwebp's NEON code must give Pillow's pixels. The binaries run
# against Debian's arm64 multiarch libraries (not the cross toolchain's older
# sysroot: mixing the two hangs every thread start under qemu).
ARM64_QEMU = qemu-aarch64
ARM64_TESTS = $(patsubst tests/%.c,build-arm64/tests/%,$(wildcard tests/test_nn*.c tests/test_linalg*.c \
	tests/test_resample*.c tests/test_cpu.c tests/test_buf.c tests/test_attention.c tests/test_gemm*.c \
	tests/test_runtime.c tests/test_booru*.c tests/test_deepdanbooru*.c tests/test_pixels.c tests/test_winograd.c \
	tests/test_decode.c))
# The tests that run the CLI run the arm64 engine-run under qemu too
# (UNPROMPT_BUILD and UNPROMPT_RUNNER, read by tests/cli.h).
test-arm64:
	sh tools/install-deps --arm64
	$(MAKE) CC=aarch64-linux-gnu-gcc BUILD=build-arm64 build-arm64/libunprompt.a build-arm64/engine-run $(ARM64_TESTS)
	rm -rf build-arm64/kernel-tests && mkdir -p build-arm64/kernel-tests && cp $(ARM64_TESTS) build-arm64/kernel-tests/
	TEST_RUNNER="$(ARM64_QEMU)" UNPROMPT_RUNNER="$(ARM64_QEMU)" UNPROMPT_BUILD=$(abspath build-arm64) \
		sh tests/run.sh build-arm64/kernel-tests

# make weights [DIR=weights] [MODELS="clip blip deepdanbooru categories"] [WEIGHTS_DTYPE=f32|f16|bf16]
# DIR may be any folder engine-run looks in (engine-run weights lists them):
# e.g. DIR=~/.local/share/unprompt, or DIR=$(PREFIX)/share/unprompt after make install.
WEIGHTS_DTYPE ?= f32
DIR ?= weights
weights: $(BUILD)/engine-run
	UNPROMPT_MANIFEST=$${UNPROMPT_MANIFEST:-weights/manifest} ENGINE_RUN=$(BUILD)/engine-run \
		WEIGHTS_DTYPE=$(WEIGHTS_DTYPE) sh tools/fetch-weights "$(DIR)" $(MODELS)

install: all
	@$(MAKE) --no-print-directory install-files
# The copying alone (the tests install what they already built).
install-files:
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/unprompt
	install -m 755 $(BUILD)/engine-run $(DESTDIR)$(PREFIX)/bin/engine-run
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libunprompt.a
	install -m 644 engine/api/unprompt.h $(DESTDIR)$(PREFIX)/include/unprompt.h
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig
	sed 's|@PREFIX@|$(PREFIX)|' tools/unprompt.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/unprompt.pc
	if [ -f docs/engine-run.1 ]; then install -m 644 docs/engine-run.1 $(DESTDIR)$(PREFIX)/share/man/man1/; fi
	install -m 644 weights/manifest $(DESTDIR)$(PREFIX)/share/unprompt/manifest
	@echo "engine-run looks for its models in $(PREFIX)/share/unprompt among other folders"
	@echo "(engine-run weights lists them); to put them there: make weights DIR=$(DESTDIR)$(PREFIX)/share/unprompt"

clean:
	rm -rf build build-asan build-arm64 build-clang build-mutants

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
