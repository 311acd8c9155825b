# nixlayer — build, demo, tests and benchmarks.
export CGO_ENABLED := 0

.PHONY: all build demo test fuzz bench setup setup-tests clean

all: build

build:
	go build -trimpath -o build/nixlayer/bin/nixlayer .

setup:
	bash tests/setup.sh

## demo: build the example image with Nix, verify it, print how to load it
demo: setup build
	bash examples/demo.sh

## setup-tests: also the tools only the tests need (syft, an arm64 busybox, qemu)
setup-tests:
	bash tests/setup.sh --test-tools

## test: everything CI runs (installs what it needs first)
test: setup-tests
	go vet ./...
	go test -count=1 -timeout 45m ./...
	$(MAKE) fuzz

## fuzz: a short run of every fuzz target (a fixed count of inputs each)
fuzz:
	bash tests/fuzz.sh

bench: setup build
	bash bench/run.sh

clean:
	rm -rf build
