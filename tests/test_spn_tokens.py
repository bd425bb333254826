"""Tests of the SPAN reader's token path (spanlike.spn._tokens) and its word-wise number parsers.

References: the slow twin (an ElementTree walk per family, ``read_slow``) on the
fixtures of tests/data/spn and on the Takasbank file, compared bit for bit
(the model's ``==`` treats -0.0 and 0.0 alike, so float arrays are also compared
as int64 bit patterns); Python's ``float()`` and ``int()`` for the number parsers.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spanlike.spn.reading import driver, records, token_path
from spanlike.spn.reading.archives import _open_source
from spanlike.errors import InputFileError
from spanlike.spn import read_spn
from spanlike.spn._fastparse import WORD_PAD, decimal_spans, integer_spans, word_view
from spanlike.spn._tokens import TagSet

DATA = Path(__file__).resolve().parent / "data" / "spn"
TAKASBANK = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "takasbank-20160517.spn"
needs_takasbank = pytest.mark.skipif(not TAKASBANK.exists(), reason=f"the Takasbank SPAN file is not at {TAKASBANK}")
FIXTURES = ["futures.spn", "options.spn", "ccdef.spn", "extra_element.spn", "margin_book.spn"]


def read_slow(path: Path) -> Any:
    """The slow twin: an ElementTree walk for every family."""
    return read_spn(path, parser="slow")


def read_regex(path: Path) -> Any:
    """The regex path: no token path (the slow twin where the regex path does not model a family)."""
    return read_spn(path, parser="regex")


def token_results(path: Path) -> list[bool]:
    """Whether the token path read each group of runs it was given."""
    original = token_path._read_tokens
    seen: list[bool] = []

    def spy(*args: Any) -> Any:
        got = original(*args)
        seen.append(got is not None)
        return got

    token_path._read_tokens = spy
    try:
        read_spn(path)
    finally:
        token_path._read_tokens = original
    return seen


def float_bits(span: Any) -> list[tuple[str, bytes]]:
    """Every float array of every family's contracts, as raw bytes (so -0.0 != 0.0)."""
    out = []
    for family in span.families:
        for name, value in vars(family.contracts).items():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                out.append((f"{family.product_id}.{name}", value.tobytes()))
    return out


def assert_same(fast: Any, slow: Any) -> None:
    assert fast == slow
    assert fast.skipped == slow.skipped
    assert float_bits(fast) == float_bits(slow)


def outcome(read: Callable[[Path], Any], path: Path) -> Any:
    try:
        return read(path)
    except InputFileError as exc:
        return str(exc)


# ---------------------------------------------------------------------------
# The token path reads the real file and the fixtures, equal to the twins
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURES)
def test_token_path_reads_fixture_runs_equal_to_slow_twin(name: str) -> None:
    seen = token_results(DATA / name)
    if name == "extra_element.spn":  # an unmodelled <alias> in a <fut>: its run is refused
        assert False in seen
    elif name != "ccdef.spn":  # (no families there)
        assert seen and all(seen)
    assert_same(read_spn(DATA / name), read_slow(DATA / name))


@pytest.mark.parametrize("name", FIXTURES)
def test_regex_path_equals_slow_twin(name: str) -> None:
    assert_same(read_regex(DATA / name), read_slow(DATA / name))


@needs_takasbank
def test_takasbank_token_path_equals_both_twins_bit_for_bit() -> None:
    seen = token_results(TAKASBANK)
    assert seen == [True]  # options, futures and physicals: all by one token pass
    fast = read_spn(TAKASBANK)
    assert_same(fast, read_slow(TAKASBANK))
    assert_same(read_regex(TAKASBANK), fast)


@needs_takasbank
def test_takasbank_in_small_batches_equals_one_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Family batches flushed every few records (many token runs) read the same."""
    whole = read_spn(TAKASBANK)
    monkeypatch.setattr(driver, "_BATCH_BYTES", 20_000)
    assert_same(read_spn(TAKASBANK), whole)


# Each edit takes a run out of the modelled form (or keeps it in, with numbers float() must read);
# whatever path reads it, the result (or the error) is the slow twin's.
_EDITS = [
    ("options.spn", b"<opt><cId>101</cId>", b'<opt id="x"><cId>101</cId>'),  # attribute
    ("options.spn", b"<o>P</o>", b"<o>P</o><!-- c -->"),  # comment inside a record
    ("options.spn", b"<pq>0</pq><d>0.000000</d><v>0.270000</v>", b"<pq/><d>0.000000</d><v>0.270000</v>"),  # <x/>
    ("options.spn", b"<o>P</o>", b"<o>P</o><note>n</note>"),  # unknown child: noted in skipped
    ("options.spn", b"<o>P</o><k>95.0</k>", b"<k>95.0</k><o>P</o>"),  # children out of order
    ("options.spn", b"<pq>0</pq><d>0.000000</d><v>0.270000</v>", b"<pq>a&amp;b</pq><d>0.000000</d><v>0.270000</v>"),
    ("options.spn", b"<pq>0</pq><d>0.000000</d><v>0.270000</v>", b"<pq>x\r\ny</pq><d>0.000000</d><v>0.270000</v>"),
    ("options.spn", b"<pq>0</pq><d>0.000000</d><v>0.270000</v>", b"<pq>a>b</pq><d>0.000000</d><v>0.270000</v>"),
    ("options.spn", b"<k>95.0</k><p>1.10</p>", b"<k> 95 </k><p>1e1</p>"),  # float() reads these
    ("options.spn", b"<k>95.0</k><p>1.10</p>", b"<k>95.0</k><p></p>"),  # empty number: an error
    ("options.spn", b"<k>95.0</k><p>1.10</p>", b"<k>95.0</k><p>1.1O</p>"),  # bad number: an error
    ("options.spn", b"<o>P</o>", b"<o>X</o>"),  # not C or P: an error
    ("options.spn", b"<cId>101</cId>", b"<cId>+0101</cId>"),  # int() reads it
    ("options.spn", b"<a>12.5</a><a>10.25</a>", b"<a>12.5</a>"),  # fewer values than scan points: an error
    ("options.spn", b"<a>-35.123456</a>", b"<a>-0.000000</a>"),  # negative zero kept
    ("options.spn", b"<a>-35.123456</a>", b"<a>123456789.123456789</a>"),  # beyond the word-wise parse
    ("options.spn", b"</opt>\n<opt><cId>101", b"</opt>\nx\n<opt><cId>101"),  # text between records
    ("options.spn", b"<ra><r>1</r><a>12.5</a>", b"<ra><r>1</r><r>2</r><a>12.5</a>"),
    ("futures.spn", b"<setlDate>20240315</setlDate>", b""),  # another form (optional child missing)
    ("futures.spn", b"<undC><exch>TX</exch>", b"<undC><exch>T\rX</exch>"),
    ("futures.spn", b"<priceScan>150.000000</priceScan>", b"<priceScanPct>0.5</priceScanPct>"),
    ("futures.spn", b"<priceScan>150.000000</priceScan>", b"<priceScan>150.000000</priceScan><priceScan>7</priceScan>"),
    ("futures.spn", b"<fut><cId>10</cId>", b"<fut>\n\t  <cId>10</cId>"),  # indentation
    ("futures.spn", b"<fut><cId>10</cId>", b"<fut>" + b" " * 200 + b"<cId>10</cId>"),  # a long gap
    ("options.spn", b"<name>Index options</name>", b"<name>Index options</name><!-- <series> -->"),  # a tag in a comment
    ("options.spn", b"<name>Index options</name>", b"<name>Index options</name><![CDATA[<series>]]>"),
]


@pytest.mark.parametrize(("name", "old", "new"), _EDITS)
def test_runs_outside_the_model_read_as_the_slow_twin(tmp_path: Path, name: str, old: bytes, new: bytes) -> None:
    text = (DATA / name).read_bytes()
    assert old in text
    path = tmp_path / name
    path.write_bytes(text.replace(old, new, 1))
    fast, slow = outcome(read_spn, path), outcome(read_slow, path)
    if isinstance(slow, str):
        assert fast == slow
    else:
        assert_same(fast, slow)
        assert_same(outcome(read_regex, path), slow)


@pytest.mark.parametrize("name", ["futures.spn", "options.spn"])
def test_families_without_risk_arrays_are_as_wide_as_the_scan_points(tmp_path: Path, name: str) -> None:
    """No contract with an <ra>: NaN arrays as wide as the file's pointDef (4 here), on every path."""
    text = re.sub(rb"<ra>.*?</ra>", b"", (DATA / name).read_bytes(), flags=re.S)
    path = tmp_path / name
    path.write_bytes(text)
    fast, slow = read_spn(path), read_slow(path)
    assert_same(fast, slow)
    assert_same(read_regex(path), slow)
    arrays = [f.contracts.risk_array for f in slow.families if len(f.contracts.contract_id)]
    assert arrays and all(a.shape[1] == 4 and np.isnan(a).all() for a in arrays)


def test_a_long_element_name_is_told_from_its_prefix(tmp_path: Path) -> None:
    """priceScan and priceScanPct share their first word; the second word tells them apart."""
    text = (DATA / "futures.spn").read_bytes()
    path = tmp_path / "f.spn"
    path.write_bytes(text.replace(b"<priceScan>150.000000</priceScan>", b"<priceScanPct>0.25</priceScanPct>", 1))
    assert all(token_results(path))
    scan = read_spn(path).families[1].contracts.scan_rates[0][0]
    assert (scan.price_scan, scan.price_scan_pct) == (None, 0.25)


# ---------------------------------------------------------------------------
# Tags
# ---------------------------------------------------------------------------


def _codes(tags: TagSet, text: bytes) -> list[int] | None:
    data = b"\0" * WORD_PAD + text + b"<" + b"\0" * WORD_PAD
    u = np.frombuffer(data, dtype=np.uint8)
    lt = np.flatnonzero(u == 60)[:-1]
    got = tags.codes(word_view(data), lt)
    return None if got is None else got.tolist()


def test_tag_codes_are_exact() -> None:
    tags = TagSet(["a", "abc", "priceScan", "priceScanPct", "volScanPct"], leaves=["a"])
    a, abc, ps, psp, vsp = (tags.code[n] for n in ("a", "abc", "priceScan", "priceScanPct", "volScanPct"))
    text = b"<a>1</a><abc><priceScan>2</priceScan><priceScanPct>3</priceScanPct><volScanPct>4</volScanPct></abc>"
    assert _codes(tags, text) == [a, a + 1, abc, ps, ps + 1, psp, psp + 1, vsp, vsp + 1, abc + 1]
    for bad in (b"<ab>", b"<abcd>", b"<a >", b'<a x="1">', b"<a/>", b"<!-- a -->", b"<priceScanP>", b"<priceScanPctX>",
                b"<A>", b"</priceScanPc>", b"<?a?>", b"<volScanPc>"):
        assert _codes(tags, b"<a>1</a>" + bad) is None, bad


def test_tag_set_refuses_names_it_cannot_tell_apart() -> None:
    with pytest.raises(ValueError):
        TagSet(["a", "a"], leaves=[])
    with pytest.raises(ValueError):
        TagSet(["x" * 15], leaves=[])


# ---------------------------------------------------------------------------
# Word-wise number parsers against float() and int()
# ---------------------------------------------------------------------------


def _spans(texts: list[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The texts as element texts in a padded buffer, and their spans."""
    data = b"\0" * WORD_PAD + b"".join(b"<x>" + t + b"</x>" for t in texts) + b"<" + b"\0" * WORD_PAD
    starts, at = [], WORD_PAD
    for t in texts:
        starts.append(at + 3)
        at += len(t) + 7
    s = np.array(starts, dtype=np.int64)
    return np.frombuffer(data, dtype=np.uint8), word_view(data), s, s + np.array([len(t) for t in texts], dtype=np.int64)


_decimal = st.builds(
    lambda sign, whole, frac: f"{sign}{whole}.{frac}".encode(),
    st.sampled_from(["", "-"]),
    st.from_regex(r"\A[0-9]{1,10}\Z"),
    st.from_regex(r"\A[0-9]{1,10}\Z"),
)


def _strict(text: bytes) -> bool:
    whole, frac = text.lstrip(b"-").split(b".")
    return len(whole) <= 8 and len(frac) <= 7


@settings(max_examples=300, deadline=None)
@given(st.lists(_decimal, min_size=1, max_size=60), st.integers(0, 9))
def test_decimal_spans_equal_float(texts: list[bytes], guess: int) -> None:
    """Reference: float() of each text, bit for bit; spans outside -?d{1,8}.d{1,7} are refused."""
    u, words, starts, ends = _spans(texts)
    values, ok = decimal_spans(u, words, starts, ends, guess if guess else None)
    assert ok.tolist() == [_strict(t) for t in texts]
    expected = np.array([float(t) for t in texts])
    assert values[ok].view(np.int64).tolist() == expected[ok].view(np.int64).tolist()


@pytest.mark.parametrize("text", [
    b"1.5 ", b" 1.5", b"1e5", b"1.5e3", b"1.", b".5", b"--1.5", b"+1.5", b"1.5-", b"1.2.3", b"", b"-", b".",
    b"1_0.5", b"nan", b"inf", b"1,5", b"123456789.5", b"1.123456789", b"\xb1.5", b"1.\xb5", b"12", b"-12", b"1.5\n",
    b"9007199254.740993", b"-.5", b"0x1.8", b"1.12345678",
])
def test_decimal_spans_refuse_what_is_not_strict(text: bytes) -> None:
    u, words, starts, ends = _spans([b"1.25", text, b"-0.5"])
    values, ok = decimal_spans(u, words, starts, ends)
    assert ok.tolist() == [True, False, True]
    assert values[0] == 1.25 and values[2] == -0.5


def test_decimal_spans_keep_negative_zero_and_mixed_decimals() -> None:
    texts = [b"-0.000000", b"0.239129", b"-29.760841", b"163.00", b"6.0", b"9999999.9999999", b"-12345678.1"]
    u, words, starts, ends = _spans(texts)
    values, ok = decimal_spans(u, words, starts, ends, np.array([6, 6, 6, 2, 1, 7, 1]))
    assert ok.all()
    assert values.view(np.int64).tolist() == np.array([float(t) for t in texts]).view(np.int64).tolist()
    assert math.copysign(1.0, values[0]) == -1.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.from_regex(rb"\A[0-9+\- ]{0,10}\Z"), min_size=1, max_size=40))
def test_integer_spans_equal_int(texts: list[bytes]) -> None:
    """Reference: int() of each text; only 1 to 8 plain digits are read word-wise."""
    u, words, starts, ends = _spans(texts)
    values, ok = integer_spans(u, words, starts, ends)
    assert ok.tolist() == [1 <= len(t) <= 8 and t.isdigit() for t in texts]
    assert values[ok].tolist() == [int(t) for t, good in zip(texts, ok) if good]


# ---------------------------------------------------------------------------
# The lazy pass: expat after the scanner, without the runs the token path checked
# ---------------------------------------------------------------------------


def passes(path: Path) -> tuple[list[bool], Any]:
    """Which passes read ``path`` (True: lazy, False: strict), and the outcome."""
    seen: list[bool] = []
    original = driver._Reader

    class Spy(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, lazy: bool = False, **kwargs: Any) -> None:
            seen.append(lazy)
            super().__init__(*args, lazy=lazy, **kwargs)

    driver._Reader = Spy
    try:
        return seen, outcome(read_spn, path)
    finally:
        driver._Reader = original


def read_strict(path: Path) -> Any:
    """The strict pass alone: expat validates every chunk before it is scanned."""
    stream, total, consumed = _open_source(path)
    try:
        return driver._Reader(str(path), stream, total, consumed, None, lazy=False).run()
    finally:
        stream.close()


@pytest.mark.parametrize("name", FIXTURES)
def test_lazy_pass_reads_valid_fixtures_alone_equal_to_strict_pass(name: str) -> None:
    seen, got = passes(DATA / name)
    assert seen == [True]
    assert_same(got, read_strict(DATA / name))


@needs_takasbank
def test_takasbank_lazy_pass_skips_the_checked_runs() -> None:
    original = driver._Lazy.finish
    sent: list[int] = []

    def spy(self: Any, *args: Any) -> None:
        original(self, *args)
        sent.append(self.sent)

    driver._Lazy.finish = spy  # type: ignore[method-assign]
    try:
        seen, got = passes(TAKASBANK)
    finally:
        driver._Lazy.finish = original  # type: ignore[method-assign]
    assert seen == [True]
    assert sent[0] < 0.1 * TAKASBANK.stat().st_size  # expat reads the rest: family headers, series heads
    assert_same(got, read_strict(TAKASBANK))


# Malformed content inside a run the token path would read: expat must still find it, and the
# error (line and element path) is the strict pass's.
_MALFORMED = [
    (b"<pq>0</pq><d>0.000000</d><v>0.270000</v>", b"<pq>\x01</pq><d>0.000000</d><v>0.270000</v>"),
    (b"<pq>0</pq><d>0.000000</d><v>0.270000</v>", b"<pq>]]></pq><d>0.000000</d><v>0.270000</v>"),
    (b"<pq>0</pq><d>0.000000</d><v>0.270000</v>", b"<pq>\xe9</pq><d>0.000000</d><v>0.270000</v>"),  # not UTF-8
    (b"<o>P</o>", b"<o>P</o \x0b>"),
    (b"<a>12.5</a>", b"<a>1\x0c2.5</a>"),
    (b"</opt>\n<opt><cId>101", b"</opt>\n\x0c<opt><cId>101"),
    (b"<o>P</o>", b"<o>P</p>"),
]


@pytest.mark.parametrize(("old", "new"), _MALFORMED)
def test_malformed_runs_fail_as_in_the_strict_pass(tmp_path: Path, old: bytes, new: bytes) -> None:
    text = (DATA / "options.spn").read_bytes()
    assert old in text
    path = tmp_path / "bad.spn"
    path.write_bytes(text.replace(old, new, 1))
    seen, got = passes(path)
    assert seen == [True, False]
    strict = outcome(read_strict, path)
    assert isinstance(strict, str) and got == strict
    first_change = next(k for k, (a, b) in enumerate(zip(old, new)) if a != b)
    line = text[:text.index(old) + first_change].count(b"\n") + 1
    assert f"line {line}, element spanFile/pointInTime/clearingOrg/exchange/oopPf/series" in got


def test_a_document_with_the_placeholder_instruction_is_read_by_the_strict_pass(tmp_path: Path) -> None:
    text = (DATA / "options.spn").read_bytes()
    path = tmp_path / "pi.spn"
    path.write_bytes(text.replace(b"<exchange>", b"<?spanlike-run?><exchange>", 1))
    seen, got = passes(path)
    assert seen == [True, False]
    assert_same(got, read_slow(DATA / "options.spn"))


def test_lazy_expat_refuses_a_run_outside_element_content() -> None:
    """The placeholder's instruction must be reported where it was put (not inside a comment)."""
    doc = b'<?xml version="1.0"?><r><!-- <x>skipped</x> --><x>kept</x></r>'
    for skip, ok in ((doc.index(b"<x>kept"), True), (doc.index(b"<x>skipped"), False)):
        lazy = driver._Lazy(driver.expat.ParserCreate())
        lazy.skip([(skip, skip + len(b"<x>kept</x>"))])
        if ok:
            lazy.finish(doc, 0)
        else:
            with pytest.raises(driver._LazyFailed):
                lazy.finish(doc, 0)


@pytest.mark.parametrize("name", ["billion_laughs.spn", "external_entity.spn"])
def test_lazy_pass_refuses_the_document_type_before_any_record(name: str) -> None:
    calls: list[str] = []
    original = records._State.record

    def spy(self: Any, key: Any, tag: str, *args: Any) -> Any:
        calls.append(tag)
        return original(self, key, tag, *args)

    records._State.record = spy  # type: ignore[method-assign]
    try:
        seen, got = passes(DATA / name)
    finally:
        records._State.record = original  # type: ignore[method-assign]
    assert seen == [True, False] and "document type (DTD)" in got
    assert calls == []  # neither pass read a record: expat met the prolog first


# ---------------------------------------------------------------------------
# Small records of one container parsed by one ElementTree call
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ccdef.spn", "futures.spn", "options.spn"])
def test_records_parsed_together_read_as_one_at_a_time(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    together = read_spn(DATA / name)
    monkeypatch.setattr(driver, "_SMALL_BYTES", 0)  # each record parsed on its own
    alone = read_spn(DATA / name)
    assert together == alone and together.skipped == alone.skipped
    assert together.combined_commodities == alone.combined_commodities
    assert together.clearing_org.inter_spreads == alone.clearing_org.inter_spreads


@needs_takasbank
def test_takasbank_records_parsed_together_read_as_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    together = read_spn(TAKASBANK)
    monkeypatch.setattr(driver, "_SMALL_BYTES", 0)
    alone = read_spn(TAKASBANK)
    assert together == alone
    assert together.combined_commodities == alone.combined_commodities
    assert together.currencies == alone.currencies and together.clearing_org.point_defs == alone.clearing_org.point_defs


@pytest.mark.parametrize(("old", "new", "where"), [
    # the second ccDef and the inter-commodity spread after it: their own lines and paths
    (b"<cc>STK</cc><currency>USD</currency>", b"<cc>STK</cc><currency>USD</currency><riskExponent>x</riskExponent>",
     "element spanFile/pointInTime/clearingOrg/ccDef/riskExponent: 'x' is not an integer"),
    (b"<rs>B</rs><i>1.000000</i></tLeg>", b"<rs>B</rs><i>one</i></tLeg>",
     "element spanFile/pointInTime/clearingOrg/interSpreads/dSpread/tLeg/i: 'one' is not a number"),
])
def test_errors_in_records_parsed_together_name_their_line(tmp_path: Path, old: bytes, new: bytes, where: str) -> None:
    text = (DATA / "ccdef.spn").read_bytes()
    assert text.count(old) == 1
    path = tmp_path / "bad.spn"
    path.write_bytes(text.replace(old, new))
    line = text[:text.index(old)].count(b"\n") + 1
    with pytest.raises(InputFileError, match=rf"line {line}, {re.escape(where)}"):
        read_spn(path)


# Malformed content inside small records, which the lazy pass leaves to ElementTree's expat:
# the error is still the strict pass's, with its line and element path.
_MALFORMED_RECORDS = [
    (b"<cc>STK</cc><currency>USD</currency>", b"<cc>S\x01TK</cc><currency>USD</currency>"),
    (b"<cc>STK</cc><currency>USD</currency>", b"<cc>STK</cc><currency>USD</currenc>"),
    (b"<rs>B</rs><i>1.000000</i></tLeg>", b"<rs>B</rs><i>1.000000</i></tLeg x>"),
    (b"<rs>B</rs><i>1.000000</i></tLeg>", b"<rs>B</rs><i>&bad;</i></tLeg>"),
]


@pytest.mark.parametrize(("old", "new"), _MALFORMED_RECORDS)
def test_malformed_small_records_fail_as_in_the_strict_pass(tmp_path: Path, old: bytes, new: bytes) -> None:
    text = (DATA / "ccdef.spn").read_bytes()
    assert text.count(old) == 1
    path = tmp_path / "bad.spn"
    path.write_bytes(text.replace(old, new))
    seen, got = passes(path)
    assert seen == [True, False]
    strict = outcome(read_strict, path)
    assert isinstance(strict, str) and got == strict
    line = text[:text.index(old)].count(b"\n") + 1
    assert f"line {line}, element spanFile/pointInTime/clearingOrg/" in got
