"""The benchmark harness runs and reports every contender (no speed is judged here)."""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from helpers import ROOT, clean_env

CONTENDERS = {
    "http": [
        "original demo",
        "bare ASGI hello",
        "template (default)",
        "template (default), no event-loop hooks",
        "template (asgi)",
        "template (channels)",
    ],
    "guestbook": [
        "guestbook async, sqlite",
        "guestbook sync, sqlite",
        "guestbook async, postgres",
        "guestbook sync, postgres",
    ],
    "nanodjango": [
        "template (default)",
        "nanodjango",
        "template guestbook",
        "nanodjango guestbook",
    ],
    "echo": [
        "bare ASGI echo",
        "bare Channels echo",
        "template (asgi)",
        "template (channels)",
    ],
    "who": ["AuthMiddlewareStack (as baked)", "no AuthMiddlewareStack"],
    "broadcast": ["in memory, 1 process", "Redis, 2 processes"],
    "servers": [
        "default bake, daphne",
        "default bake, uvicorn",
        "default bake, granian",
        "asgi bake, daphne",
        "asgi bake, uvicorn",
        "asgi bake, granian",
    ],
    "outage": ["Redis", "PostgreSQL, asgi", "PostgreSQL, channels"],
    "tasks": [
        f"{measure}, {database}"
        for database in ("sqlite", "postgres")
        for measure in (
            "POST without the task",
            "POST with the task",
            "1 worker",
            "2 workers",
            "queue wait at 10 entries/s",
        )
    ],
}
# The capacity scenario's own options, small: it ramps through nginx.
CAPACITY = ["--goal", "100", "--capacity", "150", "--idle", "1"]


SHORT = [
    "--rounds",
    "1",
    "--seconds",
    "1",
    "--sockets",
    "100",
    "--members",
    "20",
    "--down",
    "1",
    "--no-chart",  # matplotlib is the benchmark's, not the tests'
]


def bench(output, *arguments):
    return subprocess.run(
        [
            sys.executable,
            ROOT / "bench" / "run.py",
            *SHORT,
            "--output",
            output,
            *arguments,
        ],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_one_short_round_reports_every_contender(tmp_path):
    # Its two halves at once (no speed is judged here): a minute less.
    halves = {
        tmp_path / "a": list(CONTENDERS)[:4],
        tmp_path / "b": list(CONTENDERS)[4:],
    }
    for output in halves:
        output.mkdir()

    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda h: bench(h[0], "--only", *h[1]), halves.items()))

    assert [run.returncode for run in runs] == [0, 0], [run.stderr for run in runs]
    results = {}
    for output in halves:
        results |= json.loads((output / "results.json").read_text())
    assert {name: list(f["contenders"]) for name, f in results.items()} == CONTENDERS
    assert all(f["rps"] > 0 for f in results["http"]["contenders"].values())
    assert all(f["rps"] > 0 for f in results["guestbook"]["contenders"].values())
    assert all(f["rps"] > 0 for f in results["servers"]["contenders"].values())
    assert all(f["rps"] > 0 for f in results["nanodjango"]["contenders"].values())
    assert results["http"]["contenders"]["original demo"]["rps_vs_demo"] == 1
    assert results["http"]["speed_section"] > 0
    assert all(f["connects_per_s"] > 0 for f in results["who"]["contenders"].values())
    outage = results["outage"]["contenders"]
    assert all(f >= 0 for figures in outage.values() for f in figures.values())
    tasks = results["tasks"]["contenders"]
    assert all(value > 0 for figures in tasks.values() for value in figures.values())
    assert "| template (default) |" in runs[0].stdout


def test_the_capacity_ramp_reports_every_contender(tmp_path):
    (tmp_path / "results.json").write_text('{"http": {"kept": true}}')

    result = bench(tmp_path, "--only", "capacity", *CAPACITY)

    assert result.returncode == 0, result.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["http"] == {"kept": True}
    contenders = results["capacity"]["contenders"]
    assert list(contenders) == CONTENDERS["echo"]
    for figures in contenders.values():
        assert (figures["held_at_goal"], figures["held"]) == (100, 150)
        assert (figures["echoes_lost"], figures["stopped"]) == (
            0,
            "nothing (the ramp's end)",
        )
    assert "| template (channels) | 100 |" in result.stdout


def test_an_unknown_scenario_is_refused(tmp_path):
    result = bench(tmp_path, "--only", "nowhere")

    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_after_a_restart_every_page_is_back(tmp_path):
    result = bench(tmp_path, "--only", "restart", "--pages", "300")

    assert result.returncode == 0, result.stderr
    restart = json.loads((tmp_path / "results.json").read_text())["restart"]
    figures = restart["contenders"]["template (asgi)"]
    assert (figures["pages"], figures["back"]) == (300, 300)
    assert figures["listen_overflows"] == 0
    assert 0 < figures["down_s"] < figures["all_back_s"]


def test_the_soak_loses_no_message(tmp_path):
    # Its short form: 100 pages for 45 s, Redis restarted at 15 s, a daphne at 30.
    result = bench(tmp_path, "--only", "soak", "--soak", "45", "--soak-pages", "100")

    assert result.returncode == 0, result.stderr
    soak = json.loads((tmp_path / "results.json").read_text())["soak"]
    figures = soak["contenders"]["template (channels)"]
    assert figures["lost"] == 0
    assert figures["acked"] >= 40  # of 45: a few are said while the sender is away
    assert figures["delivered"] >= 40 * 90
    pages_away = {restart: f["pages"] for restart, f in figures["away"].items()}
    assert pages_away == {"redis": 100, "daphne": 50}
