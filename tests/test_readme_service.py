"""The README's curl session against `spanlike serve` runs as written (on a free port, in a scratch folder).

Skipped with the reason where curl or bash is missing. Checks: every command exits 0, the account is
created, the what-if accepts, the fill is applied, the market update revalues, the event stream
holds the account's events.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _session() -> list[str]:
    text = README.read_text()
    start = text.index("$ KEY=$(.venv/bin/spanlike serve")
    block = text[start:text.index("```", start)]
    commands: list[str] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            commands.append(line[2:])
        elif commands and line.startswith("    "):  # a continued command
            commands[-1] += "\n" + line
    return commands


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_readme_curl_session_runs_as_written(tmp_path: Path) -> None:
    if shutil.which("curl") is None or shutil.which("bash") is None:
        pytest.skip("curl and bash are needed to run the README's curl session")
    exe = Path(sys.executable).parent / "spanlike"
    if not exe.exists():
        pytest.skip("the spanlike console script is not installed beside this interpreter")
    port = str(_free_port())
    script = "\n".join(_session())
    script = script.replace(".venv/bin/spanlike", str(exe)).replace("8000", port)
    # Each step's output on its own line, and stop at the first failing step (the server is killed at exit).
    script = "set -e\ntrap 'kill %1 2>/dev/null || true' EXIT\n" + re.sub(r"\n(?=curl )", "\necho\n", script)
    out = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout
    assert '"status":"ok"' in text and '"account":"acc-1"' in text
    assert '"accept":true' in text
    assert '"applied":["f-1"]' in text
    assert '"revalued_instruments":1' in text
    assert "event: account_created" in text
