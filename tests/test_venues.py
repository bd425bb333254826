"""The venue registry and the one loader that detects file formats.

Expected values are the bundled test files' own contents (tests/data/README.md
describes them) and the formats documented in spanlike/loaders.py; equality is
exact (the same reader runs behind both paths compared).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import spanlike
from spanlike import params, venues
from spanlike.errors import InputFileError, InvalidInputError, ParameterSetError
from spanlike.instruments import Instrument, make_instrument, parse_instrument
from spanlike.loaders import detect_market_format, detect_portfolio_format, load_market, load_portfolio
from spanlike.market import MarketSnapshot
from spanlike.portfolio import Portfolio, PositionEntry
from spanlike.venues import Venue, available_venues, get_venue, register_venue, venue_for_label

DATA = Path(__file__).parent / "data"
DEMO = Path(spanlike.__file__).parent / "data"
UTC = dt.timezone.utc


# --------------------------------------------------------------------------- registry


def test_deribit_is_registered_and_found_by_name() -> None:
    assert "deribit" in available_venues()
    assert get_venue("Deribit") is get_venue("deribit")
    assert get_venue(venues.DEFAULT_VENUE).name == "deribit"
    assert venue_for_label("Deribit standard margin") is get_venue("deribit")
    assert venue_for_label("Nowhere standard margin") is None
    assert venue_for_label("") is None


def test_unknown_venue_names_the_value_and_the_choices() -> None:
    with pytest.raises(InvalidInputError, match=r"Unknown venue 'nowhere'\. Registered venues: .*deribit"):
        get_venue("nowhere")
    with pytest.raises(InvalidInputError, match="Unknown venue"):
        parse_instrument("BTC-PERPETUAL", venue="nowhere")


def _toy_parse(name: str) -> Instrument:
    # "TOY:BTC:20250103" = a BTC future settled in USDT expiring 2025-01-03 16:00 UTC.
    _, underlying, day = name.split(":")
    expiry = dt.datetime.strptime(day, "%Y%m%d").replace(hour=16, tzinfo=UTC)
    return make_instrument(underlying=underlying, kind="future", expiry=expiry, settlement_currency="USDT", name=name)


def _toy_format(ins: Instrument) -> str:
    assert ins.expiry is not None
    return f"TOY:{ins.underlying}:{ins.expiry:%Y%m%d}"


def _toy_venue() -> Venue:
    def read_positions(path_or_obj: object, *, account: str = "default", source: str | None = None) -> Portfolio:
        data = path_or_obj if isinstance(path_or_obj, dict) else None
        assert data is not None
        entries = [PositionEntry.make(instrument=_toy_parse(k), quantity=v, unit="coin", where=f"toy[{k}]")
                   for k, v in data["toy_positions"].items()]
        return Portfolio.from_entries(entries, account=account)

    return Venue(
        name="toy", title="Toy", name_example="TOY:BTC:20250103", parse_name=_toy_parse, format_name=_toy_format,
        expiry_time_utc=dt.time(16), positions_format="a Toy positions dump",
        is_positions_payload=lambda d: isinstance(d, dict) and "toy_positions" in d, read_positions=read_positions,
    )


def test_a_new_venue_needs_no_core_edit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(venues, "_REGISTERED", dict(venues._REGISTERED))
    toy = register_venue(_toy_venue())
    assert "toy" in available_venues()
    # Naming adapter, both directions, through the core's functions.
    ins = parse_instrument("TOY:ETH:20250103", venue="toy")
    assert (ins.underlying, ins.settlement_currency, ins.expiry) == ("ETH", "USDT", dt.datetime(2025, 1, 3, 16, tzinfo=UTC))
    assert make_instrument(underlying="ETH", kind="future", expiry=ins.expiry, settlement_currency="USDT",
                           venue="toy") == ins
    # The loader detects the venue's payload; the unknown-suffix message lists it.
    f = tmp_path / "toy.json"
    f.write_text('{"toy_positions": {"TOY:BTC:20250103": 2.5}}')
    assert detect_portfolio_format(f) == "toy"
    p = Portfolio.from_file(f)
    assert [(x.instrument.name, x.quantity, x.unit) for x in p.positions] == [("TOY:BTC:20250103", 2.5, "coin")]
    with pytest.raises(InputFileError, match="a Deribit get_positions response or a Toy positions dump"):
        Portfolio.from_file(tmp_path / "toy.txt")
    # A name is registered once.
    with pytest.raises(InvalidInputError, match="already registered"):
        register_venue(_toy_venue())
    assert register_venue(toy, replace=True) is toy


def test_venue_checks_its_fields() -> None:
    with pytest.raises(InvalidInputError, match="lower-case identifier"):
        Venue(name="Toy", title="Toy", name_example="x", parse_name=_toy_parse, format_name=_toy_format,
              expiry_time_utc=dt.time(16))
    with pytest.raises(InvalidInputError, match="give both 'read_market' and 'is_market_payload'"):
        Venue(name="toy", title="Toy", name_example="x", parse_name=_toy_parse, format_name=_toy_format,
              expiry_time_utc=dt.time(16), read_market=lambda *a: None)
    with pytest.raises(InvalidInputError, match="needs a spanlike.venues.Venue"):
        register_venue("toy")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- loader


def test_format_detection() -> None:
    assert detect_portfolio_format(DATA / "deribit_positions_btc.json") == "deribit"
    assert detect_portfolio_format(DEMO / "demo_portfolio.csv") == "csv"
    assert detect_market_format(DATA / "deribit_book_summary_btc_options.json") == "deribit"
    assert detect_market_format(DEMO / "demo_market.json") == "json"
    assert detect_market_format(DATA / "linear_market.json") == "json"
    with pytest.raises(InputFileError, match=r"unknown suffix '\.txt'.*our form or a Deribit book summary"):
        detect_market_format(DATA / "market.txt")
    with pytest.raises(InputFileError, match="does not exist"):
        detect_portfolio_format(DATA / "missing.json")


def test_load_market_one_file_or_one_venues_payloads() -> None:
    options, futures = DATA / "deribit_book_summary_btc_options.json", DATA / "deribit_book_summary_btc_futures.json"
    assert load_market(DEMO / "demo_market.json").quotes == MarketSnapshot.from_file(DEMO / "demo_market.json").quotes
    both = load_market([options, futures])
    ref = MarketSnapshot.from_deribit_book_summary(options, futures)
    assert (both.valuation_time, dict(both.index_prices), dict(both.quotes)) == (
        ref.valuation_time, dict(ref.index_prices), dict(ref.quotes))
    forced = load_market([str(futures)], venue="deribit")
    assert dict(forced.quotes) == dict(MarketSnapshot.from_deribit_book_summary(futures).quotes)
    with pytest.raises(InputFileError, match="several files make one snapshot only as payloads of one venue"):
        load_market([DEMO / "demo_market.json", futures])
    with pytest.raises(InputFileError, match="No market file given"):
        load_market([])


def test_load_portfolio_matches_the_readers() -> None:
    f = DATA / "deribit_positions_btc.json"
    assert load_portfolio(f) == Portfolio.from_deribit_positions(f, source=str(f))
    assert load_portfolio(f, venue="deribit") == Portfolio.from_deribit_positions(f)
    assert load_portfolio(DEMO / "demo_portfolio.csv") == Portfolio.from_csv(DEMO / "demo_portfolio.csv")


def test_positions_entries_keep_their_location() -> None:
    ins = parse_instrument("BTC-PERPETUAL")
    p = Portfolio.from_entries([
        PositionEntry.make(instrument=ins, quantity=5.0, unit="usd", where="a.json result[0]"),
        PositionEntry.make(instrument=ins, quantity=-5.0, unit="usd", where="a.json result[1]"),
    ])
    assert p.positions == () and "a.json result[0], a.json result[1]" in p.notes[0]
    with pytest.raises(spanlike.errors.InvalidPositionError, match=r"^a\.json result\[2\]: BTC-PERPETUAL is a coin-settled"):
        PositionEntry.make(instrument=ins, quantity=1.0, unit=None, where="a.json result[2]")
    with pytest.raises(spanlike.errors.InvalidPositionError, match="needs PositionEntry objects"):
        Portfolio.from_entries([("BTC-PERPETUAL", 1.0, "usd")])  # type: ignore[list-item]


# --------------------------------------------------------------------------- standard margin


def test_isolated_label_naming_no_venue_is_an_error() -> None:
    from spanlike.efficiency.report import efficiency

    data = params.load("crypto-span").model_dump(mode="json")
    data["isolated"]["venue"] = "Nowhere standard margin"
    ps = params.from_mapping(data)
    book = Portfolio.from_positions([("BTC-PERPETUAL", 2.0, "coin")])
    with pytest.raises(ParameterSetError, match=r"venue 'Nowhere standard margin' names no registered venue.*\['deribit'\]"):
        efficiency(book, MarketSnapshot.from_file(DEMO / "demo_market.json"), ps)
