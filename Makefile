# Thin driver over CMake. `make` builds Release; `make test` installs missing packages, builds and runs
# every test through CTest; `make demo` runs the embedded default job. BUILD_TYPE=Debug|Asan for others.
BUILD_TYPE ?= Release
BUILD_DIR  ?= build/$(shell echo $(BUILD_TYPE) | tr A-Z a-z)
JOBS       ?= $(shell nproc)
CTEST_ARGS ?=

.PHONY: all deps configure build test demo asan gpu-bundle clean

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null || cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)
	@grep -q MDP_HAVE_CUDA $(BUILD_DIR)/CMakeCache.txt 2>/dev/null || true

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

demo: build
	@$(BUILD_DIR)/apps/mdp demo

# The GPU check's bundle (scripts/gpu-check.sh): built here, run on a GPU machine (docs/gpu.md).
gpu-bundle:
	@bash scripts/gpu-check.sh bundle

asan:
	@$(MAKE) --no-print-directory test BUILD_TYPE=Asan

clean:
	rm -rf build
