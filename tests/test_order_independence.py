"""Same positions in any order give the same numbers to the bit (issue: bad input, order dependence).

Rows of a portfolio or an accounts file are netted in a canonical order (by
universe row; duplicates of one instrument with math.fsum, which does not
depend on order), and no cross-level decision turns on the sign of a
near-zero sum (the direction is read from scenario losses, continuously).
Reference: the unshuffled file's result; comparison: exact equality.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from spanlike.cli import main

DATA = Path(__file__).parent / "data"
DEMO = Path(__file__).resolve().parents[1] / "spanlike" / "data"


def _shuffled(path: Path, out: Path, seed: int, *, duplicate: bool = False) -> Path:
    lines = path.read_text().splitlines()
    head = [line for line in lines if line.startswith("#")]
    header, rows = [line for line in lines if not line.startswith("#")][0], [
        line for line in lines if line and not line.startswith("#")][1:]
    if duplicate:  # split every quantity into three parts that net to it
        split = []
        for row in rows:
            cells = row.split(",")
            q = float(cells[-2] if len(cells) > 3 and cells[-1] in ("coin", "usd", "") else cells[-1])
            idx = len(cells) - 2 if len(cells) > 3 and cells[-1] in ("coin", "usd", "") else len(cells) - 1
            for part in (q * 0.3, q * 0.5, q - q * 0.3 - q * 0.5):
                split.append(",".join(cells[:idx] + [repr(part)] + cells[idx + 1:]))
        rows = split
    random.Random(seed).shuffle(rows)
    out.write_text("\n".join(head + [header] + rows) + "\n")
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shuffled_accounts_file_margins_to_the_bit(tmp_path: Path, seed: int, capsys: pytest.CaptureFixture[str]) -> None:
    accounts = DATA / "batch_accounts.csv"
    args = ["--equity", str(DATA / "batch_equity.csv"), "--market", str(DATA / "batch_market.json"),
            "--params", "crypto-span", "--components"]
    assert main(["batch", "--accounts", str(accounts), "--out", str(tmp_path / "a.jsonl"), *args]) == 0
    shuffled = _shuffled(accounts, tmp_path / "shuffled.csv", seed)
    assert main(["batch", "--accounts", str(shuffled), "--out", str(tmp_path / "b.jsonl"), *args]) == 0
    capsys.readouterr()
    a = sorted(json.loads(line)["account"] + line for line in (tmp_path / "a.jsonl").read_text().splitlines())
    b = sorted(json.loads(line)["account"] + line for line in (tmp_path / "b.jsonl").read_text().splitlines())
    assert a == b


@pytest.mark.parametrize("seed", [1, 2])
def test_shuffled_portfolio_margins_to_the_bit(tmp_path: Path, seed: int, capsys: pytest.CaptureFixture[str]) -> None:
    book = DEMO / "demo_portfolio.csv"
    market = DEMO / "demo_market.json"
    assert main(["margin", "--portfolio", str(book), "--market", str(market), "--format", "json"]) == 0
    reference = json.loads(capsys.readouterr().out)
    shuffled = _shuffled(book, tmp_path / "shuffled.csv", seed)
    assert main(["margin", "--portfolio", str(shuffled), "--market", str(market), "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    for key in ("initial_margin_usd", "maintenance_margin_usd", "correlation_offset_usd", "joint_move_floor_usd"):
        assert got[key] == reference[key], key
    assert np.array_equal([c["requirement"] for c in got["combined_commodities"]],
                          [c["requirement"] for c in reference["combined_commodities"]])


def test_split_and_shuffled_duplicates_net_to_the_bit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each position split into three rows: any order of those rows nets to the same quantities."""
    accounts = DATA / "batch_accounts.csv"
    split = _shuffled(accounts, tmp_path / "split.csv", 0, duplicate=True)
    lines = split.read_text().splitlines()
    n_head = 1 + sum(line.startswith("#") for line in lines)  # comments, then the header
    split.write_text("\n".join(lines[:n_head] + sorted(lines[n_head:])) + "\n")  # a canonical order first
    args = ["--equity", str(DATA / "batch_equity.csv"), "--market", str(DATA / "batch_market.json"),
            "--params", "crypto-span", "--components"]
    assert main(["batch", "--accounts", str(split), "--out", str(tmp_path / "a.jsonl"), *args]) == 0
    for seed in (5, 6):
        other = _shuffled(split, tmp_path / f"s{seed}.csv", seed)
        assert main(["batch", "--accounts", str(other), "--out", str(tmp_path / f"b{seed}.jsonl"), *args]) == 0
        a = sorted((tmp_path / "a.jsonl").read_text().splitlines())
        b = sorted((tmp_path / f"b{seed}.jsonl").read_text().splitlines())
        assert a == b
    capsys.readouterr()
