"""The public API is what ``stream_nb/__init__.py`` exports and ``docs/api.md`` describes: pinned here, so a
rename or a drop is a decision, not an accident."""

from __future__ import annotations

import inspect
from pathlib import Path

import stream_nb as sn

DOCS = (Path(__file__).parent.parent / "docs" / "api.md").read_text()


def test_the_module_exports_exactly_the_documented_names():
    assert sorted(sn.__all__) == sorted([
        "CheckpointError", "ManualClock", "OutputModeError", "QueryState", "SchemaError", "StreamSQLError", "StreamingQuery",
        "StreamingQueryException", "UdfError", "get", "load_ipython_extension", "queries", "read_files_sink",
        "sinks", "sources", "spark", "start", "stop_all", "udf"])
    for name in sn.__all__:
        assert getattr(sn, name) is not None


def test_sources_and_sinks_keep_their_names_and_options():
    assert {"memory", "rate", "sensors", "files"} <= set(dir(sn.sources))
    assert {"memory", "foreach_batch", "files", "duckdb"} <= set(dir(sn.sinks))
    assert list(inspect.signature(sn.sources.sensors).parameters)[:6] == [
        "devices", "rows_per_second", "disorder", "late_fraction", "seed", "start_time"]
    assert list(inspect.signature(sn.sources.files).parameters) == [
        "path", "format", "schema", "max_files_per_trigger", "header", "sep"]
    assert list(inspect.signature(sn.sinks.notify).parameters) == ["title", "max_per_minute", "level"]
    assert list(inspect.signature(sn.sinks.files).parameters) == ["path", "format", "partition_by"]
    assert list(inspect.signature(sn.sources.kafka).parameters) == [
        "servers", "topic", "pattern", "starting_offsets", "schema", "max_offsets_per_trigger", "fail_on_data_loss",
        "include_headers", "options"]


def test_start_takes_the_documented_options():
    assert list(inspect.signature(sn.start).parameters) == [
        "sql", "name", "sources", "output_mode", "trigger", "watermark", "watermark_policy", "checkpoint", "sink",
        "checkpoint_retention", "engine", "spark", "group_state", "clock"]


def test_udf_takes_the_documented_options():
    assert list(inspect.signature(sn.udf).parameters) == [
        "name", "fn", "return_type", "vectorized", "deterministic"]
    assert "sn.udf(name, fn, return_type, *, vectorized=False, deterministic=True)" in DOCS


def test_the_query_handle_has_every_documented_member():
    members = ["name", "id", "run_id", "state", "is_active", "status", "exception", "last_progress",
               "recent_progress", "result", "watermark", "history", "step", "pause", "resume", "stop",
               "process_all_available", "await_termination", "explain", "show"]
    for member in members:
        assert hasattr(sn.StreamingQuery, member) or member in ("name", "id", "run_id"), member
        assert f"`{member}`" in DOCS or f"`{member}(" in DOCS, f"docs/api.md does not describe q.{member}"
    src = sn.sources.memory("x bigint")
    q = sn.start("SELECT x FROM src", sources={"src": src}, trigger="manual")
    assert q.name and q.id and q.run_id and q.state is sn.QueryState.MANUAL
    q.stop()
    assert q.state is sn.QueryState.STOPPED
