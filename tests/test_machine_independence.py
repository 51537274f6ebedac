"""The same numbers on any x86-64 machine, so a fresh clone reproduces the committed dvc.lock.

numpy's AVX-512 exp, log, log1p, expm1 and power round differently from libm (which every
other x86-64 machine's numpy uses) in the last bit; importing churn switches them off.
BLAS kernels: tests/modeling/test_bgnbd.py.
"""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(
    platform.machine().lower() not in ("x86_64", "amd64"), reason="numpy's x86-64 dispatch only"
)

AGAINST_LIBM = """
import {first}
import math
import numpy as np
x = np.linspace(-30, 30, 20001)
y = np.abs(x) + 1e-3
pairs = [
    (np.exp(x), map(math.exp, x)),
    (np.expm1(x), map(math.expm1, x)),
    (np.log(y), map(math.log, y)),
    (np.log1p(y), map(math.log1p, y)),
    (np.power(y, 0.37), (v ** 0.37 for v in y)),
]
print(sum(np.array_equal(a, np.fromiter(b, float)) for a, b in pairs))
"""


def _functions_equal_to_libm(first: str) -> int:
    proc = subprocess.run(
        [sys.executable, "-c", AGAINST_LIBM.format(first=first)], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout)


def test_numpy_computes_what_libm_does_once_churn_is_loaded():
    assert _functions_equal_to_libm("churn") == 5


def test_a_user_setting_is_kept_beside_churns():
    proc = subprocess.run(
        [sys.executable, "-c", "import churn, os; print(os.environ['NPY_DISABLE_CPU_FEATURES'])"],
        env={"NPY_DISABLE_CPU_FEATURES": "X86_V3", "PATH": ""},
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout.split() == ["X86_V3", "X86_V4", "AVX512_ICL", "AVX512_SPR"], proc.stderr


def test_this_test_session_computes_like_the_command():
    import math

    import numpy as np

    x = np.linspace(-30, 30, 2001)
    assert np.array_equal(np.exp(x), np.fromiter(map(math.exp, x), float))
