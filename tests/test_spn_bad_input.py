"""Bad input to SPAN reading and writing: typed errors naming the file, the place, the value and the fix.

Each test builds its bad input from the fixtures in tests/data/spn (or a few
bytes written here) and checks the message a user sees; the fast paths and
the slow twin (``parser="slow"``) must agree on every refused number.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from spanlike.cli import main
from spanlike.errors import InputFileError
from spanlike.spn import read_spn
from spanlike.spn.portfolio import load_spn_portfolio

DATA = Path(__file__).resolve().parent / "data" / "spn"


def _edit(tmp_path: Path, name: str, old: bytes, new: bytes) -> Path:
    text = (DATA / name).read_bytes()
    assert old in text
    path = tmp_path / name
    path.write_bytes(text.replace(old, new, 1))
    return path


def _error(path: Path, **kwargs: object) -> str:
    with pytest.raises(InputFileError) as info:
        read_spn(path, **kwargs)  # type: ignore[arg-type]
    return str(info.value)


# --- archives ----------------------------------------------------------------------


def test_truncated_gzip_names_file_and_fault(tmp_path: Path) -> None:
    data = gzip.compress((DATA / "options.spn").read_bytes())
    path = tmp_path / "cut.spn.gz"
    path.write_bytes(data[: len(data) // 2])
    message = _error(path)
    assert "cut.spn.gz" in message and "damaged gzip archive" in message and "ends early" in message


def test_gzip_with_bad_crc(tmp_path: Path) -> None:
    data = bytearray(gzip.compress((DATA / "options.spn").read_bytes()))
    data[-8] ^= 0xFF  # the CRC-32 of the trailer
    path = tmp_path / "crc.spn.gz"
    path.write_bytes(bytes(data))
    assert "damaged gzip archive" in _error(path)


def test_gzip_with_corrupted_deflate_stream(tmp_path: Path) -> None:
    data = bytearray(gzip.compress((DATA / "options.spn").read_bytes()))
    for i in range(20, 60):
        data[i] ^= 0x5A
    path = tmp_path / "bad.spn.gz"
    path.write_bytes(bytes(data))
    assert "damaged gzip archive" in _error(path)


def _zip(path: Path, payload: bytes, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as archive:
        archive.writestr("a.spn", payload)
    path.write_bytes(buf.getvalue())
    return buf.getvalue()


def test_zip_with_bad_crc_and_lying_size(tmp_path: Path) -> None:
    payload = (DATA / "options.spn").read_bytes()
    path = tmp_path / "bad.zip"
    data = bytearray(_zip(path, payload, zipfile.ZIP_STORED))
    at = data.index(b"<spanFile>")
    data[at + 1] = ord("X")  # stored bytes changed: CRC mismatch
    path.write_bytes(bytes(data))
    assert "damaged zip archive" in _error(path)
    # declared (uncompressed) size in both headers smaller than the data: a typed error, no traceback
    data = bytearray(_zip(path, payload))
    size = len(payload).to_bytes(4, "little")
    path.write_bytes(bytes(data).replace(size, (len(payload) - 1000).to_bytes(4, "little")))
    assert "damaged zip archive" in _error(path)
    # larger: zipfile stops at the end of the deflate stream and the CRC holds, so the data read is whole
    path.write_bytes(bytes(data).replace(size, (len(payload) + 1000).to_bytes(4, "little")))
    assert read_spn(path) == read_spn(DATA / "options.spn")


def test_encrypted_zip_member_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "enc.zip"
    data = bytearray(_zip(path, (DATA / "options.spn").read_bytes()))
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):  # set the encryption flag in both headers
        at = data.index(sig)
        flag_at = at + (6 if sig == b"PK\x03\x04" else 8)
        data[flag_at] |= 0x1
    path.write_bytes(bytes(data))
    message = _error(path)
    assert "enc.zip" in message and "'a.spn' is encrypted" in message


def test_truncated_zip(tmp_path: Path) -> None:
    path = tmp_path / "cut.zip"
    data = _zip(path, (DATA / "options.spn").read_bytes())
    path.write_bytes(data[: len(data) - 30])
    assert "damaged zip archive" in _error(path)


def test_inflation_limits(tmp_path: Path) -> None:
    path = tmp_path / "bomb.spn.gz"
    path.write_bytes(gzip.compress(b"<spanFile>" + b" " * (24 << 20), compresslevel=1))  # 24 MiB from ~100 KB
    message = _error(path, max_text_bytes=1 << 30)  # (else the run of blanks is refused first)
    assert "max_inflation_ratio=200" in message and "bomb.spn.gz" in message
    small = tmp_path / "options.spn.gz"
    small.write_bytes(gzip.compress((DATA / "options.spn").read_bytes()))
    assert "max_inflated_bytes=1,000" in _error(small, max_inflated_bytes=1000)
    assert read_spn(small) == read_spn(DATA / "options.spn")
    zpath = tmp_path / "big.zip"
    _zip(zpath, (DATA / "options.spn").read_bytes())
    assert "declares" in _error(zpath, max_inflated_bytes=1000)


def test_long_text_or_attribute_is_refused_with_the_limit(tmp_path: Path) -> None:
    path = _edit(tmp_path, "options.spn", b"<exchange>", b'<exchange note="' + b"a" * 5000 + b'">')
    message = _error(path, max_text_bytes=1000)
    assert "longer than 1,000 bytes (max_text_bytes)" in message and "options.spn" in message
    big = _edit(tmp_path, "futures.spn", b"<spanFile>", b'<spanFile x="' + b"a" * (6 << 20) + b'">')
    assert "longer than 1,048,576 bytes" in _error(big)  # across chunks, before expat re-scans it


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.spn"
    os.mkfifo(fifo)
    assert "is not a regular file but a FIFO" in _error(fifo)
    link = tmp_path / "zero.spn"
    link.symlink_to("/dev/zero")
    assert "is not a regular file but a character device" in _error(link)
    assert "is not a regular file but a directory" in _error(tmp_path)
    assert "does not exist" in _error(tmp_path / "missing.spn")
    assert main(["spn", "info", str(fifo)]) == 2  # the CLI says the same, not "does not exist"


# --- values --------------------------------------------------------------------------

_NON_FINITE = [
    ("options.spn", b"<a>-35.123456</a>", b"<a>nan</a>", "opt/ra/a: risk array value 'nan' is not a finite number"),
    ("futures.spn", b"<numerator>1</numerator>", b"<numerator>inf</numerator>",
     "priceScanDef/numerator: 'inf' is not a finite number"),
    ("futures.spn", b"<mult>2</mult>", b"<mult>nan</mult>", "priceScanDef/mult: 'nan' is not a finite number"),
    ("options.spn", b"<k>95.0</k>", b"<k>1e999</k>", "series/opt/k: '1e999' is not a finite number"),
    ("futures.spn", b"<p>101.25</p>", b"<p>-inf</p>", "futPf/fut/p: '-inf' is not a finite number"),
]


@pytest.mark.parametrize(("name", "old", "new", "where"), _NON_FINITE)
def test_non_finite_numbers_are_refused_alike_by_every_path(
    tmp_path: Path, name: str, old: bytes, new: bytes, where: str
) -> None:
    path = _edit(tmp_path, name, old, new)
    messages = {_error(path, parser=parser) for parser in ("fast", "regex", "slow")}
    assert len(messages) == 1
    message = messages.pop()
    line = (DATA / name).read_bytes()[: (DATA / name).read_bytes().index(old)].count(b"\n") + 1
    assert f"line {line}, element spanFile/" in message and where in message


@pytest.mark.parametrize(("name", "old", "new", "where"), [
    ("futures.spn", b"<isSetl>1</isSetl>", b"<isSetl>maybe</isSetl>", "pointInTime/isSetl: 'maybe' is not a boolean"),
    ("futures.spn", b"<capAnov>0</capAnov>", b"<capAnov>no</capAnov>", "clearingOrg/capAnov: 'no' is not a boolean"),
    ("futures.spn", b"<date>20240102</date>", b"<date></date>", "pointInTime/date: the business date '' is not a date"),
    ("futures.spn", b"<date>20240102</date>", b"<date>20241302</date>", "'20241302' is not a calendar date"),
    ("futures.spn", b"<pe>202403</pe>", b"<pe></pe>", "futPf/fut/pe: period code '' is not a SPAN period"),
    ("futures.spn", b"<pe>202403</pe>", b"<pe>soon</pe>", "futPf/fut/pe: period code 'soon' is not a SPAN period"),
    ("futures.spn", b"<setlDate>20240315</setlDate>", b"<setlDate>x</setlDate>", "fut/setlDate: settlement date 'x'"),
    ("options.spn", b"<pe>202403</pe>", b"<pe>??</pe>", "oopPf/series/pe: period code '??'"),
])
def test_silent_readings_are_refused(tmp_path: Path, name: str, old: bytes, new: bytes, where: str) -> None:
    path = _edit(tmp_path, name, old, new)
    messages = {_error(path, parser=parser) for parser in ("fast", "slow")}
    assert len(messages) == 1
    message = messages.pop()
    line = (DATA / name).read_bytes()[: (DATA / name).read_bytes().index(old)].count(b"\n") + 1
    assert f"line {line}, element spanFile/" in message and where in message


def test_premium_style_option_without_val_is_refused(tmp_path: Path) -> None:
    text = (DATA / "options.spn").read_bytes()
    start = text.index(b"<opt>")
    val = text.index(b"<val>", start)
    path = tmp_path / "noval.spn"
    path.write_bytes(text[:val] + text[text.index(b"</val>", val) + len(b"</val>"):])
    for parser in ("fast", "slow"):
        message = _error(path, parser=parser)
        assert "series/opt: required element <val> is missing" in message and "premium-style" in message


def test_closer_inside_a_comment_gives_a_typed_error(tmp_path: Path) -> None:
    path = _edit(tmp_path, "futures.spn", b"<created>202401021800</created>",
                 b"<created>202401021800<!-- </created> --></created>")
    assert "element spanFile/created: not well-formed XML" in _error(path)


def test_unknown_parser_is_refused() -> None:
    with pytest.raises(ValueError, match="parser must be one of"):
        read_spn(DATA / "options.spn", parser="quick")  # type: ignore[arg-type]


# --- portfolio CSV -----------------------------------------------------------------------

_HEADER = "exchange,product,type,period,strike,put_call,quantity"


def test_portfolio_extra_column_non_utf8_and_huge_cell(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(_HEADER + ",note\nTX,IDX,FUT,202403,,,1,x\n")
    with pytest.raises(InputFileError, match=r"unknown column\(s\) 'note'"):
        load_spn_portfolio(path)
    path.write_bytes((_HEADER + "\nTX,ID\xe9X,FUT,202403,,,1\n").encode("latin-1"))
    with pytest.raises(InputFileError, match=r"p.csv, row 2: byte 0xe9 is not UTF-8"):
        load_spn_portfolio(path)
    path.write_text(_HEADER + "\nTX," + "A" * 140_000 + ",FUT,202403,,,1\n")
    with pytest.raises(InputFileError, match=r"p.csv, row 2: not a readable CSV row \(field larger than field limit"):
        load_spn_portfolio(path)


# --- CLI -------------------------------------------------------------------------------


def test_verify_json_is_one_strict_document(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["spn", "verify", str(DATA / "options.spn"), "--format", "json"])
    out = capsys.readouterr().out
    assert code in (0, 1)
    document = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert document["families"][0]["max_abs_error"] is None  # not computed: documented null


def test_write_refuses_hard_link_and_missing_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.spn"
    source.write_bytes((DATA / "futures.spn").read_bytes())
    link = tmp_path / "hard.spn"
    os.link(source, link)
    assert main(["spn", "write", str(source), str(link)]) == 2
    assert "hard link" in capsys.readouterr().err
    assert source.read_bytes() == (DATA / "futures.spn").read_bytes()
    assert main(["spn", "write", str(source), str(tmp_path / "nope" / "out.spn")]) == 2
    assert f"the directory {tmp_path / 'nope'} does not exist" in capsys.readouterr().err


def test_write_gz_is_reproducible(tmp_path: Path) -> None:
    span = read_spn(DATA / "options.spn")
    from spanlike.spn import write_spn

    a, b = tmp_path / "a.spn.gz", tmp_path / "sub" / "b.spn.gz"
    b.parent.mkdir()
    write_spn(span, a)
    os.utime(a, (0, 0))
    write_spn(span, b)
    assert a.read_bytes() == b.read_bytes()  # no time, no name in the header
    assert a.read_bytes()[4:8] == b"\0\0\0\0" and read_spn(a) == span


def test_paired_point_out_of_range_is_named(tmp_path: Path) -> None:
    """Found by fuzzing: a pairedPoint past the scan points gave an IndexError while margining."""
    from spanlike.spn import margin_file

    spn = tmp_path / "paired.spn"
    spn.write_text((DATA / "margin_book.spn").read_text().replace(
        "<pairedPoint>2</pairedPoint>", "<pairedPoint>999</pairedPoint>", 1))
    with pytest.raises(InputFileError, match=r"paired.spn.*scan point 1 of rate id 1 is paired with point 999"):
        margin_file(spn=spn, portfolio=DATA / "margin_book.csv")


def test_negative_spread_rate_is_named(tmp_path: Path) -> None:
    """Found by fuzzing: a negative rate margined at a negative intra-spread charge."""
    import re

    from spanlike.spn import margin_file

    text = (DATA / "margin_book.spn").read_text()
    m = re.search(r"(<dSpread>.*?<rate><r>1</r><val>)([0-9.]+)(</val>)", text, re.S)
    assert m is not None
    spn = tmp_path / "negative.spn"
    spn.write_text(text[:m.start(2)] + "-" + m.group(2) + text[m.end(2):])
    with pytest.raises(InputFileError, match=r"negative.spn.*must be >= 0"):
        margin_file(spn=spn, portfolio=DATA / "margin_book.csv")


def test_non_positive_adjustment_rate_is_named(tmp_path: Path) -> None:
    """Found by fuzzing: adjRate -0.75 margined at a negative maintenance margin."""
    from spanlike.spn import margin_file

    spn = tmp_path / "adj.spn"
    spn.write_text((DATA / "margin_book.spn").read_text().replace(
        "<adjRate><r>1</r><baseR>1</baseR><val>0.750000</val>", "<adjRate><r>1</r><baseR>1</baseR><val>-0.750000</val>", 1))
    with pytest.raises(InputFileError, match=r"adj.spn'?: combined commodity IDX, adjRate .* is -0.75; .* must be positive"):
        margin_file(spn=spn, portfolio=DATA / "margin_book.csv")


def test_integer_past_int64_is_named_by_every_path(tmp_path: Path) -> None:
    """Found by fuzzing: a 40-digit cId raised a bare OverflowError."""
    path = _edit(tmp_path, "options.spn", b"<opt><cId>100</cId>", b"<opt><cId>" + b"9" * 40 + b"</cId>")
    for parser in ("fast", "regex", "slow"):
        message = _error(path, parser=parser)
        assert "options.spn" in message and "cId" in message and "9" * 40 in message, (parser, message)
