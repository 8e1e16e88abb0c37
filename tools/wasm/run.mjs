// Run a MicroPython script in the webassembly port: a 32-bit VM (4-byte pointers, 16-byte GC
// blocks, as an ESP32's or an RP2040's) under Node. tools/bench_mp.py uses it for the heap
// figures of the firmware on 32 bits.
//
//   node tools/wasm/run.mjs [--heap BYTES] [--romfs IMAGE] [--preload MOD,MOD] --lib DIR...
//       SCRIPT [ARG...]
//
// --preload imports modules before SCRIPT: modules a board has in C (binascii is Python code
// in this port) so that their heap is not counted as the firmware's.
// Every .mpy and .py file under each --lib DIR is copied into the VM's /lib (the import path),
// keeping subdirectories (modem/...). With --romfs the image (mpremote romfs build) is mounted
// at /rom instead, and /rom/lib leads the import path: bytecode there runs in place, as frozen
// bytecode does on a board. SCRIPT is imported (not as __main__), then its `async def
// main(argv)` is awaited with the ARGs: the port's asyncio runs on JavaScript's event loop and
// has no asyncio.run().
import fs from "node:fs";
import path from "node:path";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";

const argv = process.argv.slice(2);
let heap = 1024 * 1024;
let romfs = null;
const libs = [];
let preload = [];
while (argv.length && argv[0].startsWith("--")) {
  const opt = argv.shift();
  const val = argv.shift();
  if (opt === "--heap") heap = parseInt(val, 10);
  else if (opt === "--romfs") romfs = new Uint8Array(fs.readFileSync(val));
  else if (opt === "--lib") libs.push(val);
  else if (opt === "--preload") preload = val.split(",");
  else throw new Error("unknown option " + opt);
}
const script = argv.shift();

const options = {
  heapsize: heap,
  linebuffer: true,
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
};
if (romfs) options.romfs = romfs;
const mp = await loadMicroPython(options);

function copyTree(dir, into) {
  for (const name of fs.readdirSync(dir).sort()) {
    const src = path.join(dir, name);
    const dst = into + "/" + name;
    if (fs.statSync(src).isDirectory()) {
      try { mp.FS.mkdir(dst); } catch (e) { /* exists */ }
      copyTree(src, dst);
    } else if (name.endsWith(".mpy") || name.endsWith(".py")) {
      mp.FS.writeFile(dst, fs.readFileSync(src));
    }
  }
}
mp.FS.mkdir("/lib");
for (const dir of libs) copyTree(dir, "/lib");
const name = path.basename(script, ".py");
mp.FS.writeFile("/lib/" + name + ".py", fs.readFileSync(script));

const args = JSON.stringify(argv);
try {
  await mp.runPythonAsync(`
import sys
for _m in ${JSON.stringify(preload)}:
    __import__(_m)
import os
if not hasattr(os, "urandom"):  # this port's os lacks it (the Message-ID uses it)
    import random
    os.urandom = lambda n: bytes([random.getrandbits(8) for _ in range(n)])
if ${romfs ? "True" : "False"}:
    sys.path.insert(0, "/rom/lib")
import ${name}
import asyncio
# In a task of its own: wait_for() cancels by throwing into the waiting task, which the
# top-level coroutine of runPythonAsync cannot take.
await asyncio.create_task(${name}.main(${args}))
`);
} catch (e) {
  process.stderr.write(String(e.message || e) + "\n");
  process.exit(1);
}
