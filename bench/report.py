"""The report: markdown tables (printed, and pasted into bench/README.md) and
the charts (bench/results.png, bench/capacity.png)."""


def table(header, rows):
    """A markdown table: header is a list of column names (a name that starts
    with "<" is left-aligned, the rest right-aligned); rows are lists of text."""
    names = [name.lstrip("<") for name in header]
    align = ["---" if name.startswith("<") else "---:" for name in header]
    lines = [names, align, *rows]
    return "\n".join("| " + " | ".join(map(str, line)) + " |" for line in lines)


def ratio(value):
    return f"{value:.2f}x"


def bars(results, path):
    """HTTP requests/s and websocket echoes/s of the contenders, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    panels = [
        ("http", "rps", "HTTP requests/s (32 connections)"),
        ("echo", "echoes_per_s", "Websocket echoes/s (10 clients)"),
    ]
    for axis, (kind, key, title) in zip(axes, panels, strict=True):
        contenders = results[kind]["contenders"]
        names = list(contenders)
        values = [contenders[name][key] for name in names]
        drawn = axis.barh(names, values, color="#44728c")
        axis.bar_label(drawn, fmt="%.0f", padding=3)
        axis.set_title(title)
        axis.invert_yaxis()
        axis.margins(x=0.2)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def ramps(capacity, path):
    """Server memory against websockets held, one line per contender."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 4.5))
    for name, figures in capacity["contenders"].items():
        steps = figures["ramp"]
        axis.plot(
            [step["held"] for step in steps],
            [step["rss_mib"] for step in steps],
            marker=".",
            label=name,
        )
    axis.set_xlabel("websockets held (through nginx, TLS)")
    axis.set_ylabel("daphne RSS, MiB")
    axis.set_title("One daphne process as the README deploys it")
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
