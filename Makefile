# drillrig: hand-written Makefile.  `make` builds, `make test` tests,
# `make drill` runs the default drill.  See README.md.
#
# Layout (docs/architecture.md): every folder of sources is one static
# archive; a binary is its main file plus an ordered list of archives.
# New files and new tests are picked up by pattern, never listed by hand.

CC        ?= cc
PREFIX    ?= /usr/local
DESTDIR   ?=
TEST_PKGS := cmocka

# Compile in parallel by default (tests still run one at a time).
ifeq ($(filter -j%,$(MAKEFLAGS)),)
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)
endif

ifdef SANITIZE
BUILD     ?= build/sanitize
else
BUILD     ?= build
endif

WARN      := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
ifeq ($(WERROR),1)
WARN      += -Werror
endif
OPT       ?= -O2 -g
SAN_FLAGS := $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=undefined)

# Recursive (=) so pkg-config runs when a recipe needs it, after `deps`.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) $(TEST_PKGS) 2>/dev/null)
TEST_LIBS  = $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)

GIT_REV   := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
PROTO_ROOT := ledger/proto
PROTO_SYS  := /usr/include
GEN        := $(BUILD)/gen
PROTOS     := $(sort $(shell find $(PROTO_ROOT) -name '*.proto' 2>/dev/null))
PROTO_WKT  := $(GEN)/google/protobuf/struct.pb-c.c $(GEN)/google/protobuf/descriptor.pb-c.c
PROTO_C    := $(patsubst $(PROTO_ROOT)/%.proto,$(GEN)/%.pb-c.c,$(PROTOS)) $(PROTO_WKT)
PROTO_H    := $(PROTO_C:.c=.h)
PROTOSET_C := $(GEN)/ledger_protoset.c

CPPFLAGS  += -I. -I$(GEN) -D_GNU_SOURCE
ALL_CFLAGS = -std=c11 $(OPT) $(WARN) $(SAN_FLAGS) -MMD -MP $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SAN_FLAGS) $(LDFLAGS)
SYS_LIBS  := -lpthread -lm

# One folder, one archive: harness/run/*.c become $(BUILD)/lib/harness/run.a.
# A folder's sources are picked up by pattern; main files stay outside.
MODULES := common assertions reports \
	   ledger/proto ledger/client ledger/cluster ledger/daemon \
	   harness/core harness/yaml harness/plan \
	   harness/target/shared harness/target/local harness/target/etcd harness/target/k8s \
	   harness/target harness/probe harness/workload harness/run harness/soak harness/cli
MAINS   := harness/cli/main.c ledger/daemon/main.c

src_of  = $(if $(filter ledger/proto,$(1)),$(PROTO_C) $(PROTOSET_C),$(filter-out $(MAINS),$(wildcard $(1)/*.c)))
obj     = $(patsubst $(GEN)/%.c,$(BUILD)/obj/gen/%.o,$(patsubst %.c,$(BUILD)/obj/%.o,$(filter-out $(GEN)/%,$(1))) $(filter $(GEN)/%,$(1)))
lib     = $(BUILD)/lib/$(1).a
libs    = $(foreach m,$(1),$(call lib,$(m)))

# Link lists, ordered: an archive may use only the archives to its right.
# The linker enforces the layering (docs/architecture.md): there is no
# --start-group, so an arrow pointing left is an undefined reference.
DRILLRIG_MODULES := harness/cli harness/soak harness/run harness/workload harness/probe \
		    harness/target harness/target/local harness/target/etcd harness/target/k8s \
		    harness/target/shared harness/plan harness/yaml harness/core \
		    reports assertions ledger/cluster ledger/client ledger/proto common
LEDGERD_MODULES  := ledger/daemon ledger/client ledger/proto common
# Tests and the kubectl double may use anything: the drill engine's list
# with the daemon spliced in above the client.
ALL_MODULES      := $(filter-out ledger/client ledger/proto common,$(DRILLRIG_MODULES)) \
		    $(LEDGERD_MODULES)

# Each binary names the Debian libraries it may use; `ldd build/ledgerd`
# shows no libgit2, libcurl or libyaml because they are not on its list.
DRILLRIG_PKGS := libcurl jansson yaml-0.1 libpcre2-8 libgit2 libprotobuf-c
LEDGERD_PKGS  := jansson raft libuv libmicrohttpd libprotobuf-c
PKGS          := $(sort $(DRILLRIG_PKGS) $(LEDGERD_PKGS) grpc)
# gRPC core by name: grpc.pc would list every abseil library it uses
# itself, and the shared library already carries those dependencies.
GRPC_LIBS     := -lgrpc -lgpr
pkg_libs       = $(shell pkg-config --libs $(1) 2>/dev/null)

support_SRC := $(wildcard tests/support/*.c)

DRILLRIG  := $(BUILD)/drillrig
LEDGERD   := $(BUILD)/ledgerd
BINARIES  := $(DRILLRIG) $(LEDGERD)

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
INTEG_SRC := $(wildcard tests/integration/test_*.c)
UNIT_BIN  := $(patsubst tests/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
INTEG_BIN := $(patsubst tests/%.c,$(BUILD)/tests/%,$(INTEG_SRC))
INTEG_SH  := $(wildcard tests/integration/test_*.sh)
SUPPORT_LIB := $(BUILD)/libtestsupport.a

ALL_SRC := $(foreach m,$(MODULES),$(call src_of,$(m))) $(support_SRC) \
	   $(MAINS) $(UNIT_SRC) $(INTEG_SRC)

.SECONDARY:
.PHONY: all deps test unit integration drill install clean help
.DEFAULT_GOAL := all

all: $(BINARIES)

help:
	@echo "make              build drillrig and ledgerd into $(BUILD)/"
	@echo "make test         build and run every unit and integration test"
	@echo "make drill        run drills/region-failover.yaml on the bundled cluster"
	@echo "make deps         check (and as root, install) the Debian packages needed"
	@echo "make install      install binaries, drill catalog and docs under PREFIX=$(PREFIX)"
	@echo "options: WERROR=1  SANITIZE=address,undefined  BUILD=dir"

deps:
	@ci/install-deps.sh

$(BUILD)/obj/%.o: %.c | deps $(PROTO_H)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# The ledger's protocol (ledger/proto/**/*.proto, docs/ledger-api.md),
# compiled at build time with protoc-c into $(GEN); sources include the
# generated headers by their proto path ("inferadb/ledger/v1/ledger.pb-c.h").
# google/protobuf/struct.proto comes with Debian's libprotobuf-dev.  The
# generated code is not ours to lint: it gets the warnings without -Werror.
$(GEN)/%.pb-c.c $(GEN)/%.pb-c.h: $(PROTO_ROOT)/%.proto | deps
	@mkdir -p $(GEN)
	protoc-c -I$(PROTO_ROOT) -I$(PROTO_SYS) --c_out=$(GEN) $<

$(GEN)/google/protobuf/%.pb-c.c $(GEN)/google/protobuf/%.pb-c.h: $(PROTO_SYS)/google/protobuf/%.proto | deps
	@mkdir -p $(GEN)
	protoc-c -I$(PROTO_SYS) --c_out=$(GEN) $<

$(BUILD)/obj/gen/%.o: $(GEN)/%.c | $(PROTO_H)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(filter-out -Werror,$(ALL_CFLAGS)) -c -o $@ $<

# Every message descriptor in one file, for clients that read proto
# definitions at run time (grpcurl -protoset, the Python test client).
PROTOSET := $(GEN)/ledger.protoset
$(PROTOSET): $(PROTOS) | deps
	@mkdir -p $(@D)
	protoc -I$(PROTO_ROOT) -I$(PROTO_SYS) --include_imports --descriptor_set_out=$@ \
		$(patsubst $(PROTO_ROOT)/%,%,$(PROTOS))
# `make` builds it; the independent client of tests/integration/test_ledgerd_v1.c needs it.
all test integration: $(PROTOSET)

# The same set compiled into ledgerd, which serves it by server reflection
# (ledger/daemon/reflection.c): protoc's bytes as a C array, written with od
# so the build needs no other tool.  google/protobuf/descriptor.proto (in
# PROTO_WKT) is how ledgerd reads the names each file declares.
$(PROTOSET_C): $(PROTOSET)
	{ printf '%s\n' '/* Generated by the Makefile from ledger.protoset. */' \
		'#include "ledger/proto/protoset.h"' 'const unsigned char ledger_protoset[] = {'; \
	  od -An -v -tx1 $< | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  printf '%s\n' '};' 'const size_t ledger_protoset_len = sizeof(ledger_protoset);'; } >$@.tmp
	mv $@.tmp $@

# The revision is baked into one small object; it rebuilds when HEAD moves.
$(BUILD)/obj/harness/cli/version.o: CPPFLAGS += -DDRILLRIG_REVISION='"$(GIT_REV)"'
# (git-path: in a worktree HEAD is not under .git/.)
$(BUILD)/obj/harness/cli/version.o: $(wildcard $(shell git rev-parse --git-path HEAD 2>/dev/null) \
	$(shell git rev-parse --git-path refs/heads 2>/dev/null)/*)

# Empty archives are valid, so a module without sources yet still links.
define archive_rule
$(call lib,$(1)): $(call obj,$(call src_of,$(1)))
	@mkdir -p $$(@D)
	@rm -f $$@
	$$(AR) rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call archive_rule,$(m))))

$(SUPPORT_LIB): $(call obj,$(support_SRC))
	@mkdir -p $(@D)
	@rm -f $@
	$(AR) rcs $@ $^

DRILLRIG_LINK = $(call libs,$(DRILLRIG_MODULES)) $(call pkg_libs,$(DRILLRIG_PKGS)) $(GRPC_LIBS) \
		$(SYS_LIBS)
LEDGERD_LINK  = $(call libs,$(LEDGERD_MODULES)) $(call pkg_libs,$(LEDGERD_PKGS)) $(GRPC_LIBS) \
		$(SYS_LIBS)
LINK_LIBS     = $(call libs,$(ALL_MODULES)) $(call pkg_libs,$(filter-out grpc,$(PKGS))) \
		$(GRPC_LIBS) $(SYS_LIBS)
ARCHIVES      = $(call libs,$(ALL_MODULES))

$(DRILLRIG): $(call obj,harness/cli/main.c) $(call libs,$(DRILLRIG_MODULES))
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(DRILLRIG_LINK)

$(LEDGERD): $(call obj,ledger/daemon/main.c) $(call libs,$(LEDGERD_MODULES))
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LEDGERD_LINK)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(ARCHIVES) $(SUPPORT_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(SUPPORT_LIB) $(LINK_LIBS) $(TEST_LIBS)

# Tests find the binaries under test through these variables.
TEST_ENV = DRILLRIG_BIN=$(abspath $(DRILLRIG)) LEDGERD_BIN=$(abspath $(LEDGERD)) \
	   DRILLRIG_SRC=$(CURDIR) DRILLRIG_BUILD=$(abspath $(BUILD))

test: $(BINARIES) $(UNIT_BIN) $(INTEG_BIN)
	@$(TEST_ENV) tests/run-tests.sh $(UNIT_BIN) $(INTEG_BIN) $(INTEG_SH)

unit: $(UNIT_BIN)
	@$(TEST_ENV) tests/run-tests.sh $(UNIT_BIN)

integration: $(BINARIES) $(INTEG_BIN)
	@$(TEST_ENV) tests/run-tests.sh $(INTEG_BIN) $(INTEG_SH)

DRILL ?= drills/region-failover.yaml
drill: $(BINARIES)
	$(DRILLRIG) run $(DRILL) $(DRILL_ARGS)

install: $(BINARIES) $(BUILD)/gen/ledger.protoset
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/drillrig/drills \
		$(DESTDIR)$(PREFIX)/share/doc/drillrig
	install -m 0755 $(BINARIES) $(DESTDIR)$(PREFIX)/bin/
	$(if $(wildcard drills/*.yaml),install -m 0644 $(wildcard drills/*.yaml) $(DESTDIR)$(PREFIX)/share/drillrig/drills/)
	install -m 0644 README.md $(wildcard docs/*.md) $(DESTDIR)$(PREFIX)/share/doc/drillrig/
	# The API's .proto files (grpcurl -import-path) and their descriptor set.
	cd ledger/proto && find . -name '*.proto' -exec install -D -m 0644 {} \
		$(DESTDIR)$(PREFIX)/share/drillrig/proto/{} \;
	install -m 0644 $(BUILD)/gen/ledger.protoset $(DESTDIR)$(PREFIX)/share/drillrig/

clean:
	rm -rf build

-include $(patsubst %.o,%.d,$(call obj,$(ALL_SRC)))

# --- assertions ---
# Benchmarks are built on demand, never by `make` or `make test`.
BENCH_HISTORY := $(BUILD)/bench/bench_history
.PHONY: bench bench-history

$(BENCH_HISTORY): $(call obj,$(wildcard bench/history/*.c)) $(ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $(call obj,$(wildcard bench/history/*.c)) $(LINK_LIBS)

bench-history: $(BENCH_HISTORY)
	$(BENCH_HISTORY)

bench: bench-history
-include $(patsubst %.c,$(BUILD)/obj/%.d,$(wildcard bench/history/*.c))

# --- ledgerd ---
# `make bench-ledger`: ledgerd throughput and failover benchmark (not in
# tests; see bench/README.md).  TRIALS=10 by default.
TRIALS ?= 10
$(BUILD)/bench/ledger/bench_ledger: $(BUILD)/obj/bench/ledger/bench_ledger.o $(ARCHIVES) $(SUPPORT_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(SUPPORT_LIB) $(LINK_LIBS)

.PHONY: bench-ledger
bench-ledger: $(LEDGERD) $(BUILD)/bench/ledger/bench_ledger
	LEDGERD_BIN=$(abspath $(LEDGERD)) $(BUILD)/bench/ledger/bench_ledger $(TRIALS)
bench: bench-ledger
-include $(BUILD)/obj/bench/ledger/bench_ledger.d

# `make bench-rpc`: the cost of one gRPC call through drillrig's client to a
# 3-node ledgerd cluster (Health/Check, Append, 1- and 16-client Append
# throughput), ledgerd alone; not part of `make bench` (bench/README.md).
# BENCH_RPC_ARGS: --rounds R --calls N --seconds S.
$(BUILD)/bench/rpc/bench_rpc: $(BUILD)/obj/bench/rpc/bench_rpc.o $(ARCHIVES) $(SUPPORT_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(SUPPORT_LIB) $(LINK_LIBS)

.PHONY: bench-rpc
bench-rpc: $(LEDGERD) $(BUILD)/bench/rpc/bench_rpc
	LEDGERD_BIN=$(abspath $(LEDGERD)) $(BUILD)/bench/rpc/bench_rpc $(BENCH_RPC_ARGS)
-include $(BUILD)/obj/bench/rpc/bench_rpc.d

# --- catalog ---
# The whole drill catalog, one drill after another, with one summary table
# at the end; exits with the highest exit status of any drill.
# DRILL_RESULTS: results repository (default ./drill-results, as `make drill`);
# DRILL_ALL_ARGS: more options for ci/drill-all.sh (e.g. --timing 300ms/30ms).
DRILL_RESULTS ?= drill-results
.PHONY: drill-all
drill-all: $(BINARIES)
	DRILLRIG=$(DRILLRIG) ci/drill-all.sh --results-repo $(DRILL_RESULTS) $(DRILL_ALL_ARGS)

# --- k8s ---
# The kubectl test double (tests/doubles/kubectl_double*.c) emulates
# Kubernetes contexts on a bundled cluster; tests put its directory first in
# PATH, so it is built as $(BUILD)/tests/doubles/kubectl.
KUBECTL_DOUBLE := $(BUILD)/tests/doubles/kubectl
$(KUBECTL_DOUBLE): $(call obj,$(wildcard tests/doubles/*.c)) $(ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS)
test unit integration: $(KUBECTL_DOUBLE)
-include $(patsubst %.c,$(BUILD)/obj/%.d,$(wildcard tests/doubles/*.c))

# --- fuzz ---
# libFuzzer targets (tests/fuzz/fuzz_<name>.c).  `make fuzz` rebuilds the
# modules with clang into build/fuzz (instrumented, ASan + UBSan; the gcc
# build is untouched) and runs every target FUZZ_SECONDS seconds; crash
# reproducers land in tests/fuzz/crashes/<name>/.  `make test` builds the
# same targets with $(CC) into replay drivers and replays the seed corpora
# and every saved reproducer (tests/integration/test_hardening_fuzz_replay.sh).
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BUILD   ?= build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
		-fno-omit-frame-pointer -fsanitize=fuzzer-no-link
REPLAY_BINS  := $(addprefix $(BUILD)/tests/fuzz/replay_,$(FUZZ_NAMES))
.PHONY: fuzz fuzz-build fuzz-deps

$(BUILD)/tests/fuzz/replay_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o \
			     $(BUILD)/obj/tests/fuzz/replay_main.o $(ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS)

test integration: $(REPLAY_BINS)

# Inside the clang sub-make BUILD is $(FUZZ_BUILD) and $(ARCHIVES) are the
# instrumented archives.
ifdef FUZZ_INNER
$(BUILD)/fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(ARCHIVES)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $< $(LINK_LIBS)
endif

fuzz-deps:
	@tests/fuzz/check-deps.sh

fuzz-build: fuzz-deps
	@$(MAKE) --no-print-directory FUZZ_INNER=1 CC=clang BUILD=$(FUZZ_BUILD) \
		SAN_FLAGS="$(FUZZ_SAN)" OPT="-O1 -g" WERROR= \
		$(addprefix $(FUZZ_BUILD)/fuzz_,$(FUZZ_NAMES))

fuzz: fuzz-build
	@tests/fuzz/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BUILD) $(FUZZ_NAMES)

-include $(patsubst %.c,$(BUILD)/obj/%.d,$(wildcard tests/fuzz/*.c))

# --- soak ---
# The randomized fault soak (docs/soak.md): a benchmark-style target, never
# part of `make test` (which runs 10 iterations with a fixed seed through
# tests/integration/test_soak.sh).  The schedule (and the history of a
# failing iteration) lands in build/soak/.
SOAK_ITERATIONS ?= 100
SOAK_ARGS ?=
SOAK_ROOT := $(firstword $(wildcard /dev/shm) /tmp)
.PHONY: soak

soak: $(BINARIES)
	@mkdir -p $(BUILD)/soak
	DRILLRIG_CLUSTER_ROOT=$(SOAK_ROOT) $(DRILLRIG) soak --iterations $(SOAK_ITERATIONS) \
		--schedule-out $(BUILD)/soak/schedule.json $(SOAK_ARGS)

# --- etcd ---
# `make bench-failover`: ledgerd against etcd side by side (failover by kill -9
# and by SIGSTOP, throughput, cold start, runner cost, the drill);
# bench/README.md.  Needs etcd-server.
# TRIALS (default 10) trials per failover timing; BENCH_FAILOVER_ARGS more
# options (--seconds S, --cold N, --only failover,frozen,throughput,cold,runner,drill).
BENCH_FAILOVER_SRC := $(wildcard bench/failover/*.c)
$(BUILD)/bench/failover/bench_failover: $(call obj,$(BENCH_FAILOVER_SRC)) $(ARCHIVES) $(SUPPORT_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $(call obj,$(BENCH_FAILOVER_SRC)) $(SUPPORT_LIB) $(LINK_LIBS)

.PHONY: bench-failover
bench-failover: $(BINARIES) $(BUILD)/bench/failover/bench_failover
	LEDGERD_BIN=$(abspath $(LEDGERD)) DRILLRIG_BIN=$(abspath $(DRILLRIG)) \
		$(BUILD)/bench/failover/bench_failover --trials $(TRIALS) $(BENCH_FAILOVER_ARGS)
bench: bench-failover
-include $(patsubst %.c,$(BUILD)/obj/%.d,$(BENCH_FAILOVER_SRC))

-include tests/mutants/mutants.mk
