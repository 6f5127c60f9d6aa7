# sparkhub: make run serves on :8000 with SQLite; make test runs every test.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
BIN      := bin/sparkhub
DATA_DIR ?= ./data
LISTEN   ?= :8000
# Where a browser on this machine finds the hub: LISTEN's host, or
# localhost when it names none or every address (:8000, 0.0.0.0:8000).
LISTEN_PORT = $(lastword $(subst :, ,$(LISTEN)))
LISTEN_HOST = $(patsubst %:$(LISTEN_PORT),%,$(LISTEN))
LOGIN_URL   = http://$(if $(filter-out 0.0.0.0 [::],$(LISTEN_HOST)),$(LISTEN_HOST),localhost):$(LISTEN_PORT)/hub/login

.PHONY: build run test lint clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) .

# The first start creates the user admin and prints its password once;
# set SPARKHUB_ADMIN_PASSWORD to choose it instead.
run: build
	@scripts/ensure-jupyter
	@echo "sparkhub: open $(LOGIN_URL) and log in as admin"
	$(BIN) serve --listen $(LISTEN) --data-dir $(DATA_DIR)

# Every test. SQLite always; MariaDB and PostgreSQL when
# SPARKHUB_TEST_MYSQL_DSN / SPARKHUB_TEST_POSTGRES_DSN are set (with
# CI=true a missing one fails the run).
test:
	$(GO) test -race -count=1 -timeout 25m ./...

# The linters, pinned (staticcheck 2026.2.2 is v0.8.2 of its module), so
# a new release never fails a build that passed.
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
DEADCODE    := $(GO) run golang.org/x/tools/cmd/deadcode@v0.52.0

# lint fails on unformatted code, vet's and staticcheck's findings, a
# go.mod or go.sum that `go mod tidy` would change, and unreachable
# functions. deadcode runs twice:
# - from this module's programs alone (sparkhub, bench/*, the Mesos
#   emulator), reporting every package but those for tests: the ones
#   with a path element ending in "test" (hub/hubtest, db/dbtest,
#   spawner/spawnertest, spawner/mesos/mesostest), which only tests
#   call. A production function that only tests call is dead here: it
#   belongs in a _test.go file;
# - with the tests as roots too (-test), over every package: what not
#   even a test calls, test support included.
lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(STATICCHECK) ./...
	$(GO) mod tidy -diff
	@prod=$$($(GO) list ./... | grep -Ev 'test(/|$$)' | sed 's/\./\\./g' | paste -sd'|'); \
	dead=$$($(DEADCODE) -filter "^($$prod)$$" ./...) || exit 1; \
	test -z "$$dead" || { echo "unreachable from sparkhub's programs:"; echo "$$dead"; exit 1; }
	@dead=$$($(DEADCODE) -test ./...) || exit 1; \
	test -z "$$dead" || { echo "unreachable even from the tests:"; echo "$$dead"; exit 1; }

clean:
	rm -rf bin

# The Mesos path on one machine: an emulated cluster (3 agents; the
# server image runs its entrypoint with Debian's jupyter-notebook) and
# the hub on :8000 spawning on it. Ctrl-C stops both; the emulator kills its tasks.
.PHONY: demo-mesos
demo-mesos: build
	$(GO) build -o bin/mesos-emulator ./spawner/mesos/mesostest/mesos-emulator
	@echo "sparkhub: open $(LOGIN_URL); servers run on the emulated Mesos cluster"
	bin/mesos-emulator --listen 127.0.0.1:5050 --agents 3 \
	  --agent-resources 'cpus:4;mem:8192;disk:20000;ports:[31000-31999]' \
	  --image 'sparkhub/pyspark-notebook:3.5=sh $(abspath images/entrypoint.sh)' \
	  --env PYTHONPATH=$(abspath $(DATA_DIR))/python \
	  --env SPARKHUB_JUPYTER_COMMAND=jupyter-notebook --env SPARK_CONF_DIR=spark-conf & emu=$$!; \
	trap 'kill $$emu' EXIT INT TERM; \
	$(BIN) serve --listen $(LISTEN) --data-dir $(DATA_DIR) --spawner mesos \
	  --mesos-master http://127.0.0.1:5050 --mesos-image sparkhub/pyspark-notebook:3.5

# The battery-included images, where a Docker engine runs: the base
# notebook image, then the PySpark image on it. Every base image and
# download in images/Dockerfile* is pinned and checked; IMAGE_TAG names
# the base build (default: this tree's version). Optional kernels:
# make images DOCKER_BUILD_ARGS="--build-arg WITH_R=true --build-arg WITH_SCALA=true"
IMAGE_TAG         ?= $(VERSION)
SPARK_IMAGE       ?= sparkhub/pyspark-notebook:3.5
DOCKER_BUILD_ARGS ?=
.PHONY: images
images:
	docker build -f images/Dockerfile -t sparkhub/notebook-base:$(IMAGE_TAG) images
	docker build -f images/Dockerfile.spark $(DOCKER_BUILD_ARGS) \
	  --build-arg BASE_IMAGE=sparkhub/notebook-base:$(IMAGE_TAG) \
	  --build-arg IMAGE_NAME=$(SPARK_IMAGE) \
	  -t $(SPARK_IMAGE) images

# sparkhub and JupyterHub 3 + configurable-http-proxy side by side on
# loopback (installs Debian's jupyterhub, CHP, jupyter-notebook and wrk
# when missing and root); writes BENCHMARKS.md's "Side by side" section.
# A subset, printed only: go run ./bench/compare -only kernel,users
.PHONY: bench
bench:
	$(GO) run ./bench/compare -write -timeout 20m
