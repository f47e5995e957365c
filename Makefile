# peapod — see README.md. Everything here runs as root on Debian.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)

BIN      := bin/peapod
DATA_DIR ?= /var/lib/peapod
BUSYBOX  := bin/busybox-image.tar
GO_PKGS_UNIT = $$(go list ./... | grep -v /test/e2e)

.PHONY: all build deps run test unit e2e bench fmt vet clean

all: build

deps:
	@hack/install-deps.sh

build:
	go build -o $(BIN) ./cmd/peapod

$(BUSYBOX): hack/build-busybox-image.sh
	@mkdir -p bin
	hack/build-busybox-image.sh $(BUSYBOX)

# make run: install what is missing, build, import the busybox test image and
# start the all-in-one server (embedded etcd + local agent) in the foreground.
run: deps build $(BUSYBOX)
	$(BIN) image import --data-dir $(DATA_DIR) $(BUSYBOX)
	@echo
	@echo "Starting peapod server (data dir $(DATA_DIR)). In another shell:"
	@echo "  export KUBECONFIG=$(DATA_DIR)/admin.kubeconfig"
	@echo "  kubectl get nodes"
	@echo
	exec $(BIN) server --data-dir $(DATA_DIR)

# make test: install what is missing and run every test (unit, then e2e as root).
test: deps build unit e2e

unit:
	go vet ./...
	go test -count=1 $(GO_PKGS_UNIT)

e2e: build
	go test -count=1 -timeout 22m ./test/e2e/...

bench: deps build
	hack/bench.sh

fmt:
	gofmt -l -w cmd internal test

clean:
	rm -rf bin
