"""Whether a changed query may go on from a checkpoint written by the old one.

Compatible: what only changes rows going forward (a new filter, another projection). Incompatible: another
source, other state keys or aggregates, another output mode — the state and offsets would mean something
else. Then the error says what changed and that a new checkpoint directory is needed.
"""

from __future__ import annotations

from stream_nb.checkpoint.files import CheckpointError
from stream_nb.types import describe_schema


def fingerprint(plan) -> dict:
    """What a checkpoint's offsets and state depend on."""
    source = plan.stream.source
    state = None
    if plan.aggregate is not None:
        agg = plan.aggregate
        state = {"operator": "session" if agg.session else "aggregate", "keys": agg.key_texts,
                 "aggregates": [a.text for a in agg.aggregates]}
    elif plan.dedup is not None:
        state = {"operator": "dedup", "keys": plan.dedup.key_texts}
    elif plan.chain is not None:  # chained operators: each one's state, in order (sql/chain.py)
        stages = [fingerprint(stage)["state"] for stage in plan.chain.stages]
        state = {"operator": "chain of " + ", ".join(s["operator"] for s in stages),
                 "keys": [s["keys"] for s in stages], "aggregates": [s.get("aggregates") for s in stages]}
    return {
        "sql": plan.sql,
        "source": {"name": plan.stream.name, "description": getattr(source, "description", type(source).__name__),
                   "schema": describe_schema(source.schema)},
        "outputMode": plan.output_mode,
        "state": state,
    }


def check_compatible(stored: dict, current: dict, directory) -> None:
    changes = []
    old_source, new_source = stored.get("source", {}), current["source"]
    for field in ("name", "description", "schema"):
        if old_source.get(field) != new_source[field]:
            changes.append(f"the source's {field} was {old_source.get(field)!r}, now {new_source[field]!r}")
    if stored.get("outputMode") != current["outputMode"]:
        changes.append(f"the output mode was {stored.get('outputMode')!r}, now {current['outputMode']!r}")
    old_state, new_state = stored.get("state"), current["state"]
    if (old_state or {}).get("operator") != (new_state or {}).get("operator"):
        changes.append(f"the stateful operator was {_operator(old_state)}, now {_operator(new_state)}")
    else:
        for field in ("keys", "aggregates"):
            if (old_state or {}).get(field) != (new_state or {}).get(field):
                changes.append(f"the state's {field} were {(old_state or {}).get(field)}, "
                               f"now {(new_state or {}).get(field)}")
    if changes:
        raise CheckpointError(
            f"this query cannot resume from checkpoint {directory}: it is not the query that wrote it ("
            + "; ".join(changes) + "). Its offsets and state would mean something else: give the changed "
            "query a new checkpoint directory (or delete this one to start over).")


def _operator(state: dict | None) -> str:
    return "none (stateless)" if not state else state["operator"]
