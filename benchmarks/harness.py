"""The small framework every case uses: time contenders, check they agree, print one table per case.

A case is a module with ``NAME``, ``TITLE`` and ``run(quick, repeats) -> Report``. Each contender is a
``Contender``: a function ``once(clock) -> output`` that does its own untimed set-up and tear-down and wraps
only its hot path in ``with clock:``, plus a check of its output. ``Report.run`` warms every contender up
once, then runs the timed repeats round-robin (A B C A B C ...) in this process, never two at a time, so a
burst of load from a neighbour on a shared machine lands on all of them rather than on one; the headline is
the median run, the best is shown beside it (the gap between them is the noise).
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Self

import pandas as pd


class Unavailable(Exception):
    """A contender that cannot run here (its library is missing or not built yet): skipped, not failed."""


class ResultMismatch(AssertionError):
    """A contender computed a different answer from the reference: its timing means nothing."""


STEADY_SECONDS = 3.0  # timed work, over all contenders, that a case's rounds add up to at least...
MAX_ROUNDS = 15       # ...unless it would take more rounds than this


class Stopwatch:
    """Accumulates the time spent inside ``with clock:`` blocks; each block is one lap."""

    def __init__(self) -> None:
        self.laps: list[float] = []
        self._started: float | None = None

    def __enter__(self) -> Self:
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.laps.append(time.perf_counter() - self._started)

    @property
    def seconds(self) -> float:
        return sum(self.laps)


@dataclass
class Measurement:
    """``repeats`` timed runs of one contender; ``output`` is what the last run returned (for checking)."""

    contender: str
    rows: int
    clocks: list[Stopwatch]
    output: Any = None

    @property
    def seconds(self) -> float:
        return statistics.median(c.seconds for c in self.clocks)

    @property
    def best(self) -> float:
        return min(c.seconds for c in self.clocks)

    def lap_medians(self) -> list[float]:
        """Per-lap medians over the repeats (lap i of every run), e.g. the time of batch i."""
        return [statistics.median(laps) for laps in zip(*(c.laps for c in self.clocks), strict=True)]

    def row(self) -> dict[str, Any]:
        return {
            "contender": self.contender,
            "seconds": self.seconds,
            "best": self.best,
            "repeats": len(self.clocks),
            "rows": self.rows,
            "rows_per_s": self.rows / self.seconds if self.seconds else float("nan"),
        }


@dataclass
class Contender:
    """One way of computing a case's answer.

    ``once(clock)`` runs it once and returns its output; ``warmup`` is one untimed run of ``once`` first
    (True), none (False), or a cheaper callable of its own; ``check(output)`` raises ResultMismatch if the
    output is wrong.
    """

    name: str
    once: Callable[[Stopwatch], Any]
    rows: int
    check: Callable[[Any], None] | None = None
    warmup: bool | Callable[[], Any] = True


def _warm_up(contender: Contender) -> None:
    if contender.warmup is True:
        contender.once(Stopwatch())
    elif callable(contender.warmup):
        contender.warmup()


@dataclass
class Target:
    """A ratio to report, e.g. stream_nb / DuckDB rows/s, with the goal the project aims for (if any)."""

    label: str
    value: float | None
    goal: float | None = None
    at_least: bool = True

    def render(self) -> str:
        sign = "≥" if self.at_least else "≤"
        goal = f" (target {sign} {self.goal:g})" if self.goal is not None else ""
        if self.value is None:
            return f"{self.label}: n/a{goal}"
        if self.goal is None:
            return f"{self.label}: **{self.value:.2f}**"
        met = self.value >= self.goal if self.at_least else self.value <= self.goal
        return f"{self.label}: **{self.value:.2f}**{goal} {'met' if met else 'MISSED'}"


@dataclass
class Failure:
    contender: str
    kind: str  # "skipped" | "error" | "wrong result"
    detail: str


@dataclass
class Report:
    """What a case hands back: a row per contender, ratios against ``baseline``, targets, extra notes."""

    case: str
    title: str
    baseline: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    def run(self, contenders: list[Contender], repeats: int) -> dict[str, Measurement]:
        """Warm up, time at least ``repeats`` rounds, check; adds a row per contender, in order. A contender
        that fails is recorded (and shown) and drops out; the others go on.

        A round where every contender runs once can take a fraction of a second, and the median of three
        such runs moves a lot on a shared machine: short cases run more rounds, until their timed work adds
        up to ``STEADY_SECONDS`` (at most ``MAX_ROUNDS``). Every contender runs the same number of rounds."""
        clocks = {c.name: [] for c in contenders if self._attempt(c.name, _warm_up, c)[0]}
        outputs: dict[str, Any] = {}
        rounds = 0
        while clocks and (rounds < repeats or (rounds < MAX_ROUNDS and sum(
                clock.seconds for laps in clocks.values() for clock in laps) < STEADY_SECONDS)):
            rounds += 1
            for c in (c for c in contenders if c.name in clocks):
                gc.collect()  # so one run's garbage is not collected inside another's timing
                clock = Stopwatch()
                ok, outputs[c.name] = self._attempt(c.name, c.once, clock)
                if ok:
                    clocks[c.name].append(clock)
                else:
                    del clocks[c.name]
        done = {}
        for c in contenders:
            if c.name in clocks and (c.check is None or self._attempt(c.name, c.check, outputs[c.name])[0]):
                done[c.name] = Measurement(c.name, c.rows, clocks[c.name], outputs[c.name])
                self.rows.append(done[c.name].row())
            else:
                self.rows.append({"contender": c.name, "check": self._kind(c.name)})
        return done

    def _attempt(self, contender: str, fn: Callable[..., Any], *args: Any) -> tuple[bool, Any]:
        try:
            return True, fn(*args)
        except Unavailable as err:
            self.failures.append(Failure(contender, "skipped", str(err)))
        except ResultMismatch as err:
            self.failures.append(Failure(contender, "wrong result", str(err)))
        except Exception:  # noqa: BLE001 - an engine bug is reported with its traceback, not a crash
            self.failures.append(Failure(contender, "error", traceback.format_exc()))
        return False, None

    def _kind(self, contender: str) -> str:
        return next(f.kind for f in reversed(self.failures) if f.contender == contender)

    def row(self, contender: str) -> dict[str, Any] | None:
        return next((r for r in self.rows if r["contender"] == contender and "seconds" in r), None)

    def speed_ratio(self, contender: str, against: str) -> float | None:
        """rows/s of ``contender`` over rows/s of ``against`` (> 1: contender is faster)."""
        a, b = self.row(contender), self.row(against)
        return a["rows_per_s"] / b["rows_per_s"] if a and b else None

    @property
    def failed(self) -> bool:
        return any(f.kind != "skipped" for f in self.failures)


def check_same(
    actual: pd.DataFrame, expected: pd.DataFrame, *, key: str, what: str, rtol: float = 1e-9
) -> None:
    """Raise ResultMismatch unless both hold the same rows (floats to ``rtol``: sums differ by order)."""
    missing = [c for c in expected.columns if c not in actual.columns]
    if missing:
        raise ResultMismatch(f"{what}: result lacks column(s) {missing}; it has {list(actual.columns)}")
    a = _normalised(actual[list(expected.columns)], key)
    e = _normalised(expected, key)
    if len(a) != len(e) or not a[key].equals(e[key]):
        only_a = sorted(set(a[key]) - set(e[key]))[:5]
        only_e = sorted(set(e[key]) - set(a[key]))[:5]
        raise ResultMismatch(
            f"{what}: {len(a)} rows vs {len(e)} expected; "
            f"keys only in the result {only_a}, only expected {only_e}"
        )
    for column in e.columns:
        x, y = a[column], e[column]
        if pd.api.types.is_float_dtype(y) or pd.api.types.is_float_dtype(x):
            x, y = x.astype("float64"), y.astype("float64")
            bad = ~(((x - y).abs() <= rtol * y.abs()) | (x.isna() & y.isna()))
        else:
            bad = x.astype(str) != y.astype(str)
        if bad.any():
            sample = pd.DataFrame({key: e[key], "got": x, "expected": y})[bad].head(5)
            raise ResultMismatch(
                f"{what}: column {column!r} differs in {int(bad.sum())} of {len(e)} rows, e.g.\n"
                f"{sample.to_string(index=False, float_format=repr)}"
            )


def _normalised(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    frame = frame.copy()
    frame[key] = frame[key].astype(str)
    return frame.sort_values(key, kind="stable").reset_index(drop=True)


# --- printing -------------------------------------------------------------------------------------------

_STANDARD = ("contender", "seconds", "best", "repeats", "rows", "rows_per_s")
_HEADERS = {
    "contender": "contender",
    "seconds": "median s",
    "best": "best s",
    "repeats": "n",
    "rows": "rows",
    "rows_per_s": "rows/s",
    "ratio": "× baseline",
    "check": "check",
}


def render(report: Report) -> str:
    """The case as markdown: title, table, targets, notes, then failures with their tracebacks."""
    rows = [dict(r) for r in report.rows]
    base = report.row(report.baseline) if report.baseline else None
    for r in rows:
        r.setdefault("check", "ok")
        if base and "rows_per_s" in r:
            r["ratio"] = r["rows_per_s"] / base["rows_per_s"]
    extra = [k for r in rows for k in r if k not in _STANDARD and k not in ("ratio", "check")]
    columns = [*_STANDARD, *(["ratio"] if base else []), *dict.fromkeys(extra), "check"]
    lines = [f"### {report.case}: {report.title}", ""]
    if report.baseline:
        lines += [f"× baseline = rows/s ÷ rows/s of `{report.baseline}`; times: median of n runs.", ""]
    lines += [table(columns, rows, headers=_HEADERS), ""]
    lines += [f"- {t.render()}" for t in report.targets]
    if report.targets:
        lines.append("")
    for note in report.notes:
        lines += [note, ""]
    for f in report.failures:
        body = f.detail.rstrip()
        if "\n" in body:
            lines += [f"**{f.contender}: {f.kind.upper()}**", "", "```", body, "```", ""]
        else:
            lines += [f"**{f.contender}: {f.kind.upper()}**: {body}", ""]
    return "\n".join(lines)


def table(
    columns: list[str], rows: Iterable[dict[str, Any]], *, headers: dict[str, str] | None = None
) -> str:
    """A markdown table padded to line up in a terminal too; columns of numbers right-aligned."""
    rows = list(rows)
    headers = headers or {}
    cells = [[_cell(c, r.get(c)) for c in columns] for r in rows]
    names = [headers.get(c, c) for c in columns]
    widths = [max([len(n), *(len(row[i]) for row in cells)]) for i, n in enumerate(names)]
    right = [all(isinstance(r.get(c), int | float) for r in rows if r.get(c) is not None) for c in columns]

    def line(values: list[str]) -> str:
        padded = (v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right))
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 1) + ":" if r else "-" * (w + 2) for w, r in zip(widths, right)) + "|"
    return "\n".join([line(names), rule, *(line(row) for row in cells)])


def _cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if column == "rows_per_s":
        return _si(value)
    if column in ("seconds", "best"):
        return f"{value:.3f}"
    if column == "ratio" or isinstance(value, float) and column.endswith(("growth", "ratio")):
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _si(value: float) -> str:
    for scale, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if value >= scale:
            return f"{value / scale:.2f}{suffix}"
    return f"{value:.1f}"


class Neighbours:
    """How busy the rest of the machine was while a case ran: CPU time of other processes (and time stolen by
    the hypervisor) as a share of all cores, from /proc/stat; None where that is not available."""

    def __enter__(self) -> Self:
        self._start = self._sample()
        return self

    def __exit__(self, *exc: object) -> None:
        self._end = self._sample()

    @property
    def share(self) -> float | None:
        if self._start is None or self._end is None:
            return None
        (busy0, own0, wall0), (busy1, own1, wall1) = self._start, self._end
        cores = os.cpu_count() or 1
        return max(0.0, ((busy1 - busy0) - (own1 - own0)) / ((wall1 - wall0) * cores))

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat") as stat:
                fields = [int(v) for v in stat.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        busy = (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")  # guest time is already in user
        own = os.times()
        return busy, own.user + own.system, time.monotonic()


def machine() -> str:
    """One line that says where the numbers were measured."""
    versions = []
    for package in ("duckdb", "pyarrow", "pandas", "numpy", "stream_nb"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} -")
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{_cpu_model()}, {usable} cores usable ({os.cpu_count()} online), "
        f"Python {platform.python_version()} ({sys.implementation.name}), " + ", ".join(versions)
    )


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
