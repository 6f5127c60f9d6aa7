# sparkhub: make run serves on :8000 with SQLite; make test runs every test.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
BIN      := bin/sparkhub
DATA_DIR ?= ./data
LISTEN   ?= :8000

.PHONY: build run test lint clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) .

# The first start creates the user admin and prints its password once;
# set SPARKHUB_ADMIN_PASSWORD to choose it instead.
run: build
	@scripts/ensure-jupyter
	@echo "sparkhub: open http://localhost$(LISTEN)/hub/login and log in as admin"
	$(BIN) serve --listen $(LISTEN) --data-dir $(DATA_DIR)

# Every test. SQLite always; MariaDB and PostgreSQL when
# SPARKHUB_TEST_MYSQL_DSN / SPARKHUB_TEST_POSTGRES_DSN are set (with
# CI=true a missing one fails the run).
test:
	$(GO) test -race -count=1 -timeout 25m ./...

lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@latest ./...

clean:
	rm -rf bin
