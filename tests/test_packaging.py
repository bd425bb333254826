"""The installed import names cannot be shadowed by a user's own files.

``params/`` and ``risk_arrays/`` install as ``spanlike.params`` and
``spanlike.risk_arrays``, so a ``params.py`` or ``risk_arrays.py`` beside a
user's script or notebook must not break ``import spanlike`` or the CLI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

_SHADOWS = {
    "params.py": "raise SystemExit('the user params.py was imported')\n",
    "risk_arrays.py": "raise SystemExit('the user risk_arrays.py was imported')\n",
}


def _shadowed_dir(tmp_path: Path) -> Path:
    for name, text in _SHADOWS.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def _env() -> dict[str, str]:
    # The script's own directory, not the repository, is what a user has on sys.path.
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


def test_import_and_margin_beside_user_params_py(tmp_path: Path) -> None:
    work = _shadowed_dir(tmp_path)
    script = work / "script.py"
    script.write_text(
        "from importlib.resources import files\n"
        "import spanlike\n"
        "from spanlike import params\n"
        "data = files('spanlike') / 'data'\n"
        "r = spanlike.margin(data / 'demo_portfolio.csv', data / 'demo_market.json', 'crypto-span')\n"
        "assert params.available(), params.available()\n"
        "print(round(r.initial_margin_usd, 2))\n"
    )
    out = subprocess.run([sys.executable, str(script)], cwd=work, env=_env(), capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout.strip()) > 0.0


def test_cli_demo_beside_user_params_py(tmp_path: Path) -> None:
    exe = shutil.which("spanlike", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("the spanlike console script is not installed beside this interpreter")
    work = _shadowed_dir(tmp_path)
    out = subprocess.run([exe, "demo"], cwd=work, env=_env(), capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "initial margin" in out.stdout.lower()


def test_every_package_is_listed_in_pyproject() -> None:
    """A package missing from pyproject's explicit list installs as an editable checkout but not as a
    wheel, so the list is checked against the tree (folders with an __init__.py)."""
    import tomllib

    root = Path(__file__).resolve().parents[1]
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    mapping = config["package-dir"]
    found = set()
    for name, folder in [("spanlike", "spanlike")] + [(k, v) for k, v in mapping.items()]:
        for init in (root / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(root / folder)
            found.add(".".join([name, *rel.parts]) if rel.parts else name)
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
