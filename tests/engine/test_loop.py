"""The engine's loop: one daemon thread (in a kernel, see tests/notebook/test_in_kernel.py)."""

from __future__ import annotations

import subprocess
import sys

from stream_nb.engine import loop


def test_the_loop_runs_on_one_daemon_thread():
    first, second = loop.portal(), loop.portal()
    assert first is second
    assert loop.portal().call(loop.in_loop_thread)
    assert not loop.in_loop_thread()


def test_outside_a_kernel_the_switch_interval_is_left_alone():
    code = "import sys; from stream_nb.engine import loop; loop.portal(); print(sys.getswitchinterval())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(done.stdout) == 0.005
