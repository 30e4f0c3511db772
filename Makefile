# hazardd - one non-recursive Makefile.
#
#   make            build hazardd, hazardctl, hazard-sim and the test tools
#   make test       install what is missing, build, lint, run every test: unit tests, fuzz
#                   corpora and the daemon in the integration tests under ASan+UBSan
#   make run        the demo: local servers, demo registry and rules, daemon and simulator
#   make bench      benchmarks, printing figures and ratios against raw baselines
#   make fuzz       libFuzzer (clang-14) on every parser, FUZZ_SECONDS each
#   make lint       cppcheck and clang-tidy;  make style: clang-format check
#   make install    PREFIX=/usr/local DESTDIR=
#
# New files are picked up by wildcard: daemon/<module>/*.c go into the
# library, daemon/tools/*.c and tests/*/test_*.c are programs.

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
SAN     ?=
CC      ?= cc

PKGS := libpq rdkafka libprotobuf-c jansson yaml-0.1 libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN   := -Wall -Wextra -Wshadow -Wformat=2 -Wno-format-truncation -Wstrict-prototypes -Wmissing-prototypes -Werror
CFLAGS ?= -O2 -g
ifeq ($(SAN),1)
CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -pthread $(WARN) $(CFLAGS) -Idaemon -I$(BUILD)/gen $(PKG_CFLAGS) -MMD -MP
LDLIBS := $(PKG_LIBS) -lpaho-mqtt3as -lpthread -lm

GEN_DIR := $(BUILD)/gen
GEN_SRC := $(GEN_DIR)/hazard.pb-c.c $(GEN_DIR)/google/protobuf/timestamp.pb-c.c
GEN_HDR := $(GEN_SRC:.c=.h)

MODULES  := core codec registry rules tickets store in out ctl
LIB_SRC  := $(foreach m,$(MODULES),$(wildcard daemon/$(m)/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(GEN_SRC:%.c=%.o)
LIB      := $(BUILD)/libhazard.a

TOOL_SRC := $(wildcard daemon/tools/*.c)
TOOLS    := $(BUILD)/hazardd $(patsubst daemon/tools/%.c,$(BUILD)/%,$(subst _,-,$(TOOL_SRC)))
DEV_SRC  := $(wildcard deploy/dev/*.c)
DEV_BIN  := $(patsubst deploy/dev/%.c,$(BUILD)/%,$(DEV_SRC))

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
ITEST_SRC:= $(wildcard tests/integration/*.c)
ITEST_BIN:= $(patsubst tests/integration/%.c,$(BUILD)/itest/%,$(ITEST_SRC))
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
BENCH_SRC:= $(wildcard tests/bench/bench_*.c)
BENCH_BIN:= $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

.PHONY: all test unit unit-asan fuzz-replay integration run bench fuzz lint style clean install deps soak
all: $(TOOLS) $(DEV_BIN) $(UNIT_BIN) $(ITEST_BIN) $(FUZZ_BIN) $(BENCH_BIN)

# ---- generated protobuf code (never edited) ----
$(GEN_DIR)/hazard.pb-c.c $(GEN_DIR)/hazard.pb-c.h: proto/hazard.proto
	@mkdir -p $(GEN_DIR)
	protoc-c --c_out=$(GEN_DIR) -Iproto -I/usr/include proto/hazard.proto
$(GEN_DIR)/google/protobuf/timestamp.pb-c.c $(GEN_DIR)/google/protobuf/timestamp.pb-c.h:
	@mkdir -p $(GEN_DIR)
	protoc-c --c_out=$(GEN_DIR) -I/usr/include /usr/include/google/protobuf/timestamp.proto
$(GEN_DIR)/%.pb-c.o: $(GEN_DIR)/%.pb-c.c $(GEN_HDR)
	$(CC) -std=c11 $(CFLAGS) -I$(GEN_DIR) $(PKG_CFLAGS) -c $< -o $@

# ---- library and programs ----
.SECONDEXPANSION:
$(BUILD)/obj/%.o: %.c | $(GEN_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@
$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^
$(BUILD)/hazardd: $(BUILD)/obj/daemon/main.o $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/%: $(BUILD)/obj/daemon/tools/$$(subst -,_,%).o $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/%: $(BUILD)/obj/deploy/dev/%.o $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) $(shell pkg-config --libs cmocka) -o $@
$(BUILD)/itest/%: $(BUILD)/obj/tests/integration/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/replay_main.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
# ---- tests ----
# `make test` is the README's test command and what .ci/run calls.
test:
	@./deploy/deps.sh
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 unit fuzz-replay build/asan/hazardd
	@HZ_DAEMON_BIN=$(CURDIR)/build/asan/hazardd ./tests/run_integration.sh $(BUILD)

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

fuzz-replay: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); \
	  echo "== $$n (replaying tests/fuzz/corpus/$$n)"; $$f tests/fuzz/corpus/$$n; done

integration: all
	@./tests/run_integration.sh $(BUILD)

run: all
	@./deploy/deps.sh
	@./deploy/demo/run.sh $(BUILD)

bench: all
	@./tests/bench/run.sh $(BUILD)

soak: all
	@SOAK=1 ./tests/run_integration.sh $(BUILD)

FUZZ_SECONDS ?= 60
fuzz:
	@./tests/fuzz/run_libfuzzer.sh $(FUZZ_SECONDS)

lint: $(GEN_HDR)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --inline-suppr --suppress=missingIncludeSystem -Idaemon -I$(GEN_DIR) daemon tests deploy/dev
	clang-tidy --quiet $(LIB_SRC) $(TOOL_SRC) daemon/main.c -- -std=c11 -D_GNU_SOURCE -Idaemon -I$(GEN_DIR) $(PKG_CFLAGS)

style:
	clang-format --dry-run --Werror $(LIB_SRC) $(TOOL_SRC) daemon/main.c

install: $(TOOLS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/hazardd/sql $(DESTDIR)$(PREFIX)/share/hazardd/examples
	install -m 0755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 sql/*.sql $(DESTDIR)$(PREFIX)/share/hazardd/sql/
	install -m 0644 deploy/hazardd.conf.example deploy/rules.yaml deploy/mosquitto.conf $(DESTDIR)$(PREFIX)/share/hazardd/examples/

deps:
	./deploy/deps.sh

clean:
	rm -rf build

# keep objects: they are not intermediate files to delete
.SECONDARY:

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
