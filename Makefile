# Thin wrapper over meson: `make` builds build/berth, `make test` runs everything.
BUILD ?= build

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD)

asan: build-asan/build.ninja
	ninja -C build-asan

build-asan/build.ninja:
	meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false

fuzz: build-fuzz/build.ninja
	ninja -C build-fuzz

build-fuzz/build.ninja:
	CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false

test: all
	tests/run

clean:
	rm -rf $(BUILD) build-asan build-fuzz

.PHONY: all asan fuzz test clean
