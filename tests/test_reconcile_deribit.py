"""spanlike reconcile against Deribit's published private/pme/simulate responses (tests/data/deribit_pme).

Exit 0 on both published responses (every number to the last printed digit); an edited
response (one parameter, one number) exits 1 naming the difference; bad input exits 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spanlike.cli import main
from spanlike.reconcile.deribit import printed_tolerance, reconcile

DATA = Path(__file__).parent / "data" / "deribit_pme"
FILES = ["btc_2024-06-17.json", "eth_2026-02-15.json"]


@pytest.mark.parametrize("name", FILES)
def test_published_responses_agree(name: str, capsys) -> None:
    assert main(["reconcile", "--venue", "deribit", "--simulate", str(DATA / name)]) == 0
    out = capsys.readouterr().out
    assert "numbers (116 of 116 agree)" in out and "parameters (14 of 14 agree)" in out
    assert "every number agrees to the last printed digit" in out
    rec = reconcile(str(DATA / name))
    assert rec.agree and rec.explanation is None
    items = {r.item for r in rec.rows}
    assert any(i.endswith("worst_case_bucket.index") for i in items) and any(i.endswith("initial_margin") for i in items)


def _edited(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = (DATA / name).read_text()
    assert text.count(old) == 1
    out = tmp_path / name
    out.write_text(text.replace(old, new))
    return out


def test_edited_parameter_is_named(tmp_path: Path, capsys) -> None:
    path = _edited(tmp_path, FILES[1], '"volatility_range_up": 0.4,', '"volatility_range_up": 0.45,')
    assert main(["reconcile", "--venue", "deribit", "--simulate", str(path)]) == 1
    out = capsys.readouterr().out
    assert ("First difference: parameter model_params.currency_pair.eth_usd.volatility_range_up is 0.45 in the "
            "response and 0.4 in deribit-style@2026-02-15") in out


def test_edited_number_is_named(tmp_path: Path, capsys) -> None:
    path = _edited(tmp_path, FILES[0], '"roll_shock": 0.00315725898', '"roll_shock": 0.00315725899')
    assert main(["reconcile", "--venue", "deribit", "--simulate", str(path), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert not data["agree"]
    assert data["explanation"].startswith("First difference: margins.btc.initial_margin_details."
                                          "risk_matrix_margin_details.roll_shock: ours 0.0031572589800000004, "
                                          "theirs 0.00315725899")


def test_older_version_differs_by_parameters(capsys) -> None:
    """The 2024-06-17 set has no dampener: reconcile names it first (the 2026 ETH response)."""
    assert main(["reconcile", "--venue", "deribit", "--simulate", str(DATA / FILES[1]),
                 "--params", "deribit-style@2024-06-17", "--only-differences"]) == 1
    out = capsys.readouterr().out
    assert "First difference: parameter model_params.currency_pair.eth_usd.volatility_range_up is 0.4" in out


def test_rounding_is_explained(tmp_path: Path) -> None:
    """A set that does not round: the margins differ by < 1e-9 and reconcile says rounding."""
    from spanlike import params

    ps = params.load("deribit-style")
    eth = ps.commodity("ETH")
    unrounded = ps.model_copy(update={"combined_commodities": tuple(
        cc.model_copy(update={"exchange": cc.exchange.model_copy(update={"round_decimals": None})})
        if cc.name == "ETH" else cc for cc in ps.combined_commodities)})
    assert eth.exchange.round_decimals == 9
    rec = reconcile(str(DATA / FILES[1]), parameter_set=unrounded)
    assert not rec.agree
    assert rec.explanation.startswith("First difference: rounding. margins.eth.initial_margin_details.risk_matrix_margin")


def test_printed_tolerance() -> None:
    assert printed_tolerance(0.0, "0") == 1e-12  # at most 1e-12 however short the print
    assert printed_tolerance(0.00315725898, "0.00315725898") == 1e-12
    t = 0.05968587238095239
    assert printed_tolerance(t, "0.05968587238095239") == 2 * __import__("math").ulp(t)


@pytest.mark.parametrize("content,message", [
    ("{", "is not valid JSON"),
    ('{"result": {"margins": {}}}', "reconcile compares one currency's response"),
    ('{"result": {}}', "'margins' is missing"),
    ('{"error": {"code": 13009, "message": "unauthorized"}}', "is an error response"),
    ('{"result": {"margins": {"btc": {}}, "x": NaN}}', "NaN is not a number JSON allows"),
    ('{"result": {"margins": {"btc": {}}, "margins": {}}}', "key 'margins' appears twice in one object"),
])
def test_bad_input_exits_2(tmp_path: Path, capsys, content: str, message: str) -> None:
    path = tmp_path / "r.json"
    path.write_text(content)
    assert main(["reconcile", "--venue", "deribit", "--simulate", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_missing_file_exits_2(tmp_path: Path, capsys) -> None:
    assert main(["reconcile", "--venue", "deribit", "--simulate", str(tmp_path / "none.json")]) == 2
    assert "none.json" in capsys.readouterr().err
