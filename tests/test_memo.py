"""The bounded memo (udfs.memo)."""

from __future__ import annotations

import pytest

from udfs.memo import Memo


def test_keep_returns_the_value_and_empties_a_full_memo() -> None:
    m = Memo(2)
    assert m.keep("a", 1) == 1 and m.keep("b", 2) == 2 and m.get("a") == 1
    assert m.keep("c", 3) == 3  # full: emptied first
    assert dict(m) == {"c": 3}
    m.keep("c", 4)  # not full: the key is replaced
    assert dict(m) == {"c": 4}


def test_a_memo_needs_room() -> None:
    with pytest.raises(ValueError):
        Memo(0)
