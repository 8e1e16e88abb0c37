"""Boot: safe-mode escape first, then the modem on this board (board.py) until Ctrl-C.

Safe mode (the modem and the watchdog never start, the REPL is free) when the file /safe
exists or the board's safe pin reads low during the first second (the LED flickers then).
Ctrl-C on the REPL stops the modem at any time. Whatever fails while starting is printed and
the board stays at the REPL: this file must never lock a user out of the board.
"""

import sys

import asyncio

SAFE_FILE = "/safe"


def _print_exc(e):
    if hasattr(sys, "print_exception"):
        sys.print_exception(e)  # MicroPython
    else:
        import traceback

        traceback.print_exception(e)


def setup(glue=None):
    """The board and the modem, or None in safe mode. glue: the board module (board.py).
    The code is in mpboot, which is forgotten once it has run (docs/design.md, Memory)."""
    import mpboot

    return mpboot.setup(glue, SAFE_FILE)


async def serve(board, modem):
    """Power-up, background tasks, then the host's serial line for ever."""
    from modem.modem import Modem

    await modem.start()
    board.start(modem.values)
    web = getattr(board, "start_web", None)  # the setup and status pages (docs/portal.md)
    if web is not None:
        web(modem)
    while True:
        try:
            await modem.run(board.port)
        except Exception as e:  # a bug or MemoryError: report, then a fresh modem
            board.log("modem: %r" % (e,))
            _print_exc(e)
            await asyncio.sleep(1)
            modem = Modem(board)
            await modem.start()


def main(glue=None):
    made = None
    try:
        made = setup(glue)
        if made is not None:
            asyncio.run(serve(made[0], made[1]))
    except KeyboardInterrupt:
        print("modem: stopped (Ctrl-C)")
    except Exception as e:  # the REPL stays reachable whatever happens
        print("modem: failed to start")
        _print_exc(e)
    finally:
        if made is not None:
            made[0].stop()  # the watchdog keeps being fed from a timer
        asyncio.new_event_loop()  # forget the tasks of the interrupted loop
    return made


if __name__ == "__main__":
    main()
