# Thin wrappers over tools/*.py; every target also works without make (see README.md).
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STATE ?= state
RUNTIME ?= cpython
SIM_ARGS ?=
FUZZ_N ?= 1000000
FUZZ_SEED ?= 1

BOARD ?= esp32
PORT ?= /dev/ttyUSB0
SSID ?=
CA ?=

.PHONY: help run test lint docs bench mpy clean deploy repl config package mutate fuzz
.DEFAULT_GOAL := help

$(STAMP): requirements.txt
	$(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

help:  ## this list
	@awk 'BEGIN {FS = ":.*## "} /^[a-z]+:.*## / {printf "  make %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: $(STAMP)  ## the simulator with its mail sink (RUNTIME=micropython, SIM_ARGS=...)
	$(VPY) tools/sim.py --state $(STATE) --runtime $(RUNTIME) $(SIM_ARGS)

test: $(STAMP)  ## every test, as CI runs them (creates .venv first)
	$(VPY) tools/run_tests.py

mutate: $(STAMP)  ## apply deliberate bugs one at a time; each must make a test fail
	$(VPY) tools/mutate.py

fuzz: $(STAMP)  ## feed the core random and mutated input (FUZZ_N=inputs, FUZZ_SEED=seed)
	$(VPY) tools/fuzz.py --n $(FUZZ_N) --seed $(FUZZ_SEED)

lint: $(STAMP)  ## ruff check and format check
	$(VPY) -m ruff check firmware boards host_tests tools
	$(VPY) -m ruff format --check firmware boards host_tests tools

docs: $(STAMP)  ## regenerate docs/commands.md from the command table
	$(VPY) tools/gen_docs.py

bench: $(STAMP)  ## speed and memory figures (CPython, MicroPython unix and 32-bit webassembly)
	$(VPY) tools/bench.py
	$(VPY) tools/bench_sockets.py
	$(VPY) tools/bench_ftp.py
	$(VPY) tools/bench_mp.py
	$(VPY) tools/bench_web.py
	$(VPY) tools/bench_cell.py

mpy: $(STAMP)  ## compile the firmware to .mpy with mpy-cross
	$(VPY) tools/build_mpy.py

deploy: $(STAMP)  ## copy the firmware to a board (BOARD=esp32|rp2040 PORT=/dev/ttyUSB0)
	$(VPY) tools/deploy.py --board $(BOARD) --port $(PORT)

repl: $(STAMP)  ## the board's MicroPython REPL (PORT=...)
	$(VPY) tools/repl.py --port $(PORT)

config: $(STAMP)  ## store Wi-Fi settings on a board (PORT=... SSID=...; the password is asked)
	$(VPY) tools/config.py --port $(PORT) $(if $(SSID),--wifi-ssid "$(SSID)") $(if $(CA),--ca "$(CA)")

package: $(STAMP)  ## regenerate package.json for mpremote mip install
	$(VPY) tools/deploy.py --package-json

clean:  ## remove build output
	rm -rf build .pytest_cache
