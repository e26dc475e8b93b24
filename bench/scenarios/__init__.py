"""The benchmark's scenarios: each file measures one thing, and adding a
scenario is adding a file (and its class to a list in run.py).

A scenario is made with the run's Bench (contenders.Bench), is asked for one
round at a time, then for its results (what goes into results.json under its
name) and its report (markdown, printed and pasted into bench/README.md).
"""

import statistics
from collections import defaultdict


class Scenario:
    name = ""  # its key in results.json, and its name for --only
    needs = []  # programs it runs, besides daphne

    def __init__(self, bench):
        self.bench = bench
        self.rounds = defaultdict(list)  # contender name: figures of each round

    def round(self, number):
        raise NotImplementedError

    def results(self):
        return {"contenders": {name: median_of(r) for name, r in self.rounds.items()}}

    def report(self, results):
        raise NotImplementedError

    def chart(self, results, output):
        """Draw a chart into the output folder, if the scenario has one."""

    def record(self, number, name, figures, summary):
        self.rounds[name].append(figures)
        print(f"round {number + 1}: {self.name}: {name}: {summary}", flush=True)


def median_of(rounds):
    return {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}


def in_turn(contenders, number):
    """The contenders, a different one first in each round, so that drift in
    the machine's speed falls on all of them."""
    turn = number % len(contenders)
    return contenders[turn:] + contenders[:turn]
