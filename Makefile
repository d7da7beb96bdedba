# Thin driver over CMake. `make` builds Release; `make test` installs missing packages, builds and runs
# every test through CTest; `make demo` runs the embedded default job. BUILD_TYPE=Debug|Asan for others.
BUILD_TYPE ?= Release
BUILD_DIR  ?= build/$(shell echo $(BUILD_TYPE) | tr A-Z a-z)
JOBS       ?= $(shell nproc)
CTEST_ARGS ?=

.PHONY: all deps test-deps compile build test demo asan gpu-bundle clean

all: build

# `make demo` installs only what building and running it needs; `make test` adds the tests' packages
# (Boost.Test, PyTorch for the reference values, clang for the fuzzers) and builds the tests too.
deps:
	@bash scripts/install-deps.sh

test-deps:
	@bash scripts/install-deps.sh --test

# compile: configure and build, no package check (CMAKE_ARGS: extra -D options).
compile:
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS) >/dev/null || cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)
	@cmake --build $(BUILD_DIR) -j $(JOBS)

build: test-deps
	@$(MAKE) --no-print-directory compile CMAKE_ARGS=-DMDP_BUILD_TESTS=ON

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

demo: deps
	@$(MAKE) --no-print-directory compile CMAKE_ARGS=-DMDP_BUILD_TESTS=OFF
	@$(BUILD_DIR)/apps/mdp demo

# The GPU check's bundle (scripts/gpu-check.sh): built here, run on a GPU machine (docs/gpu.md).
gpu-bundle:
	@bash scripts/gpu-check.sh bundle

asan:
	@$(MAKE) --no-print-directory test BUILD_TYPE=Asan

clean:
	rm -rf build
