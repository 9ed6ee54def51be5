"""The API source's content hash, made fast without changing a stored hash: the orjson path
of ``canonical_json`` against the standard ``json.dumps`` every stored hash was made with (a
second implementation as the oracle), on generated records and on DummyJSON's real ones.
No server.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.ecommerce_api import canonical_json, content_hash
from ingestion.ecommerce_api.http import NonFinite, _parse

DUMMYJSON = Path(__file__).parents[2] / "shared" / "data" / "dummyjson"


def reference(record: Any) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), default=str).encode()


# what a page's JSON can hold once parsed (_parse): every float, NaN and the infinities as
# NonFinite, integers of any size, any text (control characters, DEL, astral planes, lone
# surrogates from an escaped \ud800)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(min_value=-1e-3, max_value=1e-3)
    | st.floats(min_value=1e-12, max_value=1e-4)  # where orjson and repr() part
    | st.floats(min_value=-1e-4, max_value=-1e-12)
    | st.sampled_from(["NaN", "Infinity", "-Infinity"]).map(NonFinite)
    | st.text()
    | st.text(alphabet=st.characters(max_codepoint=0x7F))
    | st.sampled_from(["\ud800", "caf\u00e9", "\x7f", "0.00001", "1e-7", "\U0001f600", "\x00"])
)
_json = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=5)
    ),
    max_leaves=25,
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.text(max_size=8), _json, max_size=8))
def test_the_fast_canonical_json_writes_the_reference_bytes(record: dict[str, Any]) -> None:
    assert canonical_json(record) == reference(record)


def test_non_finite_numbers_from_a_page_keep_their_reference_form() -> None:
    record = _parse(b'{"a": NaN, "b": Infinity, "c": -Infinity, "d": 1}')
    assert isinstance(record["a"], NonFinite) and math.isnan(record["a"])
    assert canonical_json(record) == b'{"a":NaN,"b":Infinity,"c":-Infinity,"d":1}'
    assert canonical_json(record) == reference(
        json.loads(b'{"a": NaN, "b": Infinity, "c": -Infinity, "d": 1}')
    )


@pytest.mark.parametrize("resource", ["products", "users", "carts"])
def test_dummyjson_records_keep_every_hash_and_take_the_fast_path(
    resource: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DummyJSON's real records (../shared/data): the hash each had before, and none of
    them needs the reference writer (which would make the change pointless)."""
    records = json.loads((DUMMYJSON / f"{resource}.json").read_text())
    assert len(records) >= 50
    before = [reference(r) for r in records]
    import ingestion.ecommerce_api as api

    slow: list[Any] = []
    real_dumps = json.dumps

    def counted(*args: Any, **kwargs: Any) -> str:
        slow.append(args[0])
        return real_dumps(*args, **kwargs)

    monkeypatch.setattr(api.json, "dumps", counted)
    after = [canonical_json(r) for r in records]
    assert after == before
    fallback = [r.get("id") for r in slow]
    assert len(fallback) <= len(records) // 20, (
        f"{len(fallback)} records took the slow path: {fallback[:10]}"
    )


def test_the_fast_path_is_faster_on_real_records() -> None:
    records = json.loads((DUMMYJSON / "products.json").read_text()) * 20
    timings = {}
    for name, fn in (("reference", reference), ("fast", canonical_json)):
        best = math.inf
        for _ in range(3):
            started = time.perf_counter()
            for r in records:
                fn(r)
            best = min(best, time.perf_counter() - started)
        timings[name] = best
    assert timings["fast"] < timings["reference"] / 2, timings
    # and the hash a record gets is the one it had
    record = dict(records[0])
    assert (
        content_hash(dict(record))["_content_hash"]
        == content_hash(json.loads(json.dumps(record)))["_content_hash"]
    )
