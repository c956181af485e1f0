# SPDX-License-Identifier: GPL-2.0-only
#
# meshgate: one non-recursive build.
#   datapath/*.bpf.c -> build/datapath/*.bpf.o -> build/include/*.skel.h
#   agent/**.c       -> build/libmeshgate.a    -> build/meshgate
#   tests/**         -> build/tests/...
# `make V=1` shows the commands.

.DELETE_ON_ERROR:
.SECONDARY:
.SUFFIXES:
MAKEFLAGS += --no-builtin-rules

ifeq ($(V),1)
Q :=
msg := @true
else
Q := @
msg = @printf '  %-8s %s\n'
endif

BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
CLANG    ?= clang
BPFTOOL  ?= bpftool
CC       ?= cc
ARCH     := $(shell uname -m)
BPF_ARCH := $(subst x86_64,x86,$(subst aarch64,arm64,$(ARCH)))

# Debian packages the build, the tests, the demo and the bench need.
DEB_PKGS := clang llvm make gcc libc6-dev pkg-config libbpf-dev bpftool libelf-dev \
	zlib1g-dev libssl-dev libinih-dev libmsgpack-dev libmnl-dev \
	libcmocka-dev iproute2 iputils-ping ethtool nftables tcpdump tshark \
	serf socat netcat-openbsd procps jq bc python3 libsystemd-dev clang-format \
	libmicrohttpd-dev prometheus curl

PKGS       := libbpf inih msgpack libmnl libcrypto zlib libsystemd libmicrohttpd
PKG_CFLAGS  = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# Not linked: libsystemd (lib/notify.c speaks sd_notify's protocol itself)
# and libmicrohttpd (lib/mhd_lazy.c opens it when the metrics server starts),
# so that a CLI call does not load them and theirs (gnutls, gcrypt, ...).
LINK_PKGS  := $(filter-out libsystemd libmicrohttpd,$(PKGS))
PKG_LIBS    = $(shell pkg-config --libs $(LINK_PKGS) 2>/dev/null)

CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wshadow \
	    -D_GNU_SOURCE -MMD -MP -Iinclude -Iagent -I$(BUILD)/include
LDLIBS   += $(PKG_LIBS) -lelf

# What `meshgate version` and the metrics' build info say: git describe when
# this is a checkout, else the release number.
MG_VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0)
MG_COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
CFLAGS   += -DMG_VERSION='"$(MG_VERSION)"' -DMG_COMMIT='"$(MG_COMMIT)"'

BPF_CFLAGS := -g -O2 -Wall -Wno-unused-function -target bpf \
	-D__TARGET_ARCH_$(BPF_ARCH) -Iinclude -Idatapath \
	-I/usr/include/$(ARCH)-linux-gnu -MMD -MP

# WERROR=1 (make check, CI): every warning of the host and BPF builds fails it.
ifeq ($(WERROR),1)
CFLAGS     += -Werror
BPF_CFLAGS += -Werror
endif

# --- sources --------------------------------------------------------------
BPF_SRCS   := $(wildcard datapath/*.bpf.c)
BPF_OBJS   := $(BPF_SRCS:%.bpf.c=$(BUILD)/%.bpf.o)
SKELS      := $(patsubst datapath/%.bpf.c,$(BUILD)/include/%.skel.h,$(BPF_SRCS))
# BPF programs that only tests and the bench load (baselines, generators).
TBPF_SRCS  := $(wildcard tests/*/*.bpf.c)
TSKELS     := $(foreach f,$(TBPF_SRCS),$(BUILD)/include/$(notdir $(f:.bpf.c=.skel.h)))

AGENT_MAIN := agent/main.c
AGENT_SRCS := $(filter-out $(AGENT_MAIN),$(wildcard agent/*.c agent/lib/*.c \
	agent/memberlist/*.c agent/serf/*.c agent/state/*.c \
	agent/mesh/*.c agent/services/*.c agent/netlink/*.c \
	agent/config/*.c))
AGENT_OBJS := $(AGENT_SRCS:%.c=$(BUILD)/%.o)
LIB        := $(BUILD)/libmeshgate.a
BIN        := $(BUILD)/meshgate
UNIT       := $(BUILD)/meshgate.service
# meshgate(8), meshgate.conf(5) and the bash completion, generated from the
# command and configuration tables the binary runs on (agent/gen_docs.c).
GENDOCS    := $(BUILD)/mg-gen-docs
DOCS       := $(BUILD)/man/meshgate.8 $(BUILD)/man/meshgate.conf.5 \
	      $(BUILD)/completion/meshgate

TLIB_SRCS  := $(wildcard tests/lib/*.c)
TLIB_OBJS  := $(TLIB_SRCS:%.c=$(BUILD)/%.o)
TLIB       := $(BUILD)/libmgtest.a

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:%.c=$(BUILD)/%)
DP_SRCS    := $(wildcard tests/datapath/test_*.c)
DP_BINS    := $(DP_SRCS:%.c=$(BUILD)/%)
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY:= $(FUZZ_SRCS:%.c=$(BUILD)/%_replay)
FUZZ_BINS  := $(FUZZ_SRCS:%.c=$(BUILD)/%)
BENCH_SRCS := $(filter-out %.bpf.c,$(wildcard tests/bench/*.c))
BENCH_BINS := $(BENCH_SRCS:%.c=$(BUILD)/%)

.PHONY: all deps demo test test-unit test-datapath test-e2e test-fuzz fuzz \
	bench install clean help check check-format check-werror
all: $(BIN) $(UNIT) $(DOCS)

help:
	@echo 'make            build build/meshgate (BPF objects, skeletons, agent)'
	@echo 'make deps       install missing Debian packages (apt-get)'
	@echo 'make demo       two clusters in network namespaces, live'
	@echo 'make test       unit, datapath, fuzz-replay and e2e tests, then test-asan (root)'
	@echo 'make test-unit | test-datapath | test-fuzz | test-e2e'
	@echo 'make check      format check and a -Werror build of everything (CI)'
	@echo 'make fuzz       run every libFuzzer harness to FUZZ_EXECS (10M), report'
	@echo 'make test-asan  unit tests, fuzz replays and an e2e smoke under ASan+UBSan'
	@echo 'make bench      measure; prints a table, writes build/bench.json'
	@echo 'make install    PREFIX=$(PREFIX) DESTDIR=...'
	@echo 'make clean'

# --- dependencies -----------------------------------------------------------
deps:
	@missing=; for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
			grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "  DEPS    installing:$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
			|| { echo "apt-get install failed:$$missing" >&2; exit 1; }; \
	fi

# --- BPF ---------------------------------------------------------------------
$(BUILD)/datapath/%.bpf.o: datapath/%.bpf.c | $(BUILD)/datapath
	$(msg) BPF $@
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/include/%.skel.h: $(BUILD)/datapath/%.bpf.o | $(BUILD)/include
	$(msg) SKEL $@
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(BUILD)/tests/bpf/%.bpf.o: $(TBPF_SRCS) | $(BUILD)/include
	@mkdir -p $(@D)
	$(msg) BPF $@
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $(filter %/$*.bpf.c,$(TBPF_SRCS)) -o $@

$(BUILD)/include/%.skel.h: $(BUILD)/tests/bpf/%.bpf.o | $(BUILD)/include
	$(msg) SKEL $@
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

# --- agent -------------------------------------------------------------------
$(BUILD)/agent/%.o: agent/%.c $(SKELS)
	@mkdir -p $(@D)
	$(msg) CC $@
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(LIB): $(AGENT_OBJS)
	$(msg) AR $@
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(BUILD)/agent/main.o $(LIB)
	$(msg) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(GENDOCS): $(BUILD)/agent/gen/gen_docs_main.o $(LIB)
	$(msg) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/man/meshgate.8: $(GENDOCS)
	@mkdir -p $(@D)
	$(msg) GEN $@
	$(Q)$(GENDOCS) man8 >$@.tmp && mv $@.tmp $@
$(BUILD)/man/meshgate.conf.5: $(GENDOCS) firmware-config/meshgate.conf
	@mkdir -p $(@D)
	$(msg) GEN $@
	$(Q)$(GENDOCS) man5 firmware-config/meshgate.conf >$@.tmp && mv $@.tmp $@
$(BUILD)/completion/meshgate: $(GENDOCS)
	@mkdir -p $(@D)
	$(msg) GEN $@
	$(Q)$(GENDOCS) completion >$@.tmp && mv $@.tmp $@

# --- tests -------------------------------------------------------------------
$(BUILD)/tests/%.o: tests/%.c $(SKELS) $(TSKELS)
	@mkdir -p $(@D)
	$(msg) CC $@
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) -Itests -c $< -o $@

$(TLIB): $(TLIB_OBJS)
	$(msg) AR $@
	$(Q)rm -f $@ && ar rcs $@ $^

$(UNIT_BINS) $(DP_BINS) $(BENCH_BINS): %: %.o $(TLIB) $(LIB)
	$(msg) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# Fuzz harnesses: the replay build (plain cc, a main() that runs every file of
# the corpus) runs in `make test`; the libFuzzer build is `make fuzz`.
$(FUZZ_REPLAY): %_replay: %.o $(BUILD)/tests/fuzz/replay_main.o $(LIB)
	$(msg) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/fuzz/replay_main.o: tests/fuzz/replay_main.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

FUZZ_CFLAGS := -O1 -g -fsanitize=fuzzer,address,undefined -std=gnu11 \
	-D_GNU_SOURCE -Iinclude -Iagent -I$(BUILD)/include $(PKG_CFLAGS)
$(FUZZ_BINS): $(BUILD)/tests/fuzz/%: tests/fuzz/%.c $(AGENT_SRCS) $(SKELS)
	@mkdir -p $(@D)
	$(msg) FUZZ $@
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -o $@ $< $(AGENT_SRCS) $(LDLIBS)

# make fuzz: every harness to FUZZ_EXECS executions (default 10M), FUZZ_JOBS
# at a time (default 1), FUZZ_ONLY="fuzz_x fuzz_y" for some; the report is
# printed and left in $(BUILD)/fuzz-report.txt and .json (tests/fuzz/run.sh).
fuzz: $(FUZZ_BINS)
	$(Q)tests/fuzz/run.sh $(abspath $(BUILD)) $(abspath $(FUZZ_BINS))

# --- checks -----------------------------------------------------------------
# make check: what CI runs before the tests.  The formatter (.clang-format,
# kernel style) over the files that follow it entirely (add a file here once
# it does; one that stops, after a merge, is formatted again with
# clang-format -i or leaves the list; one moved away is skipped), and with
# CHECK_BASE=<commit> also over every line changed since then (git
# clang-format); then everything built with WERROR=1 in a build
# directory of its own, so that objects made without it are not taken.
CLANG_FORMAT ?= clang-format
FORMAT_FILES := agent/hostroute.h agent/lib/addr.c agent/lib/notify.h \
	agent/lib/out.h agent/lib/persist.c agent/lib/persist.h agent/pins.c \
	agent/pins.h \
	agent/lib/buf.c agent/lib/buf.h agent/memberlist/lzw.h \
	agent/lib/msgpack.h agent/serf/tags.c agent/memberlist/transport.h \
	datapath/config.h datapath/stats.h datapath/tc.bpf.c datapath/xdp.bpf.c \
	tests/bench/pass.bpf.c tests/fuzz/fuzz_ctl.c tests/fuzz/fuzz_state.c \
	tests/bench/ref_encap.bpf.c tests/bench/ctins.bpf.c tests/bench/bench_ct.c \
	tests/bench/hot.bpf.c \
	tests/unit/test_view.c \
	tests/bench/bench_metrics.c agent/cmd_explain.c
FORMAT_FILES += agent/policy.c agent/policy_compile.c agent/policy.h agent/policy_rt.c \
	agent/policy_rt.h datapath/policy.h tests/datapath/test_policy.c \
	tests/bench/bench_policy.c \
	agent/prefix.c agent/prefix.h datapath/prefix.h tests/unit/test_prefix.c \
	tests/datapath/test_prefix.c tests/bench/bench_prefix.c \
	tests/bench/pfxlook.bpf.c \
	tests/fuzz/fuzz_ctl_client.c tests/fuzz/fuzz_services.c \
	tests/fuzz/fuzz_tags.c agent/lib/mhd_lazy.c tests/unit/test_loop.c \
	tests/unit/test_mhd_lazy.c \
	agent/outlier.c agent/outlier.h datapath/outlier.h \
	tests/unit/test_outlier.c tests/lib/lbt_outlier.c tests/lib/lbt_outlier.h \
	tests/bench/bench_policy.c tests/unit/test_policy_wire.c \
	tests/bench/bench_pfxencap.c
# The files the agent's split made (helper D, issue 11).
FORMAT_FILES += agent/services/*.c agent/services/*.h agent/cmd_services.c \
	agent/memberlist/member_int.h agent/memberlist/nodes.c \
	agent/memberlist/send.c agent/memberlist/states.c \
	agent/memberlist/stream.c agent/memberlist/packet.c \
	agent/memberlist/probe.c agent/memberlist/tick.c \
	agent/memberlist/member.c agent/netlink/*.c agent/netlink/*.h \
	agent/agent.c agent/agent_int.h agent/agent_sync.c \
	agent/agent_events.c agent/agent_serve.c agent/agent_reload.c \
	tests/unit/test_services_wire.c tests/unit/test_services_tables.c \
	tests/unit/test_services_model.c
# The datapath's one-concern headers (issue 11 item 3).
FORMAT_FILES += datapath/endpoint.h datapath/inner.h datapath/pin.h
# The IPv6 prefix table.
FORMAT_FILES += agent/prefix6.c agent/prefix6.h datapath/prefix6.h \
	tests/unit/test_prefix6.c tests/datapath/test_prefix6.c
# Policy and rate-limit benches (issue 13).
FORMAT_FILES += tests/bench/bench_rl.c tests/bench/rlb.bpf.c
CHECK_BASE ?=

check: check-format check-werror

check-format: deps
	$(msg) FORMAT '$(words $(wildcard $(FORMAT_FILES))) files$(if $(CHECK_BASE), + lines changed since $(CHECK_BASE))'
	$(Q)$(CLANG_FORMAT) --dry-run --Werror $(wildcard $(FORMAT_FILES))
ifneq ($(CHECK_BASE),)
	$(Q)out=$$(git clang-format --binary $$(command -v $(CLANG_FORMAT)) \
		--diff $(CHECK_BASE) -- '*.c' '*.h'); \
	case "$$out" in ''|*'no modified files'*|*'did not modify'*) ;; \
	*) echo "$$out"; exit 1;; esac
endif

# CHECK_BUILD: where (CI, on a clean clone, builds there in $(BUILD) itself,
# so that `make test` after it takes the objects made with -Werror).
CHECK_BUILD ?= $(BUILD)/werror
check-werror: deps
	$(Q)$(MAKE) --no-print-directory BUILD=$(CHECK_BUILD) WERROR=1 \
		$(patsubst $(BUILD)/%,$(CHECK_BUILD)/%,$(BIN) $(UNIT_BINS) \
		$(DP_BINS) $(BENCH_BINS) $(FUZZ_REPLAY))

# --- sanitizers --------------------------------------------------------------
# `make test-asan`: the unit tests, the fuzz replays and the agent built with
# AddressSanitizer and UndefinedBehaviorSanitizer in their own tree, every
# finding fatal (no recovery, leaks included), then the unit and fuzz groups
# and one e2e smoke (the agents of test_gossip) run from that tree.
ASAN_BUILD  ?= build-asan
ASAN_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
# Reports go to files (an agent's would otherwise end in a log the e2e test
# deletes, a leak at its exit unnoticed): any file there fails the run.
ASAN_LOGS    = $(abspath $(ASAN_BUILD))/sanitizer-reports
ASAN_ENV     = ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:log_path=$(ASAN_LOGS)/asan \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$(ASAN_LOGS)/ubsan
ASAN_SMOKE  ?= tests/e2e/test_gossip.sh

.PHONY: test-asan asan-build asan-bins
asan-build: deps
	$(Q)CFLAGS='$(ASAN_CFLAGS)' LDFLAGS='-fsanitize=address,undefined' \
		$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) asan-bins

test-asan: asan-build
	$(Q)rm -rf $(ASAN_LOGS) && mkdir -p $(ASAN_LOGS)
	$(Q)rc=0; export $(ASAN_ENV) BUILD=$(abspath $(ASAN_BUILD)) \
		MESHGATE=$(abspath $(ASAN_BUILD))/meshgate; \
	$(TEST_RUN) unit || rc=1; $(TEST_RUN) fuzz || rc=1; \
	for t in $(ASAN_SMOKE); do echo "=== asan $$t"; timeout 600 $$t || rc=1; done; \
	for f in $(ASAN_LOGS)/*; do [ -f "$$f" ] || continue; \
		echo "=== sanitizer report $$f"; cat "$$f"; rc=1; done; \
	exit $$rc

asan-bins: $(BIN) $(UNIT_BINS) $(FUZZ_REPLAY)

# --- running ----------------------------------------------------------------
TEST_RUN := tests/run.sh

MGPEER := $(BUILD)/tests/bench/mgpeer

# Then the sanitizer run (about a minute plus its e2e smoke), in its own tree;
# its build runs niced beside the tests (MG_ASAN_BUILD), in the time they
# spend waiting on timers and peers.
test: deps all $(UNIT_BINS) $(DP_BINS) $(FUZZ_REPLAY) $(MGPEER)
	$(Q)MESHGATE=$(abspath $(BIN)) BUILD=$(abspath $(BUILD)) \
		MG_ASAN_BUILD='$(MAKE) --no-print-directory asan-build' \
		MG_TEST_ASAN='$(MAKE) --no-print-directory test-asan' \
		$(TEST_RUN) all

test-unit: deps $(UNIT_BINS)
	$(Q)BUILD=$(abspath $(BUILD)) $(TEST_RUN) unit

test-datapath: deps $(DP_BINS) all
	$(Q)BUILD=$(abspath $(BUILD)) $(TEST_RUN) datapath

test-fuzz: deps $(FUZZ_REPLAY)
	$(Q)BUILD=$(abspath $(BUILD)) $(TEST_RUN) fuzz

test-e2e: deps all $(MGPEER)
	$(Q)MESHGATE=$(abspath $(BIN)) BUILD=$(abspath $(BUILD)) $(TEST_RUN) e2e

demo: deps all
	$(Q)MESHGATE=$(abspath $(BIN)) BUILD=$(abspath $(BUILD)) tests/e2e/demo.sh

bench: deps all $(BENCH_BINS)
	$(Q)MESHGATE=$(abspath $(BIN)) BUILD=$(abspath $(BUILD)) tests/bench/run.sh

# The unit runs the binary where PREFIX puts it: made again when PREFIX
# differs from the last build's.
$(UNIT): firmware-config/meshgate.service.in $(BUILD)/.prefix
	$(msg) GEN $@
	$(Q)sed 's|@SBINDIR@|$(PREFIX)/sbin|g' $< >$@.tmp && mv $@.tmp $@
$(BUILD)/.prefix: FORCE
	@mkdir -p $(@D)
	@echo '$(PREFIX)' | cmp -s - $@ || echo '$(PREFIX)' >$@
FORCE:
.PHONY: FORCE

# An existing configuration is the operator's: never overwritten (the
# shipped one goes beside it as meshgate.conf.dist).  It holds gossip keys:
# 0600 in a 0700 directory.
CONF_DST := $(DESTDIR)/etc/meshgate/meshgate.conf
install: all $(UNIT)
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/sbin/meshgate
	install -d -m 0700 $(DESTDIR)/etc/meshgate
	@if [ -e $(CONF_DST) ]; then \
		echo "  KEEP    $(CONF_DST) (the shipped one is $(CONF_DST).dist)"; \
		install -m 0600 firmware-config/meshgate.conf $(CONF_DST).dist; \
	else \
		install -m 0600 firmware-config/meshgate.conf $(CONF_DST); \
	fi
	install -D -m 0644 $(UNIT) $(DESTDIR)/lib/systemd/system/meshgate.service
	install -D -m 0644 firmware-config/99-meshgate.conf $(DESTDIR)/etc/sysctl.d/99-meshgate.conf
	install -D -m 0644 $(BUILD)/man/meshgate.8 $(DESTDIR)$(PREFIX)/share/man/man8/meshgate.8
	install -D -m 0644 $(BUILD)/man/meshgate.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/meshgate.conf.5
	install -D -m 0644 $(BUILD)/completion/meshgate $(DESTDIR)/usr/share/bash-completion/completions/meshgate

clean:
	rm -rf $(BUILD)

$(BUILD)/datapath $(BUILD)/include:
	@mkdir -p $@

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# bench_rl's atomic bucket: compare-and-swap (BPF ISA v3).
$(BUILD)/tests/bpf/rlb.bpf.o: BPF_CFLAGS += -mcpu=v3
