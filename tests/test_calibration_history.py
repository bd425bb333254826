"""History loading: the three layouts, alignment with counted drops, every malformed-file error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spanlike.calibration.history import (
    PriceHistory,
    combine_histories,
    load_history,
    load_implied_vol_history,
    underlying_from_filename,
)
from spanlike.errors import InputFileError, InvalidInputError

DATA = Path(__file__).parent / "data" / "history"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "history"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


YAHOO_HEAD = "Date,Open,High,Low,Close,Adj Close,Volume\n"


def test_yahoo_file_name_gives_the_underlying() -> None:
    assert underlying_from_filename("BTC-USD.csv") == "BTC"
    assert underlying_from_filename("/x/eth_usdt.csv") == "ETH"
    assert underlying_from_filename("SOL.csv") == "SOL"
    with pytest.raises(InvalidInputError, match="Pass it explicitly"):
        underlying_from_filename("my btc prices.csv")


def test_yahoo_files_are_intersected_and_drops_counted() -> None:
    h = load_history([DATA / "BTC-USD.csv", DATA / "ETH-USD.csv"])
    assert h.names == ("BTC", "ETH")
    # common days: 01-01, 01-02, 01-04, 01-05, 01-06 (ETH lacks 01-03, BTC lacks 12-31)
    assert [str(t)[:10] for t in h.timestamps] == ["2024-01-01", "2024-01-02", "2024-01-04", "2024-01-05", "2024-01-06"]
    assert h.timestamps.dtype == np.dtype("datetime64[s]")
    assert dict(h.dropped_rows) == {"BTC": 1, "ETH": 1}
    assert any("BTC: 1 of 6 rows" in n and "2024-01-03" in n for n in h.notes)
    assert any("ETH: 1 of 6 rows" in n and "2023-12-31" in n for n in h.notes)
    assert any("gap" in n for n in h.notes), "the missing 01-03 must be reported as a gap"
    np.testing.assert_array_equal(h.column("BTC"), [44167.33, 44957.97, 44179.92, 44162.69, 43989.20])
    assert not h.closes.flags.writeable
    assert not h.is_intraday and h.bar_seconds == 86400


def test_yahoo_file_with_explicit_underlying() -> None:
    h = load_history(DATA / "BTC-USD.csv", underlyings=["XBT"])
    assert h.names == ("XBT",) and h.n_rows == 6 and h.dropped_rows == (("XBT", 0),)
    # The only note says which column was read (issue 15: say which when several are present).
    assert len(h.notes) == 1 and "column 'Close'" in h.notes[0] and "Adj Close" in h.notes[0]
    with pytest.raises(InvalidInputError, match="exactly one"):
        load_history(DATA / "BTC-USD.csv", underlyings=["A", "B"])
    with pytest.raises(InvalidInputError, match="one name per file"):
        load_history([DATA / "BTC-USD.csv", DATA / "ETH-USD.csv"], underlyings=["A"])


def test_wide_file_blank_cell_is_no_observation_and_is_reported() -> None:
    h = load_history(DATA / "wide.csv")
    assert h.names == ("BTC", "ETH", "SOL")
    assert h.n_rows == 4  # 2024-01-01 has no SOL
    assert dict(h.dropped_rows) == {"BTC": 1, "ETH": 1, "SOL": 0}
    assert any("SOL: 1 empty cell" in n for n in h.notes)
    sub = load_history(DATA / "wide.csv", underlyings=["ETH", "BTC"])
    assert sub.names == ("ETH", "BTC") and sub.n_rows == 5 and sub.notes == ()
    with pytest.raises(InvalidInputError, match=r"no column\(s\) \['DOGE'\]"):
        load_history(DATA / "wide.csv", underlyings=["DOGE"])


def test_intraday_bars_with_offsets_are_utc() -> None:
    h = load_history(DATA / "intraday.csv")
    hours = (h.timestamps - np.datetime64("2024-05-01T00:00:00")).astype(int) // 3600
    np.testing.assert_array_equal(hours, [0, 1, 2, 3, 4, 5])  # +02:00 06:00 is 04:00 UTC
    assert h.is_intraday and h.bar_seconds == 3600
    assert h.date_range() == "2024-05-01T00:00:00Z..2024-05-01T05:00:00Z"


def test_duplicate_timestamp_names_both_lines(tmp_path: Path) -> None:
    p = _write(tmp_path, "BTC-USD.csv", YAHOO_HEAD + "2024-01-01,1,1,1,10,10,0\n2024-01-02,1,1,1,11,11,0\n2024-01-02,1,1,1,12,12,0\n")
    with pytest.raises(InputFileError, match=r"BTC-USD.csv line 4, column 'Date': duplicate timestamp 2024-01-02T00:00:00 \(already at line 3\)"):
        load_history(p)


def test_decreasing_timestamp_is_an_error(tmp_path: Path) -> None:
    p = _write(tmp_path, "w.csv", "timestamp,BTC\n2024-01-02,10\n2024-01-01,11\n")
    with pytest.raises(InputFileError, match="line 3.*earlier than.*line 2.*sort the file"):
        load_history(p)


@pytest.mark.parametrize("bad", ["-5", "0", "nan", "inf", "null", "abc"])
def test_non_positive_or_non_numeric_close_names_line_column_value(tmp_path: Path, bad: str) -> None:
    p = _write(tmp_path, "ETH-USD.csv", YAHOO_HEAD + f"2024-01-01,1,1,1,10,10,0\n2024-01-02,1,1,1,{bad},{bad},0\n")
    with pytest.raises(InputFileError, match=rf"ETH-USD.csv line 3, column 'Close': '{bad}' is not a positive finite close price"):
        load_history(p)


def test_empty_close_in_yahoo_layout_is_an_error_not_a_gap(tmp_path: Path) -> None:
    p = _write(tmp_path, "BTC-USD.csv", YAHOO_HEAD + "2024-01-01,1,1,1,10,10,0\n2024-01-02,1,1,1,,,0\n")
    with pytest.raises(InputFileError, match="line 3, column 'Close': ''"):
        load_history(p)


def test_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="does not exist"):
        load_history(tmp_path / "nope.csv")
    p = _write(tmp_path, "x.csv", "when,BTC\n2024-01-01,1\n")
    with pytest.raises(InputFileError, match="line 1: unrecognised header"):
        load_history(p)
    p = _write(tmp_path, "y.csv", "timestamp,BTC\n2024-01-01,1,2\n")
    with pytest.raises(InputFileError, match="line 2: 3 fields, but the header has 2"):
        load_history(p)
    p = _write(tmp_path, "z.csv", "timestamp,BTC\n01/02/2024,1\n")
    with pytest.raises(InputFileError, match=r"line 2, column 'timestamp': '01/02/2024' is not an ISO 8601"):
        load_history(p)
    p = _write(tmp_path, "e.csv", "timestamp,BTC\n")
    with pytest.raises(InputFileError, match="no data rows"):
        load_history(p)


def test_series_without_common_timestamps(tmp_path: Path) -> None:
    a = _write(tmp_path, "A-USD.csv", YAHOO_HEAD + "2024-01-01,1,1,1,10,10,0\n")
    b = _write(tmp_path, "B-USD.csv", YAHOO_HEAD + "2024-02-01,1,1,1,10,10,0\n")
    with pytest.raises(InvalidInputError, match="share no timestamp"):
        load_history([a, b])


def test_price_history_validates_its_arrays() -> None:
    ts = np.array(["2024-01-01", "2024-01-01"], dtype="datetime64[s]")
    with pytest.raises(InvalidInputError, match="strictly increasing"):
        PriceHistory(timestamps=ts, closes=[[1.0], [2.0]], names=("BTC",))
    ts = np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[s]")
    with pytest.raises(InvalidInputError, match="BTC at row 1.*-2.0"):
        PriceHistory(timestamps=ts, closes=[[1.0], [-2.0]], names=("BTC",))


def test_combine_histories_adds_drops() -> None:
    btc = load_history(DATA / "BTC-USD.csv")
    eth = load_history(DATA / "ETH-USD.csv")
    both = combine_histories([btc, eth])
    assert both.names == ("BTC", "ETH") and both.n_rows == 5
    assert dict(both.dropped_rows) == {"BTC": 1, "ETH": 1}
    with pytest.raises(InvalidInputError, match="more than one history"):
        combine_histories([btc, btc])


def test_implied_vol_units() -> None:
    pts = load_implied_vol_history(DATA / "dvol.csv", unit="points")
    np.testing.assert_allclose(pts.column("BTC")[:2], [0.521, 0.540], rtol=0, atol=1e-15)
    auto = load_implied_vol_history(DATA / "dvol.csv", unit="auto")
    np.testing.assert_array_equal(auto.vols, pts.vols)
    assert auto.file_unit == "points" and any("detected as points" in n for n in auto.notes)
    with pytest.raises(InvalidInputError, match="looks like vol points"):
        load_implied_vol_history(DATA / "dvol.csv", unit="decimal")
    with pytest.raises(InvalidInputError, match="unit must be"):
        load_implied_vol_history(DATA / "dvol.csv", unit="percent")  # type: ignore[arg-type]


def test_implied_vol_auto_detection_refuses_ambiguous_values(tmp_path: Path) -> None:
    dec = _write(tmp_path, "d.csv", "date,BTC\n2024-01-01,0.52\n2024-01-02,0.61\n")
    assert load_implied_vol_history(dec, unit="auto").file_unit == "decimal"
    mixed = _write(tmp_path, "m.csv", "date,BTC\n2024-01-01,0.52\n2024-01-02,61\n")
    with pytest.raises(InvalidInputError, match="Cannot detect the unit.*unit='points'"):
        load_implied_vol_history(mixed, unit="auto")


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared history data (../shared/data/history) not present")
def test_shared_yahoo_histories_load() -> None:
    h = load_history([SHARED / "BTC-USD.csv", SHARED / "ETH-USD.csv"])
    assert h.names == ("BTC", "ETH")
    assert h.date_range() == "2017-11-09..2026-08-17"
    assert dict(h.dropped_rows) == {"BTC": 4353 - 3204, "ETH": 0}
    # PROVENANCE.md sanity value: BTC closed 64,995.23 on 2021-11-10
    i = int(np.flatnonzero(h.timestamps == np.datetime64("2021-11-10"))[0])
    assert round(float(h.column("BTC")[i]), 2) == 64995.23
