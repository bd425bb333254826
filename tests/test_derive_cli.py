"""`spanlike margin --params derive` margins a Derive subaccount from Derive's own files (the method's account hook)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spanlike.cli import main
from spanlike.venues.derive import margin_files

DATA = Path(__file__).parent / "data" / "derive"


def test_cli_margins_a_derive_book_as_the_api_does(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["margin", "--portfolio", str(DATA / "portfolio.json"), "--market", str(DATA / "market.json"),
            "--params", "derive"]
    assert main([*args, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    api = margin_files(portfolio=DATA / "portfolio.json", market=DATA / "market.json")
    assert out["initial_margin"] == api.to_dict()["initial_margin"]
    assert out["maintenance_requirement"] == api.to_dict()["maintenance_requirement"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "Derive portfolio margin, BTC subaccount" in text and "2025-02-28 08:00" in text


def test_cli_derive_with_our_own_files_names_the_format(capsys: pytest.CaptureFixture[str]) -> None:
    demo = Path(__file__).resolve().parents[1] / "spanlike" / "data"
    code = main(["margin", "--portfolio", str(demo / "demo_portfolio.csv"), "--market", str(demo / "demo_market.json"),
                 "--params", "derive"])
    assert code == 2
    assert "Derive portfolio file" in capsys.readouterr().err
