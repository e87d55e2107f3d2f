"""A process forked while keyed state's kernels load in the background (``multiprocessing`` forks on Linux) is
not left with numba's import half done: the fork waits for the load, so the child has the kernels and its own
``import numba`` returns, where it used to wait forever on a module lock held by a thread the child lacks."""

import subprocess
import sys

PROGRAM = """
import faulthandler
import os
from stream_nb.engine import hashslots_kernels
hashslots_kernels.ready(hashslots_kernels.threshold)  # a big batch: the load starts on its thread
pid = os.fork()
if pid == 0:
    faulthandler.dump_traceback_later(60, exit=True)  # a hang ends the child (status 1) and says where
    import numba  # noqa: F401
    print("child", hashslots_kernels.ready(1) is not None, flush=True)
    os._exit(0)
_, status = os.waitpid(pid, 0)
print("parent", os.waitstatus_to_exitcode(status), hashslots_kernels.load() is not None, flush=True)
"""


def test_a_process_forked_while_the_kernels_load_has_them_and_imports_numba():
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split("\n")
    assert "child True" in lines, done.stdout + done.stderr
    assert "parent 0 True" in lines, done.stdout + done.stderr
