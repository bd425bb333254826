"""Mutation fuzzing of every input format, in-process.

The tests at the end run a few seconds per format in ``make
test``; ``SPANLIKE_FUZZ_EXAMPLES=N`` for N examples per format) and runnable
alone for a long counting run::

    .venv/bin/python tests/test_fuzz_inputs.py 4000      # mutants per format

Each mutant is written to a file and read (and margined where the format
feeds a margin) through the public API. The outcome is classified:

``typed``      a :class:`~spanlike.errors.SpanlikeError` other than
               NumericalError whose message names the input (file name or
               source) -- the expected answer to bad input;
``vague``      such an error whose message does not name the input;
``ok``         a result whose margins are finite and non-negative (and, for
               a mutation that must not change them, equal to the seed's);
``changed``    a neutral mutation (row order, CRLF, BOM, quoting, comments,
               whitespace) that changed the numbers;
``numerical``  NumericalError (exit 1) for an input;
``untyped``    any other exception (a traceback for the user).

Only ``typed`` and ``ok`` are acceptable; the test asserts that.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import random
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
DEMO = ROOT / "spanlike" / "data"

# --------------------------------------------------------------------------- seeds


def _market_csv(market_json: Path) -> bytes:
    d = json.loads(market_json.read_text())
    from spanlike.instruments import parse_instrument

    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["instrument", "mark_price", "mark_iv", "underlying_price", "index_price", "valuation_time"])
    for q in d["instruments"]:
        u = parse_instrument(q["instrument"]).underlying
        w.writerow([q["instrument"], q.get("mark_price", ""), q.get("mark_iv", ""), q.get("underlying_price", ""),
                    d["index_prices"][u], d["valuation_time"]])
    return out.getvalue().encode()


def _portfolio_json(portfolio_csv: Path) -> bytes:
    rows = [r for r in csv.reader(portfolio_csv.read_text().splitlines()) if r and not r[0].startswith("#")]
    positions = []
    for ins, q, unit in rows[1:]:
        item: dict[str, Any] = {"instrument": ins, "quantity": float(q)}
        if unit:
            item["unit"] = unit
        positions.append(item)
    return json.dumps({"account": "demo", "positions": positions}, indent=1).encode()


@dataclass(frozen=True)
class Format:
    """One input format: its seed, its file suffix, and how it is read and margined."""

    name: str
    suffix: str
    seed: Callable[[], bytes]
    kind: str  # "csv", "json", "toml"
    run: Callable[[Path], Any]  # returns a MarginResult or another checked result


def _margin_portfolio(path: Path) -> Any:
    from spanlike import margin

    return margin(path, DEMO / "demo_market.json", "crypto-span")


def _margin_deribit_positions(path: Path) -> Any:
    from spanlike import load_market, margin

    market = load_market([DATA / "deribit_book_summary_btc_options.json", DATA / "deribit_book_summary_btc_futures.json"])
    return margin(path, market, "crypto-span")


def _margin_market(path: Path) -> Any:
    from spanlike import margin

    return margin(DEMO / "demo_portfolio.csv", path, "crypto-span")


def _margin_book_summary(path: Path) -> Any:
    from spanlike import load_market, margin

    market = load_market([path, DATA / "deribit_book_summary_btc_futures.json"], venue="deribit")
    return margin(DATA / "deribit_positions_btc.json", market, "crypto-span")


def _margin_params(path: Path) -> Any:
    from spanlike import margin, params

    return margin(DEMO / "demo_portfolio.csv", DEMO / "demo_market.json", params.load(path))


def _load_history(path: Path) -> Any:
    from spanlike.calibration.history import load_history

    return load_history(path, underlyings=["BTC"]) if path.name.startswith("BTC") else load_history(path)


_BATCH: dict[str, Any] = {}


def _batch_engine() -> Any:
    """One prepared engine over the batch fixture's market (prepared once per process)."""
    if "engine" not in _BATCH:
        from spanlike.batch import prepare_engine
        from spanlike.market import MarketSnapshot

        market = MarketSnapshot.from_file(DATA / "batch_market.json")
        _BATCH["engine"] = prepare_engine(instruments=sorted(market.quotes), market=market, parameter_set="crypto-span")
        _BATCH["market"] = market
    return _BATCH["engine"]


class _BatchMargins:
    """A batch result seen as the checks above see a margin result (arrays of finite, >= 0 margins)."""

    def __init__(self, result: Any) -> None:
        import numpy as np

        self.result = result
        for name in ("initial_margin_usd", "maintenance_margin_usd", "requirement_usd"):
            values = getattr(result, name)
            if not (np.isfinite(values).all() and (values >= 0.0).all()):
                raise AssertionError(f"batch {name} not finite and >= 0: {values}")
        self.initial_margin_usd = tuple(result.initial_margin_usd.tolist())
        self.requirement_usd = tuple(result.requirement_usd.tolist())
        self.maintenance_margin_usd = tuple(result.maintenance_margin_usd.tolist())
        self.accounts = tuple(result.accounts)
        eq = result.equity_usd
        self.equity_usd = None if eq is None else tuple(np.asarray(eq).tolist())


def _margin_batch_accounts(path: Path) -> Any:
    from spanlike.batch import build_account_book, margin_batch
    from spanlike.batch.accounts import read_positions

    engine = _batch_engine()
    return _BatchMargins(margin_batch(engine, build_account_book(read_positions(path), engine=engine)))


def _margin_batch_equity(path: Path) -> Any:
    from spanlike.batch import build_account_book, equity_usd, margin_batch
    from spanlike.batch.accounts import read_equity, read_positions

    engine = _batch_engine()
    book = build_account_book(read_positions(DATA / "batch_accounts.csv"), engine=engine)
    eq = equity_usd(read_equity(path), book=book, index_prices=_BATCH["market"].index_prices, where=str(path))
    return _BatchMargins(margin_batch(engine, book, equity_usd=eq))


def _margin_spn_file(path: Path) -> Any:
    from spanlike.spn import margin_file

    return margin_file(spn=path, portfolio=DATA / "spn" / "margin_book.csv")


def _margin_spn_portfolio(path: Path) -> Any:
    from spanlike.spn import margin_file

    return margin_file(spn=DATA / "spn" / "margin_book.spn", portfolio=path)


def _gzip_bytes(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data, mtime=0)


def _unpack(data: bytes) -> bytes | None:
    """The content of a (possibly already damaged) gzip or zip seed, None if it does not open."""
    import gzip
    import zipfile

    try:
        if data[:2] == b"\x1f\x8b":
            return gzip.decompress(data)
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return z.read(z.namelist()[0])
    except Exception:  # noqa: BLE001 - a damaged archive is mutated as bytes instead
        return None


def _zip_bytes(data: bytes) -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("margin_book.spn", data)
    return out.getvalue()


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("portfolio_csv", ".csv", lambda: (DEMO / "demo_portfolio.csv").read_bytes(), "csv", _margin_portfolio),
        Format("portfolio_json", ".json", lambda: _portfolio_json(DEMO / "demo_portfolio.csv"), "json", _margin_portfolio),
        Format("deribit_positions", ".json", lambda: (DATA / "deribit_positions_btc.json").read_bytes(), "json",
               _margin_deribit_positions),
        Format("market_json", ".json", lambda: (DEMO / "demo_market.json").read_bytes(), "json", _margin_market),
        Format("market_csv", ".csv", lambda: _market_csv(DEMO / "demo_market.json"), "csv", _margin_market),
        Format("deribit_book_summary", ".json", lambda: (DATA / "deribit_book_summary_btc_options.json").read_bytes(),
               "json", _margin_book_summary),
        Format("parameter_toml", ".toml", lambda: (ROOT / "params" / "sets" / "crypto-span.toml").read_bytes(), "toml",
               _margin_params),
        Format("history_yahoo", ".csv", lambda: (DATA / "history" / "BTC-USD.csv").read_bytes(), "csv", _load_history),
        Format("history_wide", ".csv", lambda: (DATA / "history" / "wide.csv").read_bytes(), "csv", _load_history),
        Format("batch_accounts", ".csv", lambda: (DATA / "batch_accounts.csv").read_bytes(), "csv",
               _margin_batch_accounts),
        Format("batch_equity", ".csv", lambda: (DATA / "batch_equity.csv").read_bytes(), "csv", _margin_batch_equity),
        Format("spn_xml", ".spn", lambda: (DATA / "spn" / "margin_book.spn").read_bytes(), "xml", _margin_spn_file),
        Format("spn_gz", ".spn.gz", lambda: _gzip_bytes((DATA / "spn" / "margin_book.spn").read_bytes()), "bytes",
               _margin_spn_file),
        Format("spn_zip", ".zip", lambda: _zip_bytes((DATA / "spn" / "margin_book.spn").read_bytes()), "bytes",
               _margin_spn_file),
        Format("spn_portfolio", ".csv", lambda: (DATA / "spn" / "margin_book.csv").read_bytes(), "csv",
               _margin_spn_portfolio),
    )
}

# --------------------------------------------------------------------------- mutators

_INTERESTING_NUMBERS = (
    b"nan", b"NaN", b"inf", b"-inf", b"Infinity", b"1e308", b"-1e308", b"1e-300", b"1e400", b"0", b"-0", b"-1",
    b"0.0", b"9" * 5000, b"9" * 40, b"1_000", b"\xd9\xa3", b"1e-320", b"60.54", b"-150000", b"true", b'"0.32"',
    b"null", b"[]", b"{}", b'"x"', b"1.7976931348623157e308",
)
_INTERESTING_BYTES = (
    b"\xff", b"\xc3", b"\x00", b"\r", b"\n", b"\r\n", b",", b'"', b"'", b"#", b"{", b"}", b"[", b"]", b":", b"=",
    b"\xef\xbb\xbf", b"\x85", "\u2028".encode(), b"\t", b" ",
)


def _number_spans(data: bytes) -> list[tuple[int, int]]:
    import re

    return [m.span() for m in re.finditer(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", data)]


def mutate(data: bytes, rng: random.Random, fmt: Format) -> tuple[bytes, bool]:
    """One mutant of ``data`` and whether the mutation must leave the numbers unchanged."""
    try:
        return _mutate(data, rng, fmt)
    except (ValueError, StopIteration, RecursionError):  # a structural mutation of text it cannot parse
        return data, False


def _mutate(data: bytes, rng: random.Random, fmt: Format) -> tuple[bytes, bool]:
    """One mutant of ``data`` and whether the mutation must leave the numbers unchanged."""
    op = rng.randrange(14)
    n = len(data)
    if op == 0 and n:  # flip one byte
        i = rng.randrange(n)
        return data[:i] + bytes([rng.randrange(256)]) + data[i + 1:], False
    if op == 1:  # insert interesting bytes
        i = rng.randrange(n + 1)
        return data[:i] + rng.choice(_INTERESTING_BYTES) + data[i:], False
    if op == 2 and n:  # delete a span
        i = rng.randrange(n)
        return data[:i] + data[i + rng.randrange(1, 40):], False
    if op == 3 and n:  # duplicate a span (a repeated key, line, row)
        i = rng.randrange(n)
        j = min(n, i + rng.randrange(1, 200))
        return data[:j] + data[i:j] + data[j:], False
    if op in (4, 5, 6):  # replace a number by an interesting one
        spans = _number_spans(data)
        if spans:
            i, j = rng.choice(spans)
            return data[:i] + rng.choice(_INTERESTING_NUMBERS) + data[j:], False
    if op == 7:  # a huge cell / nesting
        i = rng.randrange(n + 1)
        blob = rng.choice([b"x" * 140_000, b"[" * 100_000, b"{\"a\":" * 20_000, b"9" * 5000])
        return data[:i] + blob + data[i:], False
    if op == 8:  # truncate
        return data[: rng.randrange(n + 1)], False
    if op == 9 and n:  # a line repeated
        lines = data.split(b"\n")
        k = rng.randrange(len(lines))
        lines.insert(k, lines[k])
        return b"\n".join(lines), False
    if fmt.kind == "bytes":
        # A compressed file: the mutations above hit the archive; here, one of its content, re-packed.
        inner = _unpack(data)
        if inner is None:
            return data, False
        mutated, _ = _mutate(inner, rng, FORMATS["spn_xml"])
        return (_gzip_bytes(mutated) if fmt.name == "spn_gz" else _zip_bytes(mutated)), False
    # Neutral mutations: the numbers must not change (applied to text that decodes only).
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data, False
    if op == 10:
        return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"), True
    if op == 11 and not data.startswith(b"\xef\xbb\xbf") and fmt.kind in ("csv", "json"):
        return b"\xef\xbb\xbf" + data, True
    if op == 12 and fmt.kind == "csv":  # shuffle data rows, add comments / blank lines, quote cells
        lines = data.decode("utf-8").split("\n")
        first = next(i for i, l in enumerate(lines) if l.strip() and not l.startswith("#"))
        body = [l for l in lines[first + 1:] if l.strip()]
        if fmt.name.startswith("history"):  # rows of a history are ordered by time: only quote / blank lines
            body = [l + ("\n" if rng.random() < 0.2 else "") for l in body]
        else:
            rng.shuffle(body)
            body = [",".join(f'"{c}"' if c and rng.random() < 0.5 else c for c in l.split(",")) for l in body]
            body.insert(rng.randrange(len(body) + 1), "# a comment, with a comma")
        return "\n".join(lines[: first + 1] + body).encode() + b"\n", True
    if op == 13 and fmt.kind == "json":  # reformat, reorder keys
        obj = json.loads(data.decode("utf-8-sig"))

        def shuffled(o: Any) -> Any:
            if isinstance(o, dict):
                items = list(o.items())
                rng.shuffle(items)
                return {k: shuffled(v) for k, v in items}
            if isinstance(o, list):
                return [shuffled(v) for v in o]
            return o

        return json.dumps(shuffled(obj), indent=rng.choice([None, 0, 2, 4])).encode(), True
    if op == 13 and fmt.kind == "toml":
        return data.replace(b"\n", b"  # comment\n", 1) if data.startswith(b"#") else b"# comment\n" + data, True
    return data + b"\n\n", True


# --------------------------------------------------------------------------- classification


def _numbers(result: Any) -> Any:
    """What must be equal between a seed and a neutral mutant."""
    if isinstance(result, _BatchMargins):
        # Row order may reorder accounts (first appearance): compare account by account.
        return tuple(sorted(zip(result.accounts, result.initial_margin_usd, result.maintenance_margin_usd,
                                result.equity_usd or (None,) * len(result.accounts))))
    if hasattr(result, "initial_margin_usd"):
        return (result.requirement_usd, result.initial_margin_usd, result.maintenance_margin_usd,
                tuple((c.name, c.requirement) for c in result.commodities))
    if hasattr(result, "closes"):
        return (tuple(result.names), result.closes.tobytes(), result.timestamps.tobytes())
    return None


def _check_result(result: Any) -> None:
    if isinstance(result, _BatchMargins):
        return  # checked when it was built
    if hasattr(result, "initial_margin_usd"):
        from spanlike.guards import check_result_finite

        check_result_finite(result)
    elif hasattr(result, "closes"):
        import numpy as np

        assert np.isfinite(result.closes).all() and (result.closes > 0).all()


def classify(fmt: Format, data: bytes, *, neutral: bool, seed_numbers: Any, workdir: Path) -> tuple[str, str]:
    """Run one mutant; returns (outcome, detail) as in the module docstring."""
    from spanlike.errors import NumericalError, SpanlikeError

    stem = "BTC-USD" if fmt.name == "history_yahoo" else "input"
    path = workdir / f"{stem}{fmt.suffix}"
    path.write_bytes(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # numpy overflow warnings beside results count as faults
            result = fmt.run(path)
    except NumericalError as err:
        return "numerical", str(err)[:300]
    except SpanlikeError as err:
        msg = str(err)
        # Named: the file, or an instrument / underlying the message quotes (a margin-time error
        # such as missing market data names the instrument, which may sit in the other input).
        quoted = {m.group(0) for m in _NAME_IN_MESSAGE.finditer(msg)}
        named = (path.name in msg or "<deribit>" in msg or "Parameter set" in msg
                 or bool(quoted))
        return ("typed" if named and msg.strip() else "vague"), msg[:300]
    except Exception as err:  # noqa: BLE001 - that is what is being counted
        return "untyped", f"{type(err).__name__}: {str(err)[:300]}"
    try:
        _check_result(result)
    except Exception as err:  # noqa: BLE001
        return "untyped", f"bad result: {type(err).__name__}: {str(err)[:300]}"
    if neutral and seed_numbers is not None and _numbers(result) != seed_numbers:
        return "changed", f"{_numbers(result)} != {seed_numbers}"
    return "ok", ""


_NAME_IN_MESSAGE = __import__("re").compile(r"\b[A-Z]{2,10}(?:_USDC)?-[A-Z0-9d-]{4,}\b|\b(?:BTC|ETH|SOL)\b")
_SEED_NUMBERS: dict[str, Any] = {}


def seed_numbers(fmt: Format, workdir: Path) -> Any:
    if fmt.name not in _SEED_NUMBERS:
        path = workdir / (("BTC-USD" if fmt.name == "history_yahoo" else "seed") + fmt.suffix)
        path.write_bytes(fmt.seed())
        _SEED_NUMBERS[fmt.name] = _numbers(fmt.run(path))
    return _SEED_NUMBERS[fmt.name]


def run_format(fmt: Format, count: int, *, seed: int = 0, show: int = 3) -> dict[str, int]:
    """``count`` mutants of one format; counts by outcome (prints the first few failures)."""
    rng = random.Random(seed)
    counts: dict[str, int] = {}
    base = fmt.seed()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        expected = seed_numbers(fmt, work)
        shown = 0
        for _ in range(count):
            data, neutral = base, True
            for _ in range(rng.choice((1, 1, 1, 2, 3))):
                data, n = mutate(data, rng, fmt)
                neutral = neutral and n
            outcome, detail = classify(fmt, data, neutral=neutral, seed_numbers=expected, workdir=work)
            counts[outcome] = counts.get(outcome, 0) + 1
            if outcome not in ("typed", "ok") and shown < show:
                shown += 1
                print(f"  {fmt.name}: {outcome}: {detail[:200]}", file=sys.stderr)
    return counts


def main(argv: list[str]) -> int:
    per_format = int(argv[1]) if len(argv) > 1 else 500
    total: dict[str, int] = {}
    for fmt in FORMATS.values():
        counts = run_format(fmt, per_format, seed=int(os.environ.get("SPANLIKE_FUZZ_SEED", "0")))
        print(f"{fmt.name:22s} {sum(counts.values()):6d}  " + "  ".join(f"{k}={v}" for k, v in sorted(counts.items())))
        for k, v in counts.items():
            total[k] = total.get(k, 0) + v
    print(f"{'total':22s} {sum(total.values()):6d}  " + "  ".join(f"{k}={v}" for k, v in sorted(total.items())))
    return 0 if set(total) <= {"typed", "ok"} else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main(sys.argv))


# --------------------------------------------------------------------------- tests

import pytest  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

#: Mutants per format in a test run: a few seconds each by default; set
#: SPANLIKE_FUZZ_EXAMPLES for a longer run.
EXAMPLES = int(os.environ.get("SPANLIKE_FUZZ_EXAMPLES", "25"))
_WORK = Path(tempfile.mkdtemp(prefix="spanlike-fuzz-"))


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_mutant_is_refused_by_name_or_margined_soundly(name: str) -> None:
    fmt = FORMATS[name]
    base = fmt.seed()
    expected = seed_numbers(fmt, _WORK)

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=3))
    def check(seeds: list[int]) -> None:
        data, neutral = base, True
        for s in seeds:
            data, n = mutate(data, random.Random(s), fmt)
            neutral = neutral and n
        outcome, detail = classify(fmt, data, neutral=neutral, seed_numbers=expected, workdir=_WORK)
        assert outcome in ("typed", "ok"), f"{name}: {outcome}: {detail}"

    check()
