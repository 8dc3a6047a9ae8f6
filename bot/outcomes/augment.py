"""Two-part statements made from the training statements, to hear two outcomes in one message.

People often say two things in one breath ("I rang about the pendant on Monday and it's Friday,
and I don't feel safe in the night"). Written training lines mostly carry one outcome, and a
model trained on them learns to hear only the loudest. :func:`two_part_statements` joins two
training lines of the same outcome set (a person's ids or a carer's) the way people join
clauses, labelled with both lines' ids; a few join an outcome line with a no-outcome line, so
small talk beside an outcome does not drown it. The same statements (same seed) go into the
encoder's fine-tuning and the extractor's regression; the neighbour vote does not use them.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from bot.outcomes.framework import CARER, ids_for_role

#: Two-part statements made, as a share of the training statements.
SHARE = 0.28
#: Share of two-part statements whose second half carries no outcome.
WITH_SMALL_TALK = 0.3
#: Lines longer than this are not joined (a joined line should still read as one message).
MAX_PART_CHARS = 160
SEED = 7
_JOINS = (". ", ". ", " and ", ", and ", "... ", " but ", ", ", ". Also ", "! ")
_LOWERED_AFTER = {" and ", ", and ", " but ", ", ", ". Also "}
_CARER_IDS = frozenset(ids_for_role(CARER))


def join_parts(first: str, second: str, joiner: str) -> str:
    """``first`` and ``second`` as one message, joined with ``joiner``."""
    first = first.rstrip(" .!?,")
    if joiner in _LOWERED_AFTER and not second.startswith(("I ", "I'", "I’")):
        second = second[:1].lower() + second[1:]
    return f"{first}{joiner}{second}"


def two_part_statements(statements: Sequence, share: float = SHARE, seed: int = SEED) -> list:
    """About ``share * len(statements)`` joined statements (of the same type as the input:
    anything with ``text`` and ``outcomes`` that can be built as ``type(s)(text, outcomes)``).

    A pair never mixes a person's ids with a carer's, never repeats an id, and carries at most
    two ids. Deterministic for a given input and ``seed``.
    """
    rng = random.Random(seed)
    short = [s for s in statements if len(s.text.strip()) <= MAX_PART_CHARS]
    pools: dict[bool, list] = {True: [], False: []}
    for s in short:
        if s.outcomes:
            pools[bool(set(s.outcomes) & _CARER_IDS)].append(s)
    small_talk = [s for s in short if not s.outcomes]
    wanted = round(share * len(statements))
    made: list = []
    for _ in range(wanted * 20):  # bounded: a tiny or one-sided set may not pair often
        if len(made) >= wanted:
            break
        pool = pools[rng.random() < len(pools[True]) / max(1, len(short) - len(small_talk))]
        if not pool:
            continue
        first = rng.choice(pool)
        if small_talk and rng.random() < WITH_SMALL_TALK:
            second = rng.choice(small_talk)
        else:
            second = rng.choice(pool)
            if set(first.outcomes) & set(second.outcomes):
                continue
        ids = tuple(dict.fromkeys((*first.outcomes, *second.outcomes)))
        if len(ids) > 2:
            continue
        if rng.random() < 0.5:
            first, second = second, first
        text = join_parts(first.text.strip(), second.text.strip(), rng.choice(_JOINS))
        made.append(type(first)(text, ids))
    return made
