import subprocess
import sys
import textwrap

import pytest

from churn import memory

# Frees most of 200 MB of small blocks while every tenth stays, so the free pages sit
# between live ones where free() cannot give them back, then prints the resident memory
# before and after give_back_freed.
SCRIPT = textwrap.dedent(
    """
    from churn import memory

    def resident_mb():
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) // 1024

    blocks = [bytearray(100_000) for _ in range(2_000)]
    kept = blocks[::10]
    del blocks
    before = resident_mb()
    memory.give_back_freed()
    print(before, resident_mb())
    """
)


@pytest.mark.skipif(memory._malloc_trim() is None or not sys.platform.startswith("linux"), reason="glibc only")
def test_freed_memory_goes_back_to_the_system():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True).stdout
    before, after = map(int, out.split())
    assert before - after > 100, (before, after)  # of the 180 MB freed


def test_without_malloc_trim_nothing_happens(monkeypatch):
    monkeypatch.setattr(memory, "_malloc_trim", lambda: None)
    memory.give_back_freed()


def test_around_threads_gives_back_before_and_after(monkeypatch):
    calls = []
    monkeypatch.setattr(memory, "give_back_freed", lambda: calls.append("trim"))
    with pytest.raises(RuntimeError), memory.around_threads():
        calls.append("step")
        raise RuntimeError("the step failed")
    assert calls == ["trim", "step", "trim"]
