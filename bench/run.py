"""Measure the baked template against the original demo and bare ASGI apps.

Run it with `bash bench/run.sh` (which installs what it needs). Every contender
is served by its own server process, and the contenders take turns in every
round, so that drift in this machine's speed falls on all of them alike.
Figures are medians over the rounds; ratios compare medians from this one run.
It prints the tables and writes bench/results.json (keeping the figures of
scenarios it did not run) and the charts. Each scenario is a file of
bench/scenarios/; the lists below say which run by default.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
from contextlib import ExitStack
from datetime import date
from pathlib import Path

from contenders import ROOT, Bench
from report import bars
from scenarios.broadcast import Broadcast
from scenarios.capacity import Capacity
from scenarios.echo import Echo
from scenarios.guestbook import Guestbook
from scenarios.http import Http
from scenarios.nanodjango import Nanodjango
from scenarios.outage import Outage
from scenarios.restart import Restart
from scenarios.servers import Servers
from scenarios.soak import Soak
from scenarios.tasks import Tasks
from scenarios.who import Who

DEFAULT = [Http, Guestbook, Nanodjango, Echo, Who, Broadcast, Servers, Outage, Tasks]
ON_REQUEST = [Capacity, Restart, Soak]  # minutes each, e.g. --only capacity
NAMES = {scenario.name: scenario for scenario in DEFAULT + ON_REQUEST}


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=NAMES, help="these scenarios")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5, help="per load test")
    parser.add_argument("--sockets", type=int, default=2000, help="idle, held open")
    parser.add_argument("--members", type=int, default=1000, help="in the chat room")
    parser.add_argument("--goal", type=int, default=10000, help="capacity: measured at")
    parser.add_argument("--capacity", type=int, default=50000, help="the ramp's end")
    parser.add_argument("--idle", type=int, default=20, help="capacity: seconds idle")
    parser.add_argument("--pages", type=int, default=10000, help="restart: open")
    parser.add_argument("--soak", type=int, default=240, help="soak: seconds")
    parser.add_argument("--soak-pages", type=int, default=1000, help="soak: open")
    parser.add_argument("--down", type=int, default=20, help="outage: seconds")
    parser.add_argument("--output", type=Path, default=ROOT / "bench")
    parser.add_argument("--no-chart", action="store_true", help="skip the charts")
    return parser.parse_args()


def main():
    args = arguments()
    chosen = [NAMES[name] for name in args.only] if args.only else DEFAULT
    for scenario in chosen:
        if missing := [n for n in scenario.needs if not shutil.which(n)]:
            sys.exit(f"bench: {scenario.name} needs {', '.join(missing)}: install it")
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    with ExitStack() as stack:
        bench = Bench(args, work, stack)
        scenarios = [scenario(bench) for scenario in chosen]
        for number in range(args.rounds):
            for scenario in scenarios:
                scenario.round(number)
        results = {scenario.name: scenario.results() for scenario in scenarios}
    shutil.rmtree(work)
    write(results, args)
    for scenario in scenarios:
        print("\n" + scenario.report(results[scenario.name]))
    if not args.no_chart:
        for scenario in scenarios:
            scenario.chart(results[scenario.name], args.output)
        if "http" in results and "echo" in results:
            bars(results, args.output / "results.png")


def write(results, args):
    """Add this run's figures to results.json, over those of the same scenarios."""
    path = args.output / "results.json"
    everything = json.loads(path.read_text()) if path.exists() else {}
    run = {
        "date": date.today().isoformat(),
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "rounds": args.rounds,
        "seconds": args.seconds,
    }
    for name, figures in results.items():
        everything[name] = {"run": run, **figures}
    args.output.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(everything, indent=2) + "\n")


if __name__ == "__main__":
    main()
