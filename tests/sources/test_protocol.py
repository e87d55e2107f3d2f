"""The Source protocol: a plain class with the required members is a source; what more it can do it declares."""

from __future__ import annotations

from dataclasses import replace

import pyarrow as pa
import pytest

import stream_nb as sn
from stream_nb.sources._protocol import source_traits
from stream_nb.sql.errors import StreamSQLError

SCHEMA = pa.schema([("n", pa.int64())])


class Counter:
    """A source as a user writes one (README, "A source of your own"): offsets are the numbers themselves."""

    schema = SCHEMA

    def __init__(self, upto: int):
        self.upto = upto

    def latest_offset(self) -> int:
        return self.upto

    def read(self, start: int, end: int) -> pa.Table:
        return pa.table({"n": list(range(start, end))}, schema=SCHEMA)


def test_a_plain_class_with_schema_latest_offset_and_read_is_a_source():
    q = sn.start("SELECT sum(n) AS total FROM c", sources={"c": Counter(5)}, trigger="manual")
    q.process_all_available(timeout=30)
    assert q.result["total"].tolist() == [10]
    q.stop()


def test_a_declared_capability_is_used_max_per_trigger_and_close():
    class Capped(Counter):
        capabilities = frozenset({"max_per_trigger", "close"})
        max_per_trigger = 2
        closed = 0

        def close(self):
            self.closed += 1

    source = Capped(5)
    q = sn.start("SELECT n FROM c", sources={"c": source}, trigger="manual")
    q.process_all_available(timeout=30)
    assert [p["numInputRows"] for p in q.recent_progress] == [2, 2, 1]
    assert source.closed == 0
    q.stop()
    assert source.closed > 0  # (possibly more than once, as the protocol allows)


def test_an_undeclared_method_is_not_called():
    class Quiet(Counter):
        max_per_trigger = 2  # not declared: the engine does not go looking for it
        closed = 0

        def close(self):
            self.closed += 1

    source = Quiet(5)
    q = sn.start("SELECT n FROM c", sources={"c": source}, trigger="manual")
    q.process_all_available(timeout=30)
    q.stop()
    assert [p["numInputRows"] for p in q.recent_progress] == [5]
    assert source.closed == 0


def test_a_source_lacking_read_is_refused_at_start_naming_read():
    class NoRead:
        schema = SCHEMA

        def latest_offset(self):
            return 0

    with pytest.raises(StreamSQLError) as err:
        sn.start("SELECT n FROM c", sources={"c": NoRead()})
    assert "lacks read(start, end)" in str(err.value)
    assert "FROM c" in str(err.value) and "^" in str(err.value)


def test_a_declared_capability_without_its_methods_is_refused_at_start_naming_them():
    class Half(Counter):
        capabilities = frozenset({"checkpoint_log"})

        def checkpoint_log(self, start, end):
            return []

    with pytest.raises(TypeError, match=r"source 'c' \(Half\) declares the capability 'checkpoint_log' but "
                                        r"lacks restore_checkpoint_log"):
        sn.start("SELECT n FROM c", sources={"c": Half(1)})


def test_an_unknown_capability_is_refused_with_the_known_ones():
    class Typo(Counter):
        capabilities = frozenset({"concurent_reads"})

    with pytest.raises(ValueError, match="'concurent_reads', which is not one of: attach, checkpoint_dir, checkpoint_log"):
        sn.start("SELECT n FROM c", sources={"c": Typo(1)})


def test_checkpoint_dir_gives_the_source_its_directory_in_the_checkpoint_before_the_first_batch(tmp_path):
    class Logged(Counter):
        capabilities = frozenset({"checkpoint_dir"})
        opened = ()

        def open_checkpoint(self, directory):
            self.opened = [*self.opened, directory]

        def read(self, start, end):
            assert self.opened, "read before open_checkpoint"
            return super().read(start, end)

    source = Logged(3)
    q = sn.start("SELECT n FROM c", sources={"c": source}, trigger="manual", checkpoint=tmp_path / "cp")
    q.process_all_available(timeout=30)
    q.stop()
    assert source.opened == [tmp_path / "cp" / "sources" / "0"]
    unchecked = Logged(3)
    sn.start("SELECT n FROM c", sources={"c": unchecked}, trigger="manual").stop()
    assert not unchecked.opened  # without a checkpoint there is no directory to give


def test_a_source_whose_attach_fails_refuses_the_start_and_leaves_the_checkpoint_free(tmp_path):
    class Unreachable(Counter):
        capabilities = frozenset({"attach"})
        reachable = False

        def attach(self):
            if not self.reachable:
                raise ConnectionError("broker 127.0.0.1:9 refused the connection")

        def detach(self):
            pass

    source = Unreachable(1)
    with pytest.raises(ConnectionError, match="127.0.0.1:9"):
        sn.start("SELECT n FROM c", sources={"c": source}, name="refused", checkpoint=tmp_path / "cp")
    assert "refused" not in [q.name for q in sn.queries()]
    source.reachable = True
    q = sn.start("SELECT n FROM c", sources={"c": source}, trigger="manual", checkpoint=tmp_path / "cp")
    q.stop()  # the checkpoint's writer lock was released by the refused start


def test_capabilities_must_be_a_set_of_names_not_one_string():
    class OneString(Counter):
        capabilities = "close"

    with pytest.raises(TypeError, match="capabilities is a frozenset of capability names"):
        source_traits(OneString(1))


def test_max_per_trigger_must_be_a_positive_int_or_none():
    class Zero(Counter):
        capabilities = frozenset({"max_per_trigger"})
        max_per_trigger = 0

    with pytest.raises(ValueError, match="max_per_trigger .* a positive int or None; got 0"):
        source_traits(Zero(1))


def test_the_built_in_sources_declare_what_they_do():
    memory = source_traits(sn.sources.memory("n bigint"))  # reading, and pushing rows as they are added
    assert memory.push and memory == replace(source_traits(Counter(0)), push=True)
    rate = source_traits(sn.sources.rate(10))
    assert rate.checkpoint_metadata and not rate.checkpoint_log and not rate.close
    assert source_traits(sn.sources.sensors()).checkpoint_metadata
    files = source_traits(sn.sources.files(".", schema="n bigint", max_files_per_trigger=3))
    assert (files.max_per_trigger, files.concurrent_reads, files.checkpoint_log, files.close) == (3, True, True, True)
