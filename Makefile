# Every target works on a fresh clone with only Node and npm: Bun itself comes from the npm registry.
BUN := node_modules/.bin/bun
TSC := node_modules/.bin/tsc
BIOME := node_modules/.bin/biome
# cbor-x's native addon crashes Bun (docs/platform.md); the binary has it compiled out too.
export CBOR_NATIVE_ACCELERATION_DISABLED := true
SOURCES := $(shell find src cmd -name '*.ts' -o -name '*.html' 2>/dev/null) package.json

.PHONY: build install lib run test typecheck lint format unit sim mutants bench bench-compare clean browser openssl

build: dist/mqraft

node_modules/.installed: package.json package-lock.json
	@# not `npm ci`: npm 11 writes no lock entries for cbor-extract's per-platform optional packages and
	@# then refuses its own lock file; `npm install` follows the lock and leaves it unchanged.
	npm install --no-audit --no-fund
	@touch $@

COMPILE := $(BUN) build --compile --minify --sourcemap --bytecode --format=esm \
	--define 'process.env.CBOR_NATIVE_ACCELERATION_DISABLED="true"'

# The release binary: MQRAFT_TEST_HOOKS "off" compiles out the test-only switches (src/node/test-durability.ts).
dist/mqraft: node_modules/.installed $(SOURCES)
	@mkdir -p dist
	$(COMPILE) --define 'process.env.MQRAFT_TEST_HOOKS="off"' cmd/mqraft.ts --outfile dist/mqraft
	@# a failed bytecode build still exits 0 and writes a binary that dies at start
	@./dist/mqraft --version >/dev/null || { echo "dist/mqraft does not start"; rm -f dist/mqraft; exit 1; }

# The same program with the test-only switches, for the tests that simulate power cuts (test/chaos); never shipped.
dist/mqraft-test: node_modules/.installed $(SOURCES)
	@mkdir -p dist
	$(COMPILE) cmd/mqraft.ts --outfile dist/mqraft-test
	@./dist/mqraft-test --version >/dev/null || { echo "dist/mqraft-test does not start"; rm -f dist/mqraft-test; exit 1; }

run: build
	./dist/mqraft up

# The package (docs/client.md): the client library as JavaScript for Node >= 20 and Bun with .d.ts beside it, and
# the CLI as a Bun script for package.json's bin. `npm pack` then makes the tarball.
lib: dist/lib/index.js

dist/lib/index.js: node_modules/.installed $(SOURCES) tsconfig.lib.json
	rm -rf dist/lib
	$(BUN) build --target=node --format=esm --packages=external src/client/index.ts --outfile dist/lib/index.js
	$(BUN) build --target=bun --format=esm --packages=external --minify \
		--define 'process.env.CBOR_NATIVE_ACCELERATION_DISABLED="true"' --define 'process.env.MQRAFT_TEST_HOOKS="off"' \
		cmd/mqraft.ts --outfile dist/lib/mqraft.js
	chmod +x dist/lib/mqraft.js
	$(TSC) -p tsconfig.lib.json
	@# the declarations keep the sources' .ts specifiers; the files beside them are .d.ts, which `.js` reaches
	$(BUN) -e 'for (const f of new Bun.Glob("dist/lib/**/*.d.ts").scanSync()) await Bun.write(f, (await Bun.file(f).text()).replace(/((?:from|import\()\s*"\.{1,2}\/[^"]*)\.ts"/g, "$$1.js\""))'

# Puts the binary on the PATH as `mqraft`: make install [PREFIX=/usr/local] [DESTDIR=staging folder]
PREFIX ?= /usr/local
install: build
	install -d "$(DESTDIR)$(PREFIX)/bin"
	install -m 755 dist/mqraft "$(DESTDIR)$(PREFIX)/bin/mqraft"

typecheck: node_modules/.installed
	$(TSC) --noEmit -p .

# Biome: formatting and lint rules (biome.json); `make format` rewrites the tree.
lint: node_modules/.installed
	$(BIOME) check .

format: node_modules/.installed
	$(BIOME) check --write .

# The whole suite: type-check, lint, then every test (unit, simulation, real clusters) against the fresh binary.
# Two test processes take the files in turn, the slowest first (test/timings.json): most cluster tests wait on
# brokers, so two at a time halve the wall time. Bun also writes a JUnit report, from which the slowest files are
# printed last (docs/testing.md, "Time"), with the files after which a test process held more descriptors
# (test/support/fd-trace.ts).
TEST_WORKERS ?= 2
test: build dist/mqraft-test lib typecheck lint browser openssl
	@mkdir -p .tmp && rm -f .tmp/test-fds.txt
	MQRAFT_FD_TRACE=$(CURDIR)/.tmp/test-fds.txt $(BUN) test --parallel=$(TEST_WORKERS) --timings=test/timings.json \
		--timeout 120000 --reporter=junit --reporter-outfile=.tmp/test-times.xml
	@$(BUN) test/support/test-times.ts .tmp/test-times.xml 15 .tmp/test-fds.txt

# Debian's chromium for the dashboard's browser test (test/http/dashboard-browser.test.ts), installed when missing
# and this is root with apt-get; otherwise that test is skipped and prints why. Never fails the build.
browser:
	@[ -x /usr/bin/chromium ] || { \
		mkdir -p .tmp; \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing chromium for the dashboard's browser test (apt-get)"; \
			{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; } >.tmp/apt-chromium.log 2>&1 \
				|| echo "chromium could not be installed (.tmp/apt-chromium.log): the browser test will be skipped"; \
		else echo "no /usr/bin/chromium and no root apt-get: the dashboard's browser test will be skipped"; fi; }

# openssl(1) for the TLS tests' own CA (test/cluster/tls.test.ts), installed when missing and this is root with
# apt-get; otherwise those tests are skipped and print why. Never fails the build.
openssl:
	@command -v openssl >/dev/null 2>&1 || { \
		mkdir -p .tmp; \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing openssl for the TLS tests (apt-get)"; \
			{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y openssl; } >.tmp/apt-openssl.log 2>&1 \
				|| echo "openssl could not be installed (.tmp/apt-openssl.log): the TLS tests will be skipped"; \
		else echo "no openssl and no root apt-get: the TLS tests will be skipped"; fi; }

# Both levels of the simulation: the Raft core alone, then production's broker assembly on simulated disks.
SIM_SEEDS ?= 20000
sim: node_modules/.installed
	$(BUN) run sim --level core --seeds $(SIM_SEEDS) --start 1
	$(BUN) run sim --level broker --seeds $(SIM_SEEDS) --start 1
	$(BUN) run sim --level broker --seeds $(SIM_SEEDS) --start 1 --kills

# Planted bugs (test/mutants/mutants.ts), each in a scratch copy of the tree: the test named for each must fail.
# About 3 minutes, so not part of make test; see docs/testing.md.
mutants: node_modules/.installed
	$(BUN) test/mutants/run.ts

# Fault injection on a real cluster behind proxies, checked from its history: make chaos SEED=3 DURATION=120 NODES=5
SEED ?= 1
DURATION ?= 60
NODES ?= 3
chaos: dist/mqraft dist/mqraft-test
	$(BUN) test/chaos/run.ts --seed $(SEED) --duration $(DURATION) --nodes $(NODES)

bench: build
	$(BUN) bench/wire-bench.ts
	$(BUN) bench/storage-bench.ts
	./dist/mqraft up --nodes 1 --base-port 18700 --manager-port 18788 --data .tmp/bench-up >/dev/null 2>&1 & pid=$$!; \
		./dist/mqraft bench pub bench --server 127.0.0.1:18700 --msgs 50000; rc=$$?; kill $$pid; wait $$pid; rm -rf .tmp/bench-up; exit $$rc
	$(BUN) bench/resource-bench.ts

# mqraft against a 3-node NATS JetStream cluster on this machine (installs nats-server and Go from Debian if missing).
bench-compare: build
	$(BUN) bench/compare-nats.ts

# A 3-broker cluster takes GB gigabytes of publishes; each broker's memory every 10 s, the growth over the second half last.
GB ?= 1
soak: build
	$(BUN) bench/soak.ts $(GB)

clean:
	rm -rf dist node_modules .tmp
