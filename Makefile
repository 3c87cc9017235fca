# Start Spark — top-level build.
#   make              build daemon/sparkd
#   make check        quick tests: unit (cmocka) + daemon integration (pytest)
#   make test         install what is needed, then every test (also under ASan+UBSan, fuzz smoke)
#   make SANITIZE=1 … the same targets with ASan+UBSan (objects in build/asan)
#   make fuzz         run every libFuzzer target for FUZZ_SECONDS (default 600) each
#   make install PREFIX=/usr/local DESTDIR=
#   make e2e-test     end to end: real JupyterHub + Chromium (as root; tests/e2e)
#   make demo         a JupyterHub with Start Spark on http://127.0.0.1:8000
#   make bench        the benchmark suite (bench/; BENCH="share render" picks some, BENCH_ARGS=--quick)
SHELL := /bin/bash

PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
CLANG    ?= clang
PYTHON   ?= python3
VENV     := .venv
VPY      := $(CURDIR)/$(VENV)/bin/python
VERSION  := 0.1.0

PKGS     := jansson yaml-0.1 libzmq libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libzmq, libcrypto and libm: headers only; daemon/dl.c dlopens them on
# first use (an idle daemon maps none of them), so nothing links them.
PKG_LIBS   := $(shell pkg-config --libs jansson yaml-0.1 2>/dev/null) -lev

WARN     := -Wall -Wextra -Wshadow -Wmissing-prototypes -Werror
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -DSPARKD_VERSION='"$(VERSION)"' \
	-DSPARKD_DATADIR='"$(PREFIX)/share/sparkd"' $(WARN) -g $(PKG_CFLAGS)

ifdef SANITIZE
BUILD    := build/asan
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT      := -O1
else
BUILD    := build/normal
SAN      :=
OPT      := -O2
endif
ALL_CFLAGS  := $(BASE_CFLAGS) $(OPT) $(SAN) $(CFLAGS)
ALL_LDFLAGS := $(SAN) $(LDFLAGS)

# The kernel-side Python (daemon/py/*.py) becomes C strings in a generated
# file (daemon/py/py2c.py compiles each source first): see daemon/sparkd_py.h.
PY_SRCS  := daemon/py/sparkd_helpers.py daemon/py/warmup_driver.py daemon/py/warmup_connect.py
PY_GEN   := build/gen/sparkd_py.c
LIB_SRCS := $(filter-out daemon/main.c,$(wildcard daemon/*.c))
LIB_OBJS := $(LIB_SRCS:daemon/%.c=$(BUILD)/%.o) $(BUILD)/sparkd_py.o
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)
FUZZ_SECONDS ?= 600
FUZZ_SMOKE_SECONDS ?= 20

ifdef SANITIZE
SPARKD_BIN := $(BUILD)/sparkd
else
SPARKD_BIN := daemon/sparkd
endif

.PHONY: security-test e2e-test e2e-venv labextension labextension-test all check test unit integration fuzz fuzz-smoke jinja-compare deps venv install clean demo format hub-test bench

all: $(SPARKD_BIN)

$(BUILD)/%.o: daemon/%.c $(wildcard daemon/*.h) | $(BUILD)
	@echo "  CC      $@"
	@$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(PY_GEN): daemon/py/py2c.py $(PY_SRCS)
	@echo "  PY2C    $@"
	@$(PYTHON) daemon/py/py2c.py $@ $(PY_SRCS)

$(BUILD)/sparkd_py.o: $(PY_GEN) daemon/sparkd_py.h | $(BUILD)
	@echo "  CC      $@"
	@$(CC) $(ALL_CFLAGS) -Idaemon -c -o $@ $<

$(BUILD):
	mkdir -p $(BUILD)/tests

$(BUILD)/libsparkd.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(SPARKD_BIN): $(BUILD)/main.o $(BUILD)/libsparkd.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# Unit tests export their symbols (-rdynamic): test_kmsg's CRYPTO_memcmp
# then interposes OpenSSL's, since dl.c looks in the program first.
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libsparkd.a tests/unit/unit.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -Idaemon -Itests/unit -o $@ $< $(BUILD)/libsparkd.a $(ALL_LDFLAGS) -rdynamic $(PKG_LIBS) -lcmocka

# The test driver for tests/cluster (real Spark processes through cluster.c).
$(BUILD)/cluster_driver: tests/cluster/cluster_driver.c $(BUILD)/libsparkd.a | $(BUILD)
	$(CC) $(ALL_CFLAGS) -Idaemon -o $@ $< $(BUILD)/libsparkd.a $(ALL_LDFLAGS) $(PKG_LIBS)

cluster-test: $(BUILD)/cluster_driver $(VENV)/.done
	CLUSTER_DRIVER=$(CURDIR)/$(BUILD)/cluster_driver $(VPY) -m pytest -q tests/cluster

# Unit tests run from the tree root so they find tests/data.
unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

integration: $(SPARKD_BIN) $(VENV)/.done
	SPARKD=$(CURDIR)/$(SPARKD_BIN) $(VPY) -m pytest -q tests/integration

check: unit integration

jinja-compare: $(SPARKD_BIN) $(VENV)/.done
	SPARKD=$(CURDIR)/$(SPARKD_BIN) $(VPY) tests/jinja_compare.py tests/data/templates

build/fuzz/%: tests/fuzz/%.c $(LIB_SRCS) $(PY_GEN) $(wildcard daemon/*.h)
	@mkdir -p build/fuzz
	$(CLANG) $(BASE_CFLAGS) -Wno-missing-prototypes -O1 -fsanitize=fuzzer,address,undefined \
		-Idaemon -o $@ $< $(LIB_SRCS) $(PY_GEN) $(PKG_LIBS)

fuzz-smoke: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do n=$$(basename $$f); \
		mkdir -p build/fuzz/corpus/$$n; \
		echo "== $$n ($(FUZZ_SMOKE_SECONDS) s)"; \
		$$f -max_total_time=$(FUZZ_SMOKE_SECONDS) -print_final_stats=1 \
			build/fuzz/corpus/$$n tests/fuzz/corpus/$$n 2>build/fuzz/$$n.log || { tail -50 build/fuzz/$$n.log; exit 1; }; \
		grep -E 'stat::number_of_executed_units|stat::peak_rss' build/fuzz/$$n.log; done

fuzz: $(FUZZ_BINS)
	$(MAKE) fuzz-smoke FUZZ_SMOKE_SECONDS=$(FUZZ_SECONDS)

# tools/: sparkctl and the launcher (normal build in tools/, sanitized in build/asan/).
ifdef SANITIZE
TOOL_BINS := $(BUILD)/sparkctl $(BUILD)/sparkd-launch
else
TOOL_BINS := tools/sparkctl tools/sparkd-launch
endif
TOOL_LIBS := $(shell pkg-config --libs jansson 2>/dev/null)
all: $(TOOL_BINS)

# daemon/sockpath.c: the default socket path, the same chain as the daemon's.
TOOL_SRCS := tools/uhttp.c daemon/sockpath.c
tools/sparkctl tools/sparkd-launch: tools/%: tools/%.c $(TOOL_SRCS) tools/uhttp.h daemon/sockpath.h
	$(CC) $(ALL_CFLAGS) -Itools -Idaemon -o $@ $< $(TOOL_SRCS) $(ALL_LDFLAGS) $(TOOL_LIBS)
$(BUILD)/sparkctl $(BUILD)/sparkd-launch: $(BUILD)/%: tools/%.c $(TOOL_SRCS) tools/uhttp.h daemon/sockpath.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) -Itools -Idaemon -o $@ $< $(TOOL_SRCS) $(ALL_LDFLAGS) $(TOOL_LIBS)

# The hub hook, the launcher, sparkctl and the systemd units (tests/hub).
hub-test: $(SPARKD_BIN) $(TOOL_BINS) $(VENV)/.done
	SPARKD=$(CURDIR)/$(SPARKD_BIN) SPARKCTL=$(CURDIR)/$(word 1,$(TOOL_BINS)) \
		SPARKD_LAUNCH=$(CURDIR)/$(word 2,$(TOOL_BINS)) $(VPY) -m pytest -q tests/hub

# labextension/: the Start Spark toolbar (JupyterLab 4 / Notebook 7), built
# with the pinned jlpm from the venv's jupyterlab and the committed yarn.lock,
# then pip-installed (prebuilt, with the /sparkd proxy route) into .venv.
JLPM := cd labextension && PATH=$(CURDIR)/$(VENV)/bin:$$PATH jlpm
labextension: $(VENV)/.done
	$(JLPM) install --immutable
	$(JLPM) build:prod
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-build-isolation ./labextension

# Jest (state machine, request helper, long-poll follower, …), type check
# of the tests, prettier and eslint.
labextension-test: $(VENV)/.done
	$(JLPM) install --immutable
	$(JLPM) lint:check
	$(JLPM) typecheck
	$(JLPM) test

# Benchmarks: always against the optimized build; results in bench/results/.
BENCH_BINS := build/normal/bench/tmpl_bench build/normal/bench/loadgen
build/normal/bench/tmpl_bench: bench/tmpl_bench.c build/normal/libsparkd.a
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -O2 -Idaemon -o $@ $< build/normal/libsparkd.a $(PKG_LIBS)
build/normal/bench/loadgen: bench/loadgen.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -O2 -o $@ $<
bench: $(BENCH_BINS) $(VENV)/.done
	$(MAKE) SANITIZE= daemon/sparkd
	SPARKD=$(CURDIR)/daemon/sparkd $(VPY) bench/run.py $(BENCH) $(BENCH_ARGS)

deps:
	@bash scripts/install-deps.sh

$(VENV)/.done: tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt
	touch $@

venv: $(VENV)/.done

# Everything, from a fresh Debian 12 machine: dependencies, the normal build,
# the ASan+UBSan build (unit + integration, LeakSanitizer on), Jinja2
# comparison, and each fuzz target briefly.
test: deps
	$(MAKE) venv
	$(MAKE) all unit jinja-compare
	$(MAKE) integration hub-test cluster-test labextension-test
	$(MAKE) SANITIZE=1 unit integration hub-test
	$(MAKE) fuzz-smoke
	$(MAKE) e2e-test
	$(MAKE) security-test
	@echo "make test: all suites passed"

install: daemon/sparkd tools/sparkctl tools/sparkd-launch
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/sparkd/configs/templates \
		$(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0755 daemon/sparkd $(DESTDIR)$(PREFIX)/bin/sparkd
	install -m 0644 configs/*.yaml $(DESTDIR)$(PREFIX)/share/sparkd/configs/
	install -m 0644 configs/templates/* $(DESTDIR)$(PREFIX)/share/sparkd/configs/templates/
	install -m 0644 docs/man/sparkd.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/lib/systemd/user
	install -m 0755 tools/sparkctl tools/sparkd-launch $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 docs/man/sparkctl.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 docs/man/sparkd-launch.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 systemd/sparkd.socket $(DESTDIR)$(PREFIX)/lib/systemd/user/
	sed 's|/usr/local/bin/|$(PREFIX)/bin/|' systemd/sparkd.service > $(DESTDIR)$(PREFIX)/lib/systemd/user/sparkd.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/user/sparkd.service

# End to end (tests/e2e): a real JupyterHub + configurable-http-proxy (npm,
# pinned in tests/e2e/package-lock.json) + JupyterLab/Notebook 7 + the hook +
# the extension + sparkd, and Debian's Chromium through Playwright. As root:
# it creates Unix users, whose servers run $(E2E_VENV) — built from Debian's
# python3 so that they can execute it (a Python under /root they could not).
E2E_VENV   := .venv-e2e
E2E_PYTHON ?= /usr/bin/python3
E2E_NPM    := tests/e2e/node_modules/.done
$(E2E_VENV)/.done: tests/requirements.txt
	$(E2E_PYTHON) -m venv $(E2E_VENV)
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(E2E_VENV)/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt
	touch $@
e2e-venv: $(E2E_VENV)/.done labextension
	$(E2E_VENV)/bin/pip install -q --disable-pip-version-check --no-build-isolation --no-deps --force-reinstall ./labextension
$(E2E_NPM): tests/e2e/package.json tests/e2e/package-lock.json
	cd tests/e2e && npm ci --no-audit --no-fund
	touch $@
e2e-test: deps $(SPARKD_BIN) $(TOOL_BINS) e2e-venv $(E2E_NPM)
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 E2E_VENV=$(CURDIR)/$(E2E_VENV) SPARKD=$(CURDIR)/$(SPARKD_BIN) \
		SPARKD_LAUNCH=$(CURDIR)/$(word 2,$(TOOL_BINS)) $(E2E_VENV)/bin/python -m pytest -q tests/e2e $(E2E_ARGS)

# The shared-host suite (tests/security): a victim and an attacker, two real
# Unix users made by the test, and every way one user could reach the other's
# Spark, secrets or socket.  As root; the users run the e2e venv.
security-test: deps $(SPARKD_BIN) $(TOOL_BINS) e2e-venv
	E2E_VENV=$(CURDIR)/$(E2E_VENV) SPARKD=$(CURDIR)/$(SPARKD_BIN) SPARKCTL=$(CURDIR)/$(word 1,$(TOOL_BINS)) \
		SPARKD_LAUNCH=$(CURDIR)/$(word 2,$(TOOL_BINS)) $(E2E_VENV)/bin/python -m pytest -q tests/security

# A JupyterHub on http://127.0.0.1:8000 with Start Spark (demo/); Ctrl-C stops it all.
demo: deps
	$(MAKE) venv
	$(MAKE) SANITIZE= daemon/sparkd tools/sparkctl tools/sparkd-launch labextension $(E2E_NPM)
	$(VPY) demo/run.py

format:
	clang-format -i daemon/*.c daemon/*.h tests/unit/*.c tests/fuzz/*.c

clean:
	rm -rf build daemon/sparkd tools/sparkctl tools/sparkd-launch
