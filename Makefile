# The two commands a new user needs: `make run` and `make test`.
# Each installs what is missing first (Debian packages, Kafka jars).
BUILD      ?= build
BUILD_SAN  ?= build-san
VENV       := .parley/venv
PY         := $(VENV)/bin/python
MESON_SAN  := -Db_sanitize=address,undefined -Db_lundef=false

.PHONY: all deps build run test unit integration build-san fuzz clean

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

run: build
	$(PY) infra/local/parley_stack.py run

$(BUILD_SAN)/build.ninja:
	meson setup $(BUILD_SAN) $(MESON_SAN)

build-san: deps $(BUILD_SAN)/build.ninja
	ninja -C $(BUILD_SAN)

# The full suite runs on the sanitizer build: unit tests, fuzz corpora
# replayed, then integration tests against real Kafka and Postgres.
test: build-san
	meson test -C $(BUILD_SAN) --suite unit --suite fuzz --print-errorlogs
	PARLEY_BUILD_DIR=$(CURDIR)/$(BUILD_SAN) $(PY) -m pytest -q -p no:cacheprovider tests/integration

unit: build-san
	meson test -C $(BUILD_SAN) --suite unit --print-errorlogs

integration: build-san
	PARLEY_BUILD_DIR=$(CURDIR)/$(BUILD_SAN) $(PY) -m pytest -q -p no:cacheprovider tests/integration

fuzz: deps
	[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzz=true $(MESON_SAN)
	ninja -C build-fuzz

clean:
	rm -rf $(BUILD) $(BUILD_SAN) build-fuzz
