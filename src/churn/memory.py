"""Freed memory handed back to the system between the big steps of a stage.

glibc's malloc keeps what a program frees for its next allocations, in one heap per thread
that allocated, so a process's resident memory stays at its highest point so far and the
next step's peak lands on top of it. malloc_trim gives the free pages back. Where the C
library has no malloc_trim (macOS, musl) this does nothing.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Iterator
from contextlib import contextmanager


@functools.cache
def _malloc_trim():
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def give_back_freed() -> None:
    """Return the C heap's free pages to the system (a few milliseconds)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@contextmanager
def around_threads() -> Iterator[None]:
    """Free pages given back before and after a step run by worker threads: each thread
    allocates in a heap of its own, so what the main heap holds free is no use to the
    threads, and what they free stays in theirs."""
    give_back_freed()
    try:
        yield
    finally:
        give_back_freed()
