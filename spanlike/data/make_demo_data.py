"""Generate the bundled demo book and market snapshot (deterministic, no randomness).

Run from the repository root::

    .venv/bin/python spanlike/data/make_demo_data.py            # writes next to this file
    .venv/bin/python spanlike/data/make_demo_data.py --out DIR

Model (all numbers below are our choices, chosen to look like a Deribit
screen in late 2026; none is market data):

* valuation time 2026-11-24T08:00:00Z; index BTC 95,000 USD, ETH 3,400 USD;
* expiries 27NOV26, 25DEC26, 29JAN27, 26MAR27, 25JUN27 (Fridays, 08:00 UTC);
* forwards ``F = S exp(b T)`` with annual basis b = 6 % (BTC), 5.5 % (ETH),
  futures marks rounded to the tick (2.5 USD BTC, 0.05 USD ETH); perpetual
  marks at index x (1 + 0.0001);
* implied vol ``sigma = atm(T) + skew x + curv x^2`` with ``x = ln(K/F)/sqrt(T)``,
  ``|x| <= 2 atm`` (strikes within two standard deviations), ATM term structure 50 -> 58 % (BTC) and 66 -> 74 % (ETH), skew -0.08
  (puts richer), curvature 0.10 (higher wings); rounded to 4 decimals (Deribit
  quotes percent with 2 decimals);
* option marks in coin: Black-76 (rate 0, vollib) at the rounded vol divided by
  the forward, rounded to 4 decimals as Deribit does. The model vol implied
  from a rounded mark therefore differs slightly from ``mark_iv``, as on the
  exchange; ``mark_iv`` is the source of truth.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
from pathlib import Path

from vollib.black import black

VALUATION = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.timezone.utc)
EXPIRIES = {
    "27NOV26": dt.datetime(2026, 11, 27, 8, tzinfo=dt.timezone.utc),
    "25DEC26": dt.datetime(2026, 12, 25, 8, tzinfo=dt.timezone.utc),
    "29JAN27": dt.datetime(2027, 1, 29, 8, tzinfo=dt.timezone.utc),
    "26MAR27": dt.datetime(2027, 3, 26, 8, tzinfo=dt.timezone.utc),
    "25JUN27": dt.datetime(2027, 6, 25, 8, tzinfo=dt.timezone.utc),
}
UNDERLYINGS = {
    # index USD, annual basis, futures tick USD, ATM vol per expiry, strike step, strike range
    "BTC": dict(index=95_000.0, basis=0.06, tick=2.5, atm=(0.50, 0.52, 0.54, 0.56, 0.58),
                step=5_000.0, lo=60_000.0, hi=150_000.0),
    "ETH": dict(index=3_400.0, basis=0.055, tick=0.05, atm=(0.66, 0.68, 0.70, 0.72, 0.74),
                step=100.0, lo=2_200.0, hi=5_000.0),
}
SKEW, CURV = -0.08, 0.10
MIN_MARK = 0.0005  # coin; list only options worth at least this
MAX_SD = 2.0  # list only strikes within this many standard deviations, |ln(K/F)| <= MAX_SD atm sqrt(T)

# (instrument, quantity, unit, strategy)
BOOK = [
    ("BTC-25DEC26-110000-C", -5, "coin", "short strangle"),
    ("BTC-25DEC26-80000-P", -5, "coin", "short strangle"),
    ("BTC-29JAN27-100000-C", 10, "coin", "call spread"),
    ("BTC-29JAN27-115000-C", -10, "coin", "call spread"),
    ("BTC-26MAR27", 250_000, "usd", "calendar spread"),
    ("BTC-25DEC26", -250_000, "usd", "calendar spread"),
    ("BTC-25JUN27-130000-C", -3, "coin", "covered call"),
    ("BTC-25JUN27", None, "usd", "covered call: 3 BTC of the future in USD"),
    ("BTC-26MAR27-85000-P", 4, "coin", "protective put"),
    ("BTC-27NOV26-95000-C", -2, "coin", "short weekly straddle"),
    ("BTC-27NOV26-95000-P", -2, "coin", "short weekly straddle"),
    ("BTC-PERPETUAL", -150_000, "usd", "delta hedge"),
    ("ETH-25DEC26-4000-C", -50, "coin", "short strangle"),
    ("ETH-25DEC26-2800-P", -50, "coin", "short strangle"),
    ("ETH-26MAR27-3400-C", 40, "coin", "long call"),
    ("ETH-29JAN27-3000-P", 30, "coin", "protective put"),
    ("ETH-29JAN27-3800-C", -30, "coin", "covered call on the perpetual"),
    ("ETH-PERPETUAL", 100_000, "usd", "long perpetual / delta hedge"),
    ("ETH-25DEC26", -60_000, "usd", "basis hedge"),
]


def _years(expiry: dt.datetime) -> float:
    return (expiry - VALUATION).total_seconds() / (365 * 86400)


def _round_to(x: float, tick: float) -> float:
    return round(round(x / tick) * tick, 10)


def build_market() -> dict:
    instruments: list[dict] = []
    futures_mark: dict[str, float] = {}
    for und, p in UNDERLYINGS.items():
        perp = _round_to(p["index"] * 1.0001, p["tick"])
        instruments.append({"instrument": f"{und}-PERPETUAL", "mark_price": perp})
        for (code, expiry), atm in zip(EXPIRIES.items(), p["atm"]):
            t = _years(expiry)
            fwd = _round_to(p["index"] * math.exp(p["basis"] * t), p["tick"])
            futures_mark[f"{und}-{code}"] = fwd
            instruments.append({"instrument": f"{und}-{code}", "mark_price": fwd})
            strike = p["lo"]
            while strike <= p["hi"] + 1e-9:
                x = math.log(strike / fwd) / math.sqrt(t)
                if abs(x) > MAX_SD * atm:
                    strike += p["step"]
                    continue
                vol = round(atm + SKEW * x + CURV * x * x, 4)
                for flag, letter in (("c", "C"), ("p", "P")):
                    mark = round(black(flag, fwd, strike, t, 0.0, vol) / fwd, 4)
                    if mark >= MIN_MARK:
                        instruments.append({
                            "instrument": f"{und}-{code}-{int(strike)}-{letter}",
                            "mark_price": mark,
                            "mark_iv": vol,
                            "underlying_price": fwd,
                        })
                strike += p["step"]
    return {
        "valuation_time": VALUATION.isoformat().replace("+00:00", "Z"),
        "index_prices": {und: p["index"] for und, p in UNDERLYINGS.items()},
        "instruments": instruments,
    }, futures_mark


def build_book(futures_mark: dict[str, float]) -> list[tuple[str, float, str, str]]:
    rows = []
    for name, qty, unit, why in BOOK:
        if qty is None:  # 3 BTC of the June future, in USD, in Deribit's 10 USD contracts
            qty = round(3 * futures_mark[name] / 10) * 10
        rows.append((name, qty, unit, why))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args(argv)
    market, futures_mark = build_market()
    quoted = {q["instrument"] for q in market["instruments"]}
    book = build_book(futures_mark)
    missing = [name for name, *_ in book if name not in quoted]
    if missing:
        raise SystemExit(f"book instruments without a quote: {missing}")
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "demo_market.json", "w", encoding="utf-8") as fh:
        # One quote per line: readable diffs when the generator changes.
        fh.write("{\n")
        fh.write(f' "valuation_time": {json.dumps(market["valuation_time"])},\n')
        fh.write(f' "index_prices": {json.dumps(market["index_prices"])},\n')
        fh.write(' "instruments": [\n  ')
        fh.write(",\n  ".join(json.dumps(q) for q in market["instruments"]))
        fh.write("\n ]\n}\n")
    with open(args.out / "demo_portfolio.csv", "w", encoding="utf-8", newline="") as fh:
        fh.write("# Demo book (spanlike/data/make_demo_data.py); strategies: "
                 + "; ".join(sorted({why.split(':')[0] for *_, why in book})) + "\n")
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["instrument", "quantity", "unit"])
        for name, qty, unit, _ in book:
            writer.writerow([name, qty, unit])
    print(f"wrote {len(market['instruments'])} quotes and {len(book)} positions to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
