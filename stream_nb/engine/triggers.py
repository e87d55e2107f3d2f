"""Triggers: when the next micro-batch runs, or continuous processing (each row as it arrives)."""

from __future__ import annotations

from dataclasses import dataclass

from stream_nb.intervals import parse_interval


@dataclass(frozen=True)
class Trigger:
    """``kind`` is one of: ``asap`` (as soon as the last batch ends and data is there), ``interval``
    (every ``seconds``), ``available_now`` (all that is there now, then stop, in as many batches as the sources'
    read limits make), ``once`` (all that is there now in one batch, read limits ignored, then stop: Spark's
    deprecated ``Trigger.Once``), ``manual`` (only ``q.step()``),
    ``continuous`` (each row as it arrives; ``seconds`` is the checkpoint interval, Spark's
    ``Trigger.Continuous``: "continuous", "continuous 500 milliseconds" or ("continuous", "1 second")).

    >>> Trigger.parse("2 seconds")
    Trigger(kind='interval', seconds=2.0)
    >>> Trigger.parse("continuous"), Trigger.parse(("continuous", "5 seconds")).seconds
    (Trigger(kind='continuous', seconds=1.0), 5.0)
    >>> Trigger.parse(None).kind, Trigger.parse("available_now").kind, Trigger.parse("once").kind
    ('asap', 'available_now', 'once')
    """

    kind: str
    seconds: float = 0.0

    @classmethod
    def parse(cls, trigger: str | float | None) -> Trigger:
        if trigger is None:
            return cls("asap")
        if isinstance(trigger, Trigger):
            return trigger
        if isinstance(trigger, str):
            trigger = _unquoted(trigger)  # a magic's --trigger "2 seconds" arrives with its quotes
        continuous = _continuous(trigger)
        if continuous is not None:
            return cls("continuous", continuous)
        if isinstance(trigger, str) and trigger.lower().replace("-", "_") == "available_now":
            return cls("available_now")
        if isinstance(trigger, str) and trigger.lower() == "once":
            return cls("once")
        if isinstance(trigger, str) and trigger.lower() == "manual":
            return cls("manual")
        try:
            seconds = parse_interval(trigger).total_seconds()
        except (ValueError, TypeError):
            shown = f"'{trigger}'" if isinstance(trigger, str) else repr(trigger)
            if isinstance(trigger, str) and trigger.lower().startswith("every ") and _is_interval(trigger[6:]):
                raise ValueError(f"unknown trigger {shown}: write the interval alone, as Spark's "
                                 f"processingTime does: '{trigger[6:].strip()}'") from None
            if isinstance(trigger, (int, float, str)) and str(trigger).lstrip().startswith("-"):
                raise ValueError(f"trigger {shown}: an interval cannot be negative (as in Spark); use a positive "
                                 "interval such as '2 seconds', or None for as fast as possible") from None
            raise ValueError(f"unknown trigger {shown}: use None (as fast as possible), an interval such as "
                             "'2 seconds', 'available_now', 'once', 'manual' (only q.step() runs batches), or "
                             "'continuous' (each row as it arrives)") from None
        if seconds <= 0:
            return cls("asap")
        return cls("interval", seconds)

    def describe(self) -> str:
        return {"asap": "as soon as data arrives", "interval": f"every {self.seconds:g} s",
                "available_now": "available now, then stop", "once": "once: one batch of all there is, then stop",
                "manual": "manual (q.step())",
                "continuous": f"continuous, checkpoint every {self.seconds:g} s"}[self.kind]


CONTINUOUS_INTERVAL_S = 1.0  # Spark's default checkpoint interval for Trigger.Continuous()


def _continuous(trigger) -> float | None:
    """The checkpoint interval of a continuous trigger in seconds, or None if ``trigger`` is not one.

    >>> _continuous("continuous 250 milliseconds"), _continuous("2 seconds")
    (0.25, None)
    """
    if isinstance(trigger, tuple) and len(trigger) == 2 and str(trigger[0]).lower() == "continuous":
        interval = trigger[1]
    elif isinstance(trigger, str) and trigger.lower().split(" ", 1)[0] == "continuous":
        interval = trigger[len("continuous"):].strip() or None
    else:
        return None
    if interval is None:
        return CONTINUOUS_INTERVAL_S
    try:
        seconds = parse_interval(_unquoted(interval) if isinstance(interval, str) else interval).total_seconds()
    except (ValueError, TypeError):
        seconds = -1.0
    if seconds <= 0:
        raise ValueError(f"continuous trigger {trigger!r}: the checkpoint interval must be a positive interval "
                         "such as '1 second' (as Spark's Trigger.Continuous), e.g. 'continuous 1 second'")
    return seconds


def _is_interval(text: str) -> bool:
    try:
        return parse_interval(text.strip()).total_seconds() >= 0
    except (ValueError, TypeError):
        return False


def _unquoted(text: str) -> str:
    """``text`` without surrounding whitespace and one pair of matching quotes.

    >>> _unquoted('"2 seconds" ')
    '2 seconds'
    """
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()
    return text
