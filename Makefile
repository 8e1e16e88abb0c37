# Thin wrappers over tools/*.py; every target also works without make (see README.md).
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STATE ?= state
RUNTIME ?= cpython
SIM_ARGS ?=

BOARD ?= esp32
PORT ?= /dev/ttyUSB0
SSID ?=
CA ?=

.PHONY: run test lint docs bench mpy clean deploy repl config package mutate

$(STAMP): requirements.txt
	$(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(VPY) tools/sim.py --state $(STATE) --runtime $(RUNTIME) $(SIM_ARGS)

test: $(STAMP)
	$(VPY) tools/run_tests.py

mutate: $(STAMP)
	$(VPY) tools/mutate.py

lint: $(STAMP)
	$(VPY) -m ruff check firmware boards host_tests tools
	$(VPY) -m ruff format --check firmware boards host_tests tools

docs: $(STAMP)
	$(VPY) tools/gen_docs.py

bench: $(STAMP)
	$(VPY) tools/bench.py
	$(VPY) tools/bench_sockets.py
	$(VPY) tools/bench_ftp.py
	$(VPY) tools/bench_mp.py

mpy: $(STAMP)
	$(VPY) tools/build_mpy.py

deploy: $(STAMP)
	$(VPY) tools/deploy.py --board $(BOARD) --port $(PORT)

repl: $(STAMP)
	$(VPY) tools/repl.py --port $(PORT)

config: $(STAMP)
	$(VPY) tools/config.py --port $(PORT) $(if $(SSID),--wifi-ssid "$(SSID)") $(if $(CA),--ca "$(CA)")

package: $(STAMP)
	$(VPY) tools/deploy.py --package-json

clean:
	rm -rf build .pytest_cache
