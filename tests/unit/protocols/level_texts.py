"""What a venue could send as a book level's decimal texts, for the properties that check
a fast way of reading levels against reading them field by field."""

from __future__ import annotations

from hypothesis import strategies as st

from protocols.venue import BookLevel

decimal_texts = st.one_of(
    st.from_regex(r"-?[0-9]{1,22}(\.[0-9]{0,22})?([eE][-+]?[0-9]{1,3})?", fullmatch=True),
    st.floats().map(repr),
    st.sampled_from(
        ["", " 1.5", "1_000", "+2", ".5", "5.", "nan", "-inf", "Infinity", "-0", "1e400"]
    ),
    # What a text could hold to change the array or the object the levels' texts make.
    st.text(alphabet="0123456789.-+eE ,x[]", max_size=10),
)


def comparable(levels: tuple[BookLevel, ...]) -> list[tuple[object, object]]:
    """``levels`` as values that compare equal when read alike (NaN included)."""
    return [
        (lv.price if lv.price == lv.price else "nan", lv.qty if lv.qty == lv.qty else "nan")
        for lv in levels
    ]
