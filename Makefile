# Start Spark — top-level build.
#   make              build daemon/sparkd, tools/sparkctl, tools/sparkd-launch
#   make check        quick tests: unit (cmocka) + daemon integration (pytest)
#   make test         install what is needed, then every suite (see "make test" below); as root
#   make SANITIZE=1 … the same targets with ASan+UBSan (objects in build/asan)
#   make fuzz         run every libFuzzer target for FUZZ_SECONDS (default 600) each
#   make install PREFIX=/usr/local DESTDIR=
#   make dist         what admins install: the two wheels and the C sources' tarball, in dist/
#   make e2e-test     end to end: real JupyterHub + Chromium (as root; tests/e2e)
#   make security-test  two Unix users on one host (as root; tests/security)
#   make guide-test   the admin guide's install commands, run verbatim (as root; tests/guide)
#   make demo         a JupyterHub with Start Spark on http://127.0.0.1:8000
#   make bench        the benchmark suite (bench/; BENCH="share render" picks some, BENCH_ARGS=--quick)
SHELL := /bin/bash
.DELETE_ON_ERROR:

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
TOOL_LIBS  := $(shell pkg-config --libs jansson 2>/dev/null)

WARN     := -Wall -Wextra -Wshadow -Wmissing-prototypes -Werror
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -DSPARKD_VERSION='"$(VERSION)"' \
	-DSPARKD_DATADIR='"$(PREFIX)/share/sparkd"' $(WARN) -g $(PKG_CFLAGS)

ifdef SANITIZE
BUILD    := build/asan
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT      := -O1
SPARKD_BIN := $(BUILD)/sparkd
TOOL_BINS  := $(BUILD)/sparkctl $(BUILD)/sparkd-launch
else
BUILD    := build/normal
SAN      :=
OPT      := -O2
SPARKD_BIN := daemon/sparkd
TOOL_BINS  := tools/sparkctl tools/sparkd-launch
endif
ALL_CFLAGS  := $(BASE_CFLAGS) $(OPT) $(SAN) $(CFLAGS)
ALL_LDFLAGS := $(SAN) $(LDFLAGS)
DEPFLAGS     = -MMD -MP -MF $(BUILD)/deps/$(subst /,_,$@).d

# The build settings are recorded: when the compiler, the flags or PREFIX
# (compiled in as SPARKD_DATADIR) change, everything is rebuilt — so
# `make install PREFIX=/x` after a plain `make` installs a daemon that
# looks in /x/share/sparkd.
SETTINGS := $(BUILD)/settings
SETTINGS_TEXT := $(CC) $(ALL_CFLAGS) | $(ALL_LDFLAGS) | $(PKG_LIBS) $(TOOL_LIBS)
ifneq ($(SETTINGS_TEXT),$(file <$(SETTINGS)))
$(shell mkdir -p $(BUILD)/deps $(BUILD)/tests)
$(file >$(SETTINGS),$(SETTINGS_TEXT))
endif

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
FUZZ_SMOKE_SECONDS ?= 15
# daemon/sockpath.c: the default socket path, the same chain as the daemon's.
TOOL_SRCS := tools/uhttp.c daemon/sockpath.c

# pytest for make's suites: a skipped or deselected test fails the run
# (tests/strictskip.py); -rs lists what did not run.
PYTEST = PYTHONPATH=$(CURDIR)/tests $(1) -m pytest -q -rs -p strictskip --durations=12

.PHONY: all check test unit integration hub-test cluster-test jinja-compare labextension \
	labextension-test dist fuzz fuzz-smoke e2e-venv e2e-test security-test guide-wheels guide-test deps venv install clean \
	demo format bench build-test suites root-check py-lint

all: $(SPARKD_BIN) $(TOOL_BINS)

-include $(wildcard $(BUILD)/deps/*.d)

$(BUILD)/%.o: daemon/%.c $(SETTINGS)
	@echo "  CC      $@"
	@$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(PY_GEN): daemon/py/py2c.py $(PY_SRCS)
	@echo "  PY2C    $@"
	@$(PYTHON) daemon/py/py2c.py $@ $(PY_SRCS)

$(BUILD)/sparkd_py.o: $(PY_GEN) daemon/sparkd_py.h $(SETTINGS)
	@echo "  CC      $@"
	@$(CC) $(ALL_CFLAGS) -Idaemon -c -o $@ $<

$(BUILD)/libsparkd.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(SPARKD_BIN): $(BUILD)/main.o $(BUILD)/libsparkd.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# tools/: sparkctl and the launcher (normal build in tools/, sanitized in build/asan/).
$(TOOL_BINS): $(dir $(firstword $(TOOL_BINS)))%: tools/%.c $(TOOL_SRCS) $(SETTINGS)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -Itools -Idaemon -o $@ $< $(TOOL_SRCS) $(ALL_LDFLAGS) $(TOOL_LIBS)

# Unit tests export their symbols (-rdynamic): test_kmsg's CRYPTO_memcmp
# then interposes OpenSSL's, since dl.c looks in the program first.
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libsparkd.a
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -Wno-missing-prototypes -Idaemon -Itests/unit -o $@ $< \
		$(BUILD)/libsparkd.a $(ALL_LDFLAGS) -rdynamic $(PKG_LIBS) -lcmocka

# The test driver for tests/cluster (real Spark processes through cluster.c).
$(BUILD)/cluster_driver: tests/cluster/cluster_driver.c $(BUILD)/libsparkd.a
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -Idaemon -o $@ $< $(BUILD)/libsparkd.a $(ALL_LDFLAGS) $(PKG_LIBS)

# libFuzzer: the daemon's sources instrumented once into one archive, each
# target linked against it (build/fuzz/<target>, corpora in build/fuzz/corpus).
FUZZ_CFLAGS := $(BASE_CFLAGS) -Wno-missing-prototypes -O1 -fno-omit-frame-pointer
FUZZ_SAN    := -fsanitize=address,undefined
FUZZ_OBJS   := $(LIB_SRCS:daemon/%.c=build/fuzz/obj/%.o) build/fuzz/obj/sparkd_py.o
build/fuzz/obj/%.o: daemon/%.c build/normal/settings
	@mkdir -p $(@D) build/fuzz/deps
	@echo "  CLANG   $@"
	@$(CLANG) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -MMD -MP -MF build/fuzz/deps/$*.d -c -o $@ $<
build/fuzz/obj/sparkd_py.o: $(PY_GEN)
	@mkdir -p $(@D)
	@$(CLANG) $(FUZZ_CFLAGS) -Idaemon -c -o $@ $<
build/fuzz/libsparkd.a: $(FUZZ_OBJS)
	rm -f $@ && ar rcs $@ $^
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c build/fuzz/libsparkd.a
	$(CLANG) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -MMD -MP -MF build/fuzz/deps/fuzz_$*.d -Idaemon \
		-o $@ $< build/fuzz/libsparkd.a $(PKG_LIBS)
-include $(wildcard build/fuzz/deps/*.d)

# Unit tests run from the tree root so they find tests/data.
unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

# ASan runs the daemon-level tests only: the instrumented code is the
# daemon's, and a JVM under an ASan daemon adds minutes, not coverage (the
# `jvm` tests run in the normal pass).
ifdef SANITIZE
NO_JVM := -m "not jvm" --deselect-ok
endif

integration: $(SPARKD_BIN) $(VENV)/.done
	SPARKD=$(CURDIR)/$(SPARKD_BIN) $(call PYTEST,$(VPY)) $(NO_JVM) $(PYTEST_ARGS) tests/integration

check: unit integration

jinja-compare: $(SPARKD_BIN) $(VENV)/.done
	SPARKD=$(CURDIR)/$(SPARKD_BIN) $(VPY) tests/jinja_compare.py tests/data/templates

cluster-test: $(BUILD)/cluster_driver $(VENV)/.done
	CLUSTER_DRIVER=$(CURDIR)/$(BUILD)/cluster_driver $(call PYTEST,$(VPY)) tests/cluster

# The hub hook, the launcher, sparkctl and the systemd units (tests/hub).
hub-test: $(SPARKD_BIN) $(TOOL_BINS) $(VENV)/.done
	SPARKD=$(CURDIR)/$(SPARKD_BIN) SPARKCTL=$(CURDIR)/$(word 1,$(TOOL_BINS)) \
		SPARKD_LAUNCH=$(CURDIR)/$(word 2,$(TOOL_BINS)) $(call PYTEST,$(VPY)) $(NO_JVM) $(PYTEST_ARGS) tests/hub

fuzz-smoke: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do n=$$(basename $$f); \
		mkdir -p build/fuzz/corpus/$$n; \
		echo "== $$n ($(FUZZ_SMOKE_SECONDS) s)"; \
		$$f -max_total_time=$(FUZZ_SMOKE_SECONDS) -print_final_stats=1 \
			build/fuzz/corpus/$$n tests/fuzz/corpus/$$n 2>build/fuzz/$$n.log || { tail -50 build/fuzz/$$n.log; exit 1; }; \
		grep -E 'stat::number_of_executed_units|stat::peak_rss' build/fuzz/$$n.log; done

fuzz: $(FUZZ_BINS)
	$(MAKE) fuzz-smoke FUZZ_SMOKE_SECONDS=$(FUZZ_SECONDS)

# The kernel-side Python is linted (pyflakes) and unit-tested as Python.
py-lint: $(VENV)/.done
	$(VPY) daemon/py/lint.py

# labextension/: the Start Spark toolbar (JupyterLab 4 / Notebook 7), built
# with the pinned jlpm from the venv's jupyterlab and the committed yarn.lock,
# then pip-installed (prebuilt, with the /sparkd proxy route) into .venv.
JLPM := cd labextension && PATH=$(CURDIR)/$(VENV)/bin:$$PATH jlpm
LABEXT_SRCS := $(wildcard labextension/src/*.ts labextension/src/*.tsx labextension/style/* labextension/schema/*) \
	labextension/package.json labextension/yarn.lock labextension/pyproject.toml labextension/start_spark/*.py
LABEXT_STAMP := build/labextension.done
$(LABEXT_STAMP): $(LABEXT_SRCS) $(VENV)/.done
	$(JLPM) install --immutable
	$(JLPM) build:prod
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-build-isolation ./labextension
	@mkdir -p $(@D) && touch $@
labextension: $(LABEXT_STAMP)

# make dist: what an administrator installs (docs/admin-guide.md, "Install"),
# built on a host with node and npm; installing them needs neither:
#   dist/start_spark-VERSION-py3-none-any.whl  the toolbar, prebuilt (jlpm
#       build:prod above), and the proxy route: for the servers' Python
#   dist/sparkd_hub-VERSION-py3-none-any.whl   the hook: for the hub's Python
#   dist/sparkd-VERSION.tar.gz                 the C part (the files git tracks
#       in DIST_SRC_DIRS, as in the work tree): make && make install
DIST_WHEELS   := dist/start_spark-$(VERSION)-py3-none-any.whl dist/sparkd_hub-$(VERSION)-py3-none-any.whl
DIST_TARBALL  := dist/sparkd-$(VERSION).tar.gz
DIST_SRC_DIRS := daemon tools configs systemd docs/man scripts/install-deps.sh Makefile .clang-format
DIST_SRC      = $(shell git ls-files -- $(DIST_SRC_DIRS))
dist: $(DIST_WHEELS) $(DIST_TARBALL)
dist/start_spark-$(VERSION)-py3-none-any.whl: $(LABEXT_STAMP) labextension/README.md
	@grep -qx 'version = "$(VERSION)"' labextension/pyproject.toml || \
		{ echo "labextension/pyproject.toml: version is not $(VERSION) (the Makefile's VERSION)" >&2; exit 1; }
	@mkdir -p dist && rm -f dist/start_spark-*.whl
	$(VENV)/bin/pip wheel -q --disable-pip-version-check --no-deps --no-build-isolation -w dist ./labextension
	@unzip -l $@ | grep -q 'share/jupyter/labextensions/@start-spark/labextension/static/style.js' || \
		{ echo "$@ holds no prebuilt labextension" >&2; rm -f $@; exit 1; }
dist/sparkd_hub-$(VERSION)-py3-none-any.whl: $(wildcard hub-hook/sparkd_hub/*.py) hub-hook/pyproject.toml hub-hook/README.md $(VENV)/.done
	@grep -qx 'version = "$(VERSION)"' hub-hook/pyproject.toml || \
		{ echo "hub-hook/pyproject.toml: version is not $(VERSION) (the Makefile's VERSION)" >&2; exit 1; }
	@mkdir -p dist && rm -f dist/sparkd_hub-*.whl
	$(VENV)/bin/pip wheel -q --disable-pip-version-check --no-deps --no-build-isolation -w dist ./hub-hook
$(DIST_TARBALL): $(DIST_SRC)
	@mkdir -p dist && rm -f dist/sparkd-*.tar.gz
	@echo "  TAR     $@"
	@tar --create --sort=name --owner=0 --group=0 --numeric-owner --mtime=@$$(git log -1 --format=%ct) \
		--transform 's|^|sparkd-$(VERSION)/|' $(DIST_SRC) | gzip -9n > $@

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

# End to end (tests/e2e): a real JupyterHub + configurable-http-proxy (npm,
# pinned in tests/e2e/package-lock.json) + JupyterLab/Notebook 7 + the hook +
# the extension + sparkd, and Debian's Chromium through Playwright. As root:
# it creates Unix users, whose servers run $(E2E_VENV) — built from Debian's
# python3 so that they can execute it (a Python under /root they could not).
E2E_VENV   := .venv-e2e
E2E_PYTHON ?= /usr/bin/python3
E2E_NPM    := tests/e2e/node_modules/.done
E2E_STAMP  := $(E2E_VENV)/.labextension
$(E2E_VENV)/.done: tests/requirements.txt
	$(E2E_PYTHON) -m venv $(E2E_VENV)
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(E2E_VENV)/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt
	touch $@
$(E2E_STAMP): $(E2E_VENV)/.done $(LABEXT_STAMP)
	$(E2E_VENV)/bin/pip install -q --disable-pip-version-check --no-build-isolation --no-deps --force-reinstall ./labextension
	touch $@
e2e-venv: $(E2E_STAMP)
$(E2E_NPM): tests/e2e/package.json tests/e2e/package-lock.json
	cd tests/e2e && npm ci --no-audit --no-fund
	touch $@
e2e-test: deps $(SPARKD_BIN) $(TOOL_BINS) $(E2E_STAMP) $(E2E_NPM)
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 E2E_VENV=$(CURDIR)/$(E2E_VENV) SPARKD=$(CURDIR)/$(SPARKD_BIN) \
		SPARKD_LAUNCH=$(CURDIR)/$(word 2,$(TOOL_BINS)) $(call PYTEST,$(E2E_VENV)/bin/python) tests/e2e $(E2E_ARGS)

# The shared-host suite (tests/security): a victim and an attacker, two real
# Unix users made by the test, and every way one user could reach the other's
# Spark, secrets or socket.  As root; the users run the e2e venv.
security-test: deps $(SPARKD_BIN) $(TOOL_BINS) $(E2E_STAMP)
	E2E_VENV=$(CURDIR)/$(E2E_VENV) SPARKD=$(CURDIR)/$(SPARKD_BIN) SPARKCTL=$(CURDIR)/$(word 1,$(TOOL_BINS)) \
		SPARKD_LAUNCH=$(CURDIR)/$(word 2,$(TOOL_BINS)) $(call PYTEST,$(E2E_VENV)/bin/python) tests/security

# The guide test (tests/guide): docs/admin-guide.md's marked install commands
# and jupyterhub_config.py lines for LocalProcessSpawner, run verbatim on a
# fresh site (venvs, make install of dist/'s tarball, a hub with PAM and two
# Unix users), then Spark through the hub.  As root.  What the site's venvs
# install comes from a wheelhouse fetched once (pinned by tests/requirements.txt)
# for $(E2E_PYTHON), which the site's venvs are made from.
GUIDE_WHEELS := build/guide/wheels
$(GUIDE_WHEELS)/.done: tests/guide/requirements.txt tests/requirements.txt $(E2E_VENV)/.done
	rm -rf $(GUIDE_WHEELS) && mkdir -p $(GUIDE_WHEELS)
	sed -E 's/\[[^]]*\]//' tests/requirements.txt > build/guide/constraints.txt
	$(E2E_VENV)/bin/pip wheel -q --disable-pip-version-check -w $(GUIDE_WHEELS) \
		-c build/guide/constraints.txt -r tests/guide/requirements.txt
	touch $@
guide-wheels: $(GUIDE_WHEELS)/.done
guide-test: deps dist $(GUIDE_WHEELS)/.done $(E2E_NPM)
	GUIDE_WHEELS=$(CURDIR)/$(GUIDE_WHEELS) GUIDE_PYTHON=$(E2E_PYTHON) $(call PYTEST,$(VPY)) tests/guide $(GUIDE_ARGS)

# ---------------------------------------------------------------------------
# make test: everything, from a fresh Debian 12 machine, as root (it creates
# Unix users).  First what it needs (apt packages, the venvs, npm packages,
# the labextension build, dist/: timed as "setup"), then every build (normal,
# ASan+UBSan, libFuzzer), then the suites in two lanes at once, each suite's
# output in build/suites/NAME.log and its wall time in the table at the end:
#
#   lane "jvm"   the Spark suites that take longest: integration-jvm
#                (sessions), hub-jvm, e2e, guide (the admin guide's install
#                path, verbatim; it fills its wheelhouse from PyPI first,
#                network time beside the light lane's CPU time), slurm (a
#                private Slurm cluster: tests/integration/test_slurm.py),
#                cluster (launched standalone clusters)
#   lane "light" first what needs no JVM (the daemon, its unit tests, the
#                toolbar's tests): unit, jinja, py-lint, integration, hub,
#                labextension, asan-unit, asan-integration, asan-hub,
#                fuzz-smoke; then, once it is free, the other Spark suites:
#                integration-warm (pre-warming and lazy starts), security
# At most two suites run at once (two cores); the integration tests that
# start Spark are split by marker (`jvm and not warm and not slurm` / `jvm and
# warm` / `slurm`), so together the passes run every one of them.
#
# The ASan pass runs the unit tests and the daemon-level tests without a JVM
# (the `jvm` ones run in the normal pass).  Every suite runs even when an
# earlier one failed; make test fails if any did, or if any test skipped.
SUITES_JVM   := integration-jvm hub-jvm e2e guide slurm cluster
SUITES_LIGHT := unit jinja py-lint integration hub labextension asan-unit asan-integration asan-hub fuzz-smoke \
	integration-warm security
SUITE        := scripts/suite.sh

root-check:
	@if [ "$$(id -u)" -ne 0 ]; then \
		echo "make test needs root: it creates Unix users (end-to-end and shared-host suites)" \
		     "and installs Debian packages. Run: sudo make test" >&2; exit 1; fi

build-test: $(SPARKD_BIN) $(TOOL_BINS) $(UNIT_BINS) $(BUILD)/cluster_driver $(FUZZ_BINS)
	$(MAKE) SANITIZE=1 all build/asan/cluster_driver $(UNIT_BINS:build/normal/%=build/asan/%)

test: root-check
	@rm -rf build/suites && mkdir -p build/suites && date +%s > build/suites/start
	$(SUITE) setup bash -c '$(MAKE) deps && $(MAKE) venv e2e-venv $(E2E_NPM) dist'
	$(SUITE) build $(MAKE) -j2 build-test
	-$(MAKE) -k -j2 suites
	@scripts/suite-times.sh $$(cat build/suites/start) setup build $(SUITES_JVM) $(SUITES_LIGHT) \
		&& echo "make test: all suites passed"

# The two lanes: each chains its suites (order-only), make -j2 runs the
# two chains side by side.
suites: suite-cluster suite-security
suite-integration-jvm:
	-$(SUITE) integration-jvm $(MAKE) integration PYTEST_ARGS="-m 'jvm and not warm and not slurm' --deselect-ok"
suite-hub-jvm: | suite-integration-jvm
	-$(SUITE) hub-jvm $(MAKE) hub-test PYTEST_ARGS="-m jvm --deselect-ok"
suite-e2e: | suite-hub-jvm
	-$(SUITE) e2e $(MAKE) e2e-test
suite-unit:
	-$(SUITE) unit $(MAKE) unit
suite-jinja: | suite-unit
	-$(SUITE) jinja $(MAKE) jinja-compare
suite-py-lint: | suite-jinja
	-$(SUITE) py-lint $(MAKE) py-lint
suite-integration: | suite-py-lint
	-$(SUITE) integration $(MAKE) integration PYTEST_ARGS="-m 'not jvm' --deselect-ok"
suite-hub: | suite-integration
	-$(SUITE) hub $(MAKE) hub-test PYTEST_ARGS="-m 'not jvm' --deselect-ok"
suite-labextension: | suite-hub
	-$(SUITE) labextension $(MAKE) labextension-test
suite-asan-unit: | suite-labextension
	-$(SUITE) asan-unit $(MAKE) SANITIZE=1 unit
suite-asan-integration: | suite-asan-unit
	-$(SUITE) asan-integration $(MAKE) SANITIZE=1 integration
suite-asan-hub: | suite-asan-integration
	-$(SUITE) asan-hub $(MAKE) SANITIZE=1 hub-test
suite-fuzz-smoke: | suite-asan-hub
	-$(SUITE) fuzz-smoke $(MAKE) fuzz-smoke
suite-integration-warm: | suite-fuzz-smoke
	-$(SUITE) integration-warm $(MAKE) integration PYTEST_ARGS="-m 'jvm and warm' --deselect-ok"
suite-cluster: | suite-slurm
	-$(SUITE) cluster $(MAKE) cluster-test
suite-security: | suite-integration-warm
	-$(SUITE) security $(MAKE) security-test
suite-slurm: | suite-guide
	-$(SUITE) slurm $(MAKE) integration PYTEST_ARGS="-m slurm --deselect-ok"
suite-guide: | suite-e2e
	-$(SUITE) guide $(MAKE) guide-test
.PHONY: $(addprefix suite-,$(SUITES_JVM) $(SUITES_LIGHT))

install: daemon/sparkd tools/sparkctl tools/sparkd-launch
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/sparkd/configs/templates \
		$(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0755 daemon/sparkd $(DESTDIR)$(PREFIX)/bin/sparkd
	install -m 0644 configs/*.yaml $(DESTDIR)$(PREFIX)/share/sparkd/configs/
	install -m 0644 configs/templates/* $(DESTDIR)$(PREFIX)/share/sparkd/configs/templates/
	install -m 0644 configs/schema.json $(DESTDIR)$(PREFIX)/share/sparkd/schema.json
	install -m 0644 docs/man/sparkd.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/lib/systemd/user
	install -m 0755 tools/sparkctl tools/sparkd-launch $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 docs/man/sparkctl.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 docs/man/sparkd-launch.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 systemd/sparkd.socket $(DESTDIR)$(PREFIX)/lib/systemd/user/
	sed 's|/usr/local/bin/|$(PREFIX)/bin/|' systemd/sparkd.service > $(DESTDIR)$(PREFIX)/lib/systemd/user/sparkd.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/user/sparkd.service

# A JupyterHub on http://127.0.0.1:8000 with Start Spark (demo/); Ctrl-C stops it all.
demo: deps
	$(MAKE) venv
	$(MAKE) SANITIZE= daemon/sparkd tools/sparkctl tools/sparkd-launch labextension $(E2E_NPM)
	$(VPY) demo/run.py

format:
	clang-format -i daemon/*.c daemon/*.h tests/unit/*.c tests/fuzz/*.c

clean:
	rm -rf build dist daemon/sparkd tools/sparkctl tools/sparkd-launch
