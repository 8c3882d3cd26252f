# The two commands a new user needs: `make run` and `make test`.
# Each installs what is missing first (Debian packages, Kafka jars).
BUILD      ?= build
BUILD_SAN  ?= build-san
VENV       := .parley/venv
PY         := $(VENV)/bin/python
MESON_SAN  := -Db_sanitize=address,undefined -Db_lundef=false

.PHONY: all deps build run test unit integration build-san fuzz fuzz-brief clean

all: build

deps: $(PY)
	@scripts/install-deps.sh

# Python glue and test tooling: Debian's python3 plus pinned PyPI packages.
$(PY): tests/requirements.txt
	@scripts/install-deps.sh
	/usr/bin/python3 -m venv --system-site-packages $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt
	@touch $(PY)

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build web
	$(PY) infra/local/parley_stack.py run

$(BUILD_SAN)/build.ninja:
	meson setup $(BUILD_SAN) $(MESON_SAN)

build-san: deps $(BUILD_SAN)/build.ninja
	ninja -C $(BUILD_SAN)

# The full suite runs on the sanitizer build: unit tests, fuzz corpora
# replayed, a brief fuzzing pass, then integration tests against real
# Kafka and Postgres.
test: build-san
	meson test -C $(BUILD_SAN) --suite unit --suite fuzz --print-errorlogs
	$(MAKE) fuzz-brief
	PARLEY_BUILD_DIR=$(CURDIR)/$(BUILD_SAN) $(PY) -m pytest -q -p no:cacheprovider tests/integration
	$(MAKE) test-web

unit: build-san
	meson test -C $(BUILD_SAN) --suite unit --print-errorlogs

integration: build-san
	PARLEY_BUILD_DIR=$(CURDIR)/$(BUILD_SAN) $(PY) -m pytest -q -p no:cacheprovider tests/integration

build-fuzz/build.ninja:
	CC=clang meson setup build-fuzz -Dfuzz=true $(MESON_SAN)

fuzz: deps build-fuzz/build.ninja
	ninja -C build-fuzz

# Every libFuzzer target (only those, not the services) for FUZZ_SECONDS
# each over its checked-in corpus; fails on a crash, leak or timeout.
# `make fuzz-brief FUZZ_SECONDS=600` is the long run.
FUZZ_SECONDS ?= 8
fuzz-brief: deps build-fuzz/build.ninja
	ninja -C build-fuzz $$(ninja -C build-fuzz -t targets all | \
	    sed -n 's|^\(tests/fuzz/fuzz_[a-z0-9_]*\): .*|\1|p')
	FUZZ_SECONDS=$(FUZZ_SECONDS) BUILD_FUZZ=build-fuzz tests/fuzz/run-brief.sh

clean:
	rm -rf $(BUILD) $(BUILD_SAN) build-fuzz

# The scaling demonstration: a private stack, per-instance CPU quotas,
# tools/flood driving it; writes docs/scaling.md and docs/scaling/*.svg.
.PHONY: scale-demo autoscale-demo
scale-demo: build
	$(PY) bench/scale_demo.py --build-dir $(CURDIR)/$(BUILD)

# A script standing in for KEDA (the manifests' rule and thresholds) drives
# real projector and archiver instances; writes docs/scaling/autoscale.md.
autoscale-demo: build
	$(PY) bench/autoscale_demo.py --build-dir $(CURDIR)/$(BUILD)

# Web client (web/): npm ci from the lockfile (only when it changed; a second
# run installs nothing and needs no network), vite build into web/dist, which
# nginx serves at /. test-web: vitest, vue-tsc, then the browser tests against
# a private stack (playwright-core driving /usr/bin/chromium).
WEB_SRC := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json
.PHONY: web test-web
web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --prefer-offline
web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SRC)
	cd web && npm run build

web: web/dist/index.html

test-web: build-san web
	cd web && npx vitest run && npm run typecheck
	cd web && PARLEY_BUILD_DIR=$(CURDIR)/$(BUILD_SAN) npm run e2e
