"""The benchmark harness runs and reports every contender (no speed is judged here)."""

import json
import subprocess
import sys

from helpers import ROOT, clean_env

HTTP = [
    "original demo",
    "bare ASGI hello",
    "template (default)",
    "template (default), no event-loop hooks",
    "template (asgi)",
    "template (channels)",
]
DATABASE = [
    "guestbook async, sqlite",
    "guestbook sync, sqlite",
    "guestbook async, postgres",
    "guestbook sync, postgres",
]
WEBSOCKET = [
    "bare ASGI echo",
    "bare Channels echo",
    "template (asgi)",
    "template (channels)",
]


def test_one_short_round_reports_every_contender(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            ROOT / "bench" / "run.py",
            "--rounds",
            "1",
            "--seconds",
            "1",
            "--sockets",
            "100",
            "--output",
            tmp_path,
            "--no-chart",  # matplotlib is the benchmark's, not the tests'
        ],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    assert list(results["http"]) == HTTP
    assert list(results["websocket"]) == WEBSOCKET
    assert all(figures["rps"] > 0 for figures in results["http"].values())
    assert list(results["database"]) == DATABASE
    assert all(figures["rps"] > 0 for figures in results["database"].values())
    assert list(results["broadcast"]) == ["in memory, 1 process", "Redis, 2 processes"]
    assert list(results["auth"]) == [
        "AuthMiddlewareStack (as baked)",
        "no AuthMiddlewareStack",
    ]
    assert all(f["connects_per_s"] > 0 for f in results["auth"].values())
    assert results["http"]["original demo"]["rps_vs_demo"] == 1
    assert results["speed_section"] > 0
    assert "| template (default) |" in result.stdout
