"""Finding new input files cheaply: what the files source does on every poll of an idle query.

A directory's modification time moves whenever an entry is added, removed or renamed in it, so a directory
whose mtime has not moved since it was listed holds no new file, and is not listed again. Only the names that
a listing finds new are stat-ed (for their own modification time, which orders them). An idle poll costs one
``stat`` per directory, whatever the number of files already processed.

A filesystem stamps mtimes with a coarse clock (a few ms; seconds on some), so a file added in the same tick
as a listing could leave the mtime where it was: a directory changed less than ``SETTLE_NS`` before it was
listed is listed again at the next poll, until it has been still for that long. And as some filesystems keep
mtimes loosely (network mounts cache them), every directory is listed again after ``RELIST_NS`` whatever its
mtime says: with 20,000 files that costs about 10 ms every 10 s.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

SETTLE_NS = 1_000_000_000
RELIST_NS = 10_000_000_000


@dataclass
class _Listing:
    mtime_ns: int
    listed_ns: int          # time.monotonic_ns() of the listing
    settled: bool           # listed SETTLE_NS after its last change: an unchanged mtime means no new entry
    subdirs: list[str]      # a glob's matches that are directories, listed in turn


class NewFiles:
    """The files under a directory or glob not yet known, oldest first (modification time, then path).

    ``wanted(name)`` says which names are input files (extension, not hidden); ``known(path)`` which absolute
    paths were found before. Directories are remembered between calls; ``forget()`` lists everything again.
    Not thread-safe: the caller serialises calls.
    """

    def __init__(self, path: str, wanted: Callable[[str], bool]):
        self.path = path
        self.wanted = wanted
        self._listings: dict[str, _Listing] = {}

    def forget(self) -> None:
        self._listings.clear()

    def __call__(self, known: Callable[[str], bool]) -> list[str]:
        """Raises OSError if a directory cannot be listed (a missing one just has no files)."""
        found: list[tuple[int, str]] = []
        for directory, pattern in self._roots():
            if directory is None:  # the path is one file
                self._add_file(os.path.abspath(pattern), known, found)
            else:
                self._scan(directory, pattern, known, found)
        return [path for _, path in sorted(found)]

    def _roots(self) -> Iterator[tuple[str | None, str | None]]:
        """(directory, pattern for its entries or None for all of them), or (None, file)."""
        if not glob.has_magic(self.path):
            yield (self.path, None) if os.path.isdir(self.path) else (None, self.path)
            return
        head, tail = os.path.split(self.path)
        parents = sorted(glob.glob(head)) if glob.has_magic(head) else [head or "."]
        for parent in parents:
            if os.path.isdir(parent):
                yield parent, tail

    def _scan(self, directory: str, pattern: str | None, known: Callable[[str], bool],
              found: list[tuple[int, str]]) -> None:
        try:
            mtime_ns = os.stat(directory).st_mtime_ns
        except FileNotFoundError:  # a glob's directory removed since
            self._listings.pop(directory, None)
            return
        listing = self._listings.get(directory)
        if listing is None or not listing.settled or listing.mtime_ns != mtime_ns or \
                time.monotonic_ns() - listing.listed_ns > RELIST_NS:
            listing = self._list(directory, pattern, mtime_ns, known, found)
        for subdir in listing.subdirs:  # a glob like 'day-*' matches directories, whose files are input
            self._scan(subdir, None, known, found)

    def _list(self, directory: str, pattern: str | None, mtime_ns: int, known: Callable[[str], bool],
              found: list[tuple[int, str]]) -> _Listing:
        settled = time.time_ns() - mtime_ns > SETTLE_NS  # the clock read before the listing, as the mtime was
        absolute = os.path.abspath(directory)
        subdirs = []
        with os.scandir(directory) as entries:
            for entry in entries:
                name = entry.name
                hidden = name.startswith(".") and not pattern.startswith(".") if pattern else False
                if pattern is not None and (hidden or not fnmatch.fnmatch(name, pattern)):  # as glob does
                    continue
                path = os.path.join(absolute, name)
                if pattern is not None and entry.is_dir():
                    subdirs.append(path)
                elif pattern is None and "=" in name and not name.startswith((".", "_")) and entry.is_dir():
                    subdirs.append(path)  # a partition (key=value), as Spark's partitionBy writes them
                elif self.wanted(name) and not known(path):
                    self._add_file(path, known, found)
        listing = _Listing(mtime_ns, time.monotonic_ns(), settled, subdirs)
        self._listings[directory] = listing
        return listing

    def _add_file(self, path: str, known: Callable[[str], bool], found: list[tuple[int, str]]) -> None:
        if known(path) or not self.wanted(os.path.basename(path)):
            return
        try:
            info = os.stat(path)
        except FileNotFoundError:  # removed while we were listing
            return
        if stat.S_ISREG(info.st_mode):
            found.append((info.st_mtime_ns, path))
