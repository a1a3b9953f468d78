# Chat server on Mosquitto: plugin, bridge, admin CLI and their tests.
#
#   make          build everything into build/
#   make run      start broker + plugin + bridge on 127.0.0.1:1884
#   make test     unit and integration tests, then again under ASan/UBSan
#
# Missing Debian packages are installed by `make deps` (run and test do it).

BUILD ?= build
SANITIZE ?=

CC ?= cc
PKGS := libcjson libsodium sqlite3
CPPFLAGS += -I. -Icommon -I$(BUILD)/gen -D_GNU_SOURCE
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -Wall -Wextra -Werror -fPIC -fno-strict-aliasing
LDLIBS_CORE = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ifneq ($(SANITIZE),)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

COMMON_SRC := $(wildcard common/*.c)
PLUGIN_SRC := $(wildcard plugin/*.c)
# Plugin files that use the broker's API; the rest is pure logic that unit
# tests link directly.
PLUGIN_BROKER_SRC := $(addprefix plugin/,plugin.c broker.c)
PLUGIN_PURE_SRC := $(filter-out $(PLUGIN_BROKER_SRC),$(PLUGIN_SRC))
BRIDGE_SRC := $(wildcard bridge/*.c)
BRIDGE_CORE_SRC := $(filter-out bridge/main.c,$(BRIDGE_SRC))
CLI_SRC := $(wildcard cli/*.c)
HARNESS_SRC := $(wildcard tests/harness/*.c)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(wildcard tests/unit/test_*.c))
INTEGRATION_TESTS := $(patsubst tests/integration/%.c,$(BUILD)/tests/integration/%,$(wildcard tests/integration/test_*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

GEN_SCHEMA := $(BUILD)/gen/schema_sql.c
COMMON_LIB := $(BUILD)/libchatcommon.a
PLUGIN_CORE_LIB := $(BUILD)/libchatplugin.a
BRIDGE_CORE_LIB := $(BUILD)/libchatbridge.a
HARNESS_LIB := $(BUILD)/libchattest.a

PLUGIN := $(BUILD)/chat_plugin.so
BRIDGE := $(BUILD)/chat-bridge
CLI := $(BUILD)/chatctl

.PHONY: all deps run test test-phase unit integration fuzz \
	fuzz-smoke fuzz-smoke-run clean
.DELETE_ON_ERROR:
.PRECIOUS: $(BUILD)/obj/%.o

all: $(PLUGIN) $(BRIDGE) $(CLI)

deps:
	@tools/install-deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	@tools/run.sh

# The README's test command: the whole suite, again with sanitizers, then a
# bounded fuzzing run; every phase runs, and the last line sums them up
# (and fails the target when anything failed).
TALLY := $(CURDIR)/build/test-tally

test: deps
	@mkdir -p build && rm -f $(TALLY)
	@tools/test-phase.sh $(TALLY) $(MAKE) --no-print-directory test-phase
	@tools/test-phase.sh $(TALLY) $(MAKE) --no-print-directory \
		BUILD=build/asan SANITIZE=1 test-phase
	@tools/test-phase.sh $(TALLY) $(MAKE) --no-print-directory fuzz-smoke
	@tools/run-tests.sh --total $(TALLY)

# Builds everything on every core first, then runs the tests one at a
# time, with no compiler competing with their timing.
JOBS := $(shell nproc 2>/dev/null || echo 2)

test-phase:
	@$(MAKE) --no-print-directory -j$(JOBS) all $(UNIT_TESTS) \
		$(INTEGRATION_TESTS)
	@$(MAKE) --no-print-directory unit integration


# Results are labelled with the build they ran in.
PHASE := $(if $(SANITIZE), (sanitizers),)

unit: $(UNIT_TESTS)
	@tools/run-tests.sh "unit$(PHASE)" $(UNIT_TESTS)

# Two programs at a time (each has its own server, ports and folder; most
# of their time is spent waiting), except those that load the machine or
# measure latency, which run alone.
INTEGRATION_SOLO := test_crash test_e2e test_channels test_faults_crash \
	test_faults_stall test_faults_storm test_presence_storm

integration: $(INTEGRATION_TESTS) $(PLUGIN) $(BRIDGE) $(CLI)
	@CHAT_BUILD_DIR=$(BUILD) CHAT_SANITIZE=$(SANITIZE) CHAT_TEST_JOBS=2 \
		CHAT_TEST_SOLO="$(INTEGRATION_SOLO)" \
		tools/run-tests.sh "integration$(PHASE)" $(INTEGRATION_TESTS)

clean:
	rm -rf build

# libFuzzer targets for every parser of untrusted input (clang): a bounded
# run in make test, a long one with make fuzz (FUZZ_SECONDS per target).
FUZZ_CFLAGS := -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined \
	-Wall -Wextra -Werror -I. -Icommon -Ibuild/gen -D_GNU_SOURCE
FUZZERS := build/fuzz/fuzz_plugin_input build/fuzz/fuzz_text_and_topics \
	build/fuzz/fuzz_bridge_input

build/fuzz/fuzz_plugin_input: tests/fuzz/fuzz_plugin_input.c \
		$(PLUGIN_PURE_SRC) $(COMMON_SRC) build/gen/schema_sql.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $^ $(LDLIBS_CORE)

build/fuzz/fuzz_text_and_topics: tests/fuzz/fuzz_text_and_topics.c \
		plugin/acl.c $(COMMON_SRC) build/gen/schema_sql.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $^ $(LDLIBS_CORE)

build/fuzz/fuzz_bridge_input: tests/fuzz/fuzz_bridge_input.c \
		$(BRIDGE_CORE_SRC) $(COMMON_SRC) build/gen/schema_sql.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $^ $(LDLIBS_CORE) -lmosquitto

fuzz-smoke:
	@$(MAKE) --no-print-directory -j$(JOBS) $(FUZZERS)
	@$(MAKE) --no-print-directory fuzz-smoke-run

fuzz-smoke-run: $(FUZZERS)
	@tools/fuzz.sh smoke

fuzz: $(FUZZERS)
	@tools/fuzz.sh long

$(GEN_SCHEMA): $(sort $(wildcard schema/*.sql)) tools/embed-sql.sh
	@mkdir -p $(dir $@)
	tools/embed-sql.sh $(sort $(wildcard schema/*.sql)) > $@

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(COMMON_LIB): $(call obj,$(COMMON_SRC) $(GEN_SCHEMA:$(BUILD)/%=%))
	$(AR) rcs $@ $^

$(BUILD)/obj/gen/schema_sql.o: $(GEN_SCHEMA)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(PLUGIN_CORE_LIB): $(call obj,$(PLUGIN_PURE_SRC))
	$(AR) rcs $@ $^

$(BRIDGE_CORE_LIB): $(call obj,$(BRIDGE_CORE_SRC))
	$(AR) rcs $@ $^

$(HARNESS_LIB): $(call obj,$(HARNESS_SRC))
	$(AR) rcs $@ $^

# Broker symbols are resolved from the mosquitto binary at load time.
$(PLUGIN): $(call obj,$(PLUGIN_BROKER_SRC)) $(PLUGIN_CORE_LIB) $(COMMON_LIB)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(LDLIBS_CORE)

$(BRIDGE): $(call obj,bridge/main.c) $(BRIDGE_CORE_LIB) $(COMMON_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CORE) -lmosquitto

$(CLI): $(call obj,$(CLI_SRC)) $(COMMON_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CORE)

# Unit tests link only what they test: test_plugin_* the plugin's pure
# logic, test_bridge_* the bridge's core, the rest the shared code.
$(BUILD)/tests/unit/test_plugin_%: $(BUILD)/obj/tests/unit/test_plugin_%.o $(PLUGIN_CORE_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CORE) -lcmocka

$(BUILD)/tests/unit/test_bridge_%: $(BUILD)/obj/tests/unit/test_bridge_%.o $(BRIDGE_CORE_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CORE) -lmosquitto -lcmocka

# The CLI test runs the built chatctl.
$(BUILD)/tests/unit/test_cli_chatctl: | $(CLI)

$(BUILD)/tests/unit/test_%: $(BUILD)/obj/tests/unit/test_%.o $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CORE) -lcmocka

$(BUILD)/tests/integration/test_%: $(BUILD)/obj/tests/integration/test_%.o $(HARNESS_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CORE) -lmosquitto -lcmocka -lpthread

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# `make bench`: the load generator and the measurements of
# docs/PERFORMANCE.md (about 6 minutes; results in $(BUILD)/bench/).
LOAD := $(BUILD)/chat-load

.PHONY: bench
bench: deps
	@$(MAKE) --no-print-directory all $(LOAD)
	@CHAT_BUILD_DIR=$(BUILD) bench/run.sh

$(LOAD): $(call obj,$(wildcard bench/load/*.c))
	$(CC) $(LDFLAGS) -o $@ $^
# The end-to-end encrypting client (client/, docs/E2E.md): the library
# build/libchatclient.a, the command line client build/chat, their unit
# tests (tests/unit/test_client_*) and tests/integration/test_e2e, which
# links the library and runs build/chat. Append after the rules above:
# it uses BUILD, obj, COMMON_LIB and HARNESS_LIB.
# The reference end-to-end client: a library other programs can link, and
# the `chat` command over it.
CLIENT_CLI_SRC := client/cli.c client/cli_print.c
CLIENT_SRC := $(filter-out $(CLIENT_CLI_SRC),$(wildcard client/*.c))
CLIENT_LIB := $(BUILD)/libchatclient.a
CHAT_CLIENT := $(BUILD)/chat

all: $(CHAT_CLIENT)

$(CLIENT_LIB): $(call obj,$(CLIENT_SRC))
	$(AR) rcs $@ $^

$(CHAT_CLIENT): $(call obj,$(CLIENT_CLI_SRC)) $(CLIENT_LIB) $(COMMON_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CORE) -lmosquitto

# More specific than the test_% rule above, so it wins for these.
$(BUILD)/tests/unit/test_client_%: $(BUILD)/obj/tests/unit/test_client_%.o $(CLIENT_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CORE) -lmosquitto -lcmocka

$(BUILD)/tests/integration/test_e2e: $(BUILD)/obj/tests/integration/test_e2e.o $(HARNESS_LIB) $(CLIENT_LIB) $(COMMON_LIB) | $(CHAT_CLIENT)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CORE) -lmosquitto -lcmocka -lpthread

# `make valgrind`: the broker (with the plugin) and the bridge under
# Valgrind's memcheck through a subset of the integration tests; fails on
# a memory error or a definite or indirect leak (tools/valgrind.sh, a few
# minutes, reports in $(BUILD)/valgrind/). Not part of `make test`.
VALGRIND_TESTS := $(addprefix $(BUILD)/tests/integration/test_,\
	messaging sync groups group_admin channels receipts hostile auth access \
	presence typing devices abuse hostile_mqtt)

.PHONY: valgrind valgrind-run
valgrind:
	@tools/install-deps.sh valgrind
	@$(MAKE) --no-print-directory valgrind-run

valgrind-run: $(VALGRIND_TESTS) $(PLUGIN) $(BRIDGE) $(CLI)
	@CHAT_BUILD_DIR=$(BUILD) tools/valgrind.sh $(VALGRIND_TESTS)
