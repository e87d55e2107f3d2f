"""The peers' own virtual environments: ``.venv-peers/<peer>``, made on first use from PyPI wheels only.

Pathway and Bytewax pin libraries of their own (and Bytewax its own pyarrow-free stack), so each lives in a
virtual environment beside the project's, with the same Python, and runs as a subprocess
(``benchmarks/peer_run.py``). ``python -m benchmarks.peers_env`` (``make peers``) makes them ahead of a run;
``make bench`` makes a missing one; ``--quick`` (CI) never does: a peer without its environment is skipped.
A peer whose environment cannot be made is ``Unavailable`` with pip's last lines as the reason.
"""

from __future__ import annotations

import os
import subprocess
import sys

from .harness import Unavailable

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".venv-peers")
# Pinned, so that a run next month measures the same peers (checked: binary wheels for CPython 3.11 x86_64).
# pyarrow reads the parquet files and writes the final table back in both.
REQUIREMENTS = {
    "pathway": ["pathway==0.33.0", "pyarrow"],
    "bytewax": ["bytewax==0.21.1", "pyarrow"],
}
DONE = ".installed"  # written last: a half-made environment (an interrupted pip) is made again


def python(peer: str) -> str:
    """The path of ``peer``'s interpreter, if its environment is complete; ``Unavailable`` otherwise."""
    path = os.path.join(ROOT, peer, "bin", "python")
    if not os.path.exists(os.path.join(ROOT, peer, DONE)):
        raise Unavailable(f"{peer}'s environment {os.path.join(ROOT, peer)} is not made "
                          "(`make peers` makes it; --quick never does)")
    return path


def ensure(peer: str) -> str:
    """``peer``'s interpreter, making its environment first if it is missing; ``Unavailable`` if pip fails."""
    try:
        return python(peer)
    except Unavailable:
        pass
    home = os.path.join(ROOT, peer)
    print(f"_making {peer}'s environment in {home} (once)_", file=sys.stderr, flush=True)
    # The base interpreter, not this venv's: the peer's environment shares nothing with the project's.
    steps = [
        [getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--clear", home],
        [os.path.join(home, "bin", "python"), "-m", "pip", "install", "--quiet", "--only-binary=:all:",
         *REQUIREMENTS[peer]],
    ]
    for step in steps:
        done = subprocess.run(step, check=False, capture_output=True, text=True)
        if done.returncode:
            tail = " / ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
            raise Unavailable(f"{peer}'s environment could not be made (`{' '.join(step[2:5])} ...` exited "
                              f"{done.returncode}: {tail})")
    with open(os.path.join(home, DONE), "w") as marker:
        marker.write("\n".join(REQUIREMENTS[peer]) + "\n")
    return python(peer)


def main() -> int:
    failed = 0
    for peer in REQUIREMENTS:
        try:
            print(f"{peer}: {ensure(peer)}")
        except Unavailable as err:
            print(f"{peer}: {err}", file=sys.stderr)
            failed = 1
    return failed


if __name__ == "__main__":
    sys.exit(main())
