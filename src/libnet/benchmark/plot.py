"""``--plot FILE.png``: per-container latency against the number of
containers on the host, for every system (matplotlib, the ``plot`` extra).

Left: setup, right: teardown.  For each system, a line of the rolling
median of container k's latency against k (the number of containers on the
host when it ran), and markers at the scaling points with the p50 and p99
of containers 0..n-1.  Log scale: the systems differ by orders of magnitude.
"""

from __future__ import annotations

from typing import Any

__all__ = ["plot"]

COLORS = {"libnet": "#1f77b4", "kernel": "#2ca02c", "netavark": "#d62728",
          "cni": "#ff7f0e", "naive": "#7f7f7f"}


def _rolling_median(values: list[float], window: int) -> list[float]:
    import statistics
    half = window // 2
    return [statistics.median(values[max(0, i - half):i + half + 1]) for i in range(len(values))]


def plot(results: dict[str, Any], path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .density import prefix_stats

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    for ax, metric in zip(axes, ("setup", "teardown")):
        for name, r in results["systems"].items():
            if r.get("status") != "ok" or not r.get("containers"):
                continue
            series = r["series_ms"][metric]
            color = COLORS.get(name)
            window = max(1, min(51, len(series) // 10 | 1))
            xs = list(range(1, len(series) + 1))
            ax.plot(xs, _rolling_median(series, window), color=color, lw=1.4, label=name)
            pts = [n for n in results.get("scaling", []) if n <= r["containers"]]
            if r["containers"] not in pts:
                pts.append(r["containers"])
            p50 = [prefix_stats(r, n)[metric]["p50_ms"] for n in pts]   # type: ignore[index]
            p99 = [prefix_stats(r, n)[metric]["p99_ms"] for n in pts]   # type: ignore[index]
            ax.plot(pts, p50, "o", color=color, ms=5)
            ax.plot(pts, p99, "^", color=color, ms=5, mfc="none")
        ax.set_yscale("log")
        ax.set_xlabel("containers on the host (n)")
        ax.set_title(f"{metric} per container")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("milliseconds (log)")
    handles, labels = axes[0].get_legend_handles_labels()
    from matplotlib.lines import Line2D
    handles += [Line2D([], [], ls="", marker="o", color="k", ms=5),
                Line2D([], [], ls="", marker="^", color="k", ms=5, mfc="none")]
    labels += ["p50 of containers 1..n", "p99 of containers 1..n"]
    axes[1].legend(handles, labels, loc="best", fontsize=8)
    h = results.get("host", {})
    fig.suptitle(f"libnet density benchmark: {_workload(results)} "
                 f"(Linux {h.get('kernel', '?')}, {h.get('cpus', '?')} CPUs); "
                 "line: rolling median", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _workload(results: dict[str, Any]) -> str:
    return f"veth + bridge + {results.get('ports_per_container', 4)} published ports per container"
