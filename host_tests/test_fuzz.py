"""A fixed-seed slice of the in-process fuzzer (tools/fuzz.py; `make fuzz` runs a million)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "tools"))

import fuzz  # noqa: E402


def test_fixed_seed_slice_finds_nothing():
    found = fuzz.run(20000, seed=7, jobs=1, quiet=True)
    assert found == [], [(i, why) for i, why, _, _ in found]


def test_the_fuzzer_catches_a_fault():
    # The checker itself: a handler that raises must show as a finding, not pass.
    import asyncio

    from modem import basic

    async def boom(m, form, args):
        raise ValueError("planted")

    old = basic.HANDLERS["+CSQ"]
    basic.HANDLERS["+CSQ"] = boom
    try:
        board = fuzz.Board()
        m = fuzz.Modem(board)

        async def go():
            await m.start()
            return await fuzz.one(m, board, [b"AT+CSQ\r"], [])

        with fuzz.Fast():
            assert asyncio.run(go()) == "fault: ValueError('planted')"
    finally:
        basic.HANDLERS["+CSQ"] = old
