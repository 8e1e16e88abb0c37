# ruff: noqa: F821  (include, require, package, module: given by MicroPython's makemanifest)
# Freeze the firmware into a MicroPython image (bytecode in flash: no RAM spent compiling, no
# files to copy). Build from a micropython checkout, for example:
#   make -C ports/rp2 BOARD=RPI_PICO_W FROZEN_MANIFEST=/path/to/this/manifest.py
#   make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/this/manifest.py
# then copy only the board glue: mpremote cp boards/<board>/board.py :board.py
# A frozen main.py runs at boot even when /main.py exists on the filesystem (pyexec looks at
# frozen modules first); safe mode (/safe, the safe pin, Ctrl-C) works all the same.

include("$(PORT_DIR)/boards/manifest.py")  # the port's own modules (asyncio, machine helpers)
require("ntptime")  # the Date: header needs the time (in the Pico W's board manifest otherwise)
package("modem", base_path="firmware")
module("cellat.py", base_path="firmware")
module("cellmods.py", base_path="firmware")
module("cellsession.py", base_path="firmware")
module("cellsms.py", base_path="firmware")
module("cellular.py", base_path="firmware")
module("mpboard.py", base_path="firmware")
module("mpboot.py", base_path="firmware")
module("mpcell.py", base_path="firmware")
module("mpchores.py", base_path="firmware")
module("mpnet.py", base_path="firmware")
module("mpsock.py", base_path="firmware")
module("mpserve.py", base_path="firmware")
module("mpsetup.py", base_path="firmware")
module("main.py", base_path="firmware")
