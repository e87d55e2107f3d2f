"""Whether a changed query may go on from a checkpoint written by the old one.

Compatible: what only changes rows going forward (a new filter, another projection), and an input renamed in
place (Spark knows sources by position). Incompatible: another source, other state keys or aggregates, another
output mode — the state and offsets would mean something else. Then the error says what changed and that a new checkpoint directory is needed.
"""

from __future__ import annotations

import json
import re

from stream_nb.checkpoint.files import CheckpointError
from stream_nb.types import describe_schema


def fingerprint(plan) -> dict:
    """What a checkpoint's offsets and state depend on. One input is written as ``source`` (as checkpoints
    always had it); several as ``sources``, in the plan's order of inputs (the offset log's lines)."""
    inputs = [_input(stream.name, stream.source) for stream in streams_of(plan)]
    state = None
    if getattr(plan, "group_state", None) is not None:  # applyInPandasWithState: the function and its state's type
        gs = plan.group_state
        state = {"operator": "applyInPandasWithState", "keys": gs.keys,
                 "aggregates": [gs.func_name, describe_schema(gs.state_schema), gs.timeout]}
    elif plan.aggregate is not None:
        agg = plan.aggregate
        state = {"operator": "session" if agg.session else "aggregate", "keys": agg.key_texts,
                 "aggregates": [a.text for a in agg.aggregates]}
    elif plan.dedup is not None:
        state = {"operator": "dedup", "keys": plan.dedup.key_texts}
    elif plan.chain is not None:  # chained operators: each one's state, in order (sql/chain.py)
        stages = [fingerprint(stage)["state"] for stage in plan.chain.stages]
        state = {"operator": "chain of " + ", ".join(s["operator"] for s in stages),
                 "keys": [s["keys"] for s in stages], "aggregates": [s.get("aggregates") for s in stages]}
    elif getattr(plan, "join", None) is not None:  # a stream-stream join: what each side keeps, and for what
        join = plan.join
        state = {"operator": f"stream-stream {join.join_type} join", "keys": list(join.key_texts),
                 "condition": join.condition_text}
    elif getattr(plan, "limit", None) is not None:  # LIMIT: the count of rows passed, whatever the limit now
        state = {"operator": "globalLimit", "keys": []}
    found = {"sql": plan.sql, "outputMode": plan.output_mode, "state": state}
    if len(inputs) == 1:
        return {**found, "source": inputs[0]}
    return {**found, "sources": inputs, "watermarkPolicy": plan.watermark_policy}


def streams_of(plan) -> list:
    """The plan's inputs (``Stream``: name and source), in its order of inputs."""
    return [plan.bindings.streams[name] for name in plan.inputs]


def _input(name: str, source) -> dict:
    return {"name": name, "description": getattr(source, "description", type(source).__name__),
            "schema": describe_schema(source.schema)}


def check_compatible(stored: dict, current: dict, directory) -> None:
    changes = []
    old_inputs = stored.get("sources") or [stored.get("source", {})]
    new_inputs = current.get("sources") or [current["source"]]
    if not _same_inputs(old_inputs, new_inputs):
        # the offset log has one line per input, in order: other inputs would read other inputs' offsets
        changes.append(f"the query read {_names(old_inputs)}, now {_names(new_inputs)}")
    else:
        for old_source, new_source in zip(old_inputs, new_inputs):
            what = "the source's" if len(new_inputs) == 1 else f"input {new_source['name']!r}'s"
            for field in ("description", "schema"):
                if old_source.get(field) != new_source[field]:
                    changes.append(f"{what} {field} was {old_source.get(field)!r}, now {new_source[field]!r}")
    if stored.get("watermarkPolicy", "min") != current.get("watermarkPolicy", "min"):
        changes.append(f"the watermark policy was {stored.get('watermarkPolicy', 'min')!r}, "
                       f"now {current.get('watermarkPolicy', 'min')!r}")
    if stored.get("outputMode") != current["outputMode"]:
        changes.append(f"the output mode was {stored.get('outputMode')!r}, now {current['outputMode']!r}")
    old_state, new_state = _renamed(stored.get("state"), old_inputs, new_inputs), current["state"]
    if (old_state or {}).get("operator") != (new_state or {}).get("operator"):
        changes.append(f"the stateful operator was {_operator(old_state)}, now {_operator(new_state)}")
    else:
        for field in ("keys", "aggregates", "condition"):
            if (old_state or {}).get(field) != (new_state or {}).get(field):
                changes.append(f"the state's {field} were {(old_state or {}).get(field)}, "
                               f"now {(new_state or {}).get(field)}")
    if changes:
        raise CheckpointError(
            f"this query cannot resume from checkpoint {directory}: it is not the query that wrote it ("
            + "; ".join(changes) + "). Its offsets and state would mean something else: give the changed "
            "query a new checkpoint directory (or delete this one to start over).")


def _same_inputs(old: list[dict], new: list[dict]) -> bool:
    """Whether the offset log's lines still belong to the same inputs. Spark knows a query's sources by their
    position, so an input renamed in place (a temp view, or the name the PySpark API gives each
    ``readStream`` afresh) is the same input when its source is (checked next); inputs that moved are not.

    >>> a, b, c = ({"name": n} for n in "abc")
    >>> _same_inputs([a, b], [a, b]), _same_inputs([a, b], [a, c]), _same_inputs([a, b], [b, a])
    (True, True, False)
    >>> _same_inputs([a], [a, b])
    False
    """
    if len(old) != len(new):
        return False
    position = {i.get("name"): at for at, i in enumerate(new)}
    return all(position.get(i.get("name"), at) == at for at, i in enumerate(old))


def _renamed(state: dict | None, old: list[dict], new: list[dict]) -> dict | None:
    """The stored state's description with the inputs' old names as the new ones (its keys and conditions name
    columns by input, e.g. ``files_1.`word```), so that a renamed input compares equal.

    >>> _renamed({"keys": ["files_1.`word`", "`files_1`.`n`"]}, [{"name": "files_1"}], [{"name": "files_2"}])
    {'keys': ['files_2.`word`', '`files_2`.`n`']}
    """
    renames = {o.get("name"): n["name"] for o, n in zip(old, new) if o.get("name") not in (None, n["name"])}
    if not state or not renames or len(old) != len(new):
        return state
    pattern = re.compile(r"(?<![\w`])(`?)(" + "|".join(map(re.escape, renames)) + r")\1(?=\.)")
    text = pattern.sub(lambda m: m.group(1) + renames[m.group(2)] + m.group(1), json.dumps(state))
    return json.loads(text)


def _names(inputs: list[dict]) -> str:
    names = [repr(i.get("name")) for i in inputs]
    return f"{len(names)} input{'s' if len(names) != 1 else ''} ({', '.join(names)})"


def _operator(state: dict | None) -> str:
    return "none (stateless)" if not state else state["operator"]
