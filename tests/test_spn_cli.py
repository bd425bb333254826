"""``spanlike spn info|verify|write`` and ``spanlike margin --spn``: output, exit codes, messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spanlike.cli import main

DATA = Path(__file__).resolve().parent / "data" / "spn"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TAKASBANK = SHARED / "takasbank-20160517.spn"
needs_takasbank = pytest.mark.skipif(
    not TAKASBANK.exists(),
    reason=f"the Takasbank SPAN file is not at {TAKASBANK} (shared data folder beside the project root); "
    "it is not copied into the repository because its data rights are unclear",
)


def test_info_lists_products_and_expiries(capsys):
    assert main(["spn", "info", str(DATA / "margin_book.spn")]) == 0
    out = capsys.readouterr().out
    assert "clearing org          TEST" in out
    assert ["IDX", "FUT", "3", "202406", "202409", "202412"] in [line.split() for line in out.splitlines()]
    assert "spreads               3 intra, 1 inter" in out


def test_verify_exit_1_when_arrays_disagree(capsys):
    # The fixture's hand-typed option arrays are not priced: a finding, exit 1.
    assert main(["spn", "verify", str(DATA / "margin_book.spn")]) == 1
    out = capsys.readouterr().out
    assert "within 0.01 per contract: 7/9" in out
    assert "TX:IDX:OOP:202406:P100" in out


def test_verify_json(capsys):
    assert main(["spn", "verify", str(DATA / "margin_book.spn"), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["contracts"] == 9 and data["within_tolerance"] == 7
    assert {f["product_type"] for f in data["families"]} == {"PHY", "FUT", "OOP"}


def test_verify_bad_tolerance_exit_2(capsys):
    assert main(["spn", "verify", str(DATA / "margin_book.spn"), "--tolerance", "-1"]) == 2
    assert "--tolerance must be a positive amount per contract" in capsys.readouterr().err


def test_missing_file_exit_2(capsys, tmp_path):
    assert main(["spn", "info", str(tmp_path / "none.spn")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_malformed_file_exit_2(capsys):
    assert main(["spn", "info", str(DATA / "garbage.spn")]) == 2
    assert "not well-formed" in capsys.readouterr().err


def test_write_round_trip(capsys, tmp_path):
    out = tmp_path / "copy.spn.gz"
    assert main(["spn", "write", str(DATA / "margin_book.spn"), str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert main(["spn", "info", str(out)]) == 0


def test_write_refuses_to_overwrite_input(capsys, tmp_path):
    src = tmp_path / "a.spn"
    src.write_bytes((DATA / "margin_book.spn").read_bytes())
    assert main(["spn", "write", str(src), str(src)]) == 2
    assert "is the input file" in capsys.readouterr().err


def test_margin_spn_table_and_json(capsys):
    args = ["margin", "--spn", str(DATA / "margin_book.spn"), "--portfolio", str(DATA / "margin_book.csv")]
    assert main(args) == 0
    assert "SPAN file TEST 20240102" in capsys.readouterr().out
    assert main(args + ["--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["reporting_currency"] == "USD"
    assert [c["name"] for c in data["combined_commodities"]] == ["IDX", "STK"]


def test_margin_spn_bad_row_exit_2(capsys, tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("exchange,product,type,period,strike,put_call,quantity\nTX,IDX,FUT,202407,,,1\n")
    assert main(["margin", "--spn", str(DATA / "margin_book.spn"), "--portfolio", str(csv)]) == 2
    err = capsys.readouterr().err
    assert "row 2" in err and "'period' '202407'" in err and "Closest" in err


@needs_takasbank
def test_verify_takasbank_exit_0(capsys):
    assert main(["spn", "verify", str(TAKASBANK)]) == 0
    assert "within 0.01 per contract: 2811/2811 (100.0%)" in capsys.readouterr().out


@needs_takasbank
def test_verify_takasbank_tight_tolerance_exit_1(capsys):
    assert main(["spn", "verify", str(TAKASBANK), "--tolerance", "0.0001"]) == 1
    assert "largest differences" in capsys.readouterr().out
