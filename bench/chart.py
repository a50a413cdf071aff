"""chart.png: each endpoint's share of the ceiling and its tail (p99 / p50), against the targets."""

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

from bench.figures import RATIO_TARGETS, TAIL_TARGET

COLOURS = ["#3d5a8a", "#c0573e"]  # small catalogue, large catalogue
WIDTH = 0.38


def draw(report: dict, labels: dict[str, str], path) -> None:
    """Grouped bars, one group per endpoint: the small catalogue and, where measured, the
    large one; whiskers span the rounds, diamonds are the share CPU per request predicts
    (steady on a busy machine); short red lines are the targets."""
    phases = [report["phases"]["main"]]
    if "scale" in report["phases"]:
        phases.append(report["phases"]["scale"])
    keys = [key for key in phases[0]["median"] if key != "ceiling"]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 8.5), sharex=True)
    highest = max(RATIO_TARGETS.values())
    for number, (data, colour) in enumerate(zip(phases, COLOURS, strict=False)):
        xs, ratios, spread, p99s, cpu_ratios = [], [], [[], []], [], []
        for i, key in enumerate(keys):
            median = data["median"].get(key)
            if median is None:
                continue
            in_both = all(key in phase["median"] for phase in phases)
            xs.append(i + (number - (len(phases) - 1) / 2) * WIDTH if in_both else i)
            ratios.append(median["ratio"] * 100)
            spread[0].append((median["ratio"] - median["ratio_range"][0]) * 100)
            spread[1].append((median["ratio_range"][1] - median["ratio"]) * 100)
            p99s.append(median["tail_max"] or 0)
            cpu_ratios.append((median["cpu_ratio"] or 0) * 100)
            highest = max(highest, median["ratio_range"][1], median["cpu_ratio"] or 0)
        label = f"{data['products']:,} products"
        top.bar(xs, ratios, WIDTH, yerr=spread, capsize=3, color=colour, label=label)
        for x, ratio, above in zip(xs, ratios, spread[1], strict=True):
            top.annotate(
                f"{ratio:.0f}%",
                (x, ratio + above),
                ha="center",
                va="bottom",
                fontsize=8,
                xytext=(0, 2),
                textcoords="offset points",
            )
        top.scatter(
            xs,
            cpu_ratios,
            marker="D",
            s=18,
            color="black",
            zorder=3,
            label="predicted from CPU per request" if number == 0 else None,
        )
        bottom.bar(xs, p99s, WIDTH, color=colour, label=label)
    for i, key in enumerate(keys):
        if key in RATIO_TARGETS:
            top.hlines(RATIO_TARGETS[key] * 100, i - 0.45, i + 0.45, colors="red", linewidth=2)
    top.plot([], [], color="red", linewidth=2, label="target")
    top.set_ylim(0, highest * 100 * 1.3)
    top.set_ylabel("req/s as % of the ceiling's (median)")
    top.legend(loc="upper left", ncol=2, fontsize=9)
    top.grid(axis="y", alpha=0.3)
    bottom.axhline(TAIL_TARGET, color="red", linewidth=1.5, label="target")
    bottom.set_ylim(bottom=0)
    bottom.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}x"))
    bottom.set_ylabel("p99 / p50 (its worst round)")
    bottom.legend(loc="upper left", ncol=3)
    bottom.grid(axis="y", alpha=0.3)
    bottom.set_xticks(range(len(keys)), [labels.get(k, k) for k in keys], rotation=25, ha="right")
    meta, ceiling = report["meta"], phases[0]["median"]["ceiling"]
    bare = phases[0]["median"].get("bare")
    fig.suptitle(
        f"Corner Shop against its ceiling ({ceiling['req_per_s']:,.0f} req/s"
        + (
            f", {ceiling['bare_ratio']:.0%} of bare Django's {bare['req_per_s']:,.0f}"
            if bare
            else ""
        )
        + f"): gunicorn {meta['gunicorn']['workers']} workers x "
        f"{meta['gunicorn']['threads']} threads, wrk -c{meta['load']['connections']}, "
        f"median of {meta['load']['rounds']} rounds\n{meta['machine']['nproc']} cores "
        f"({meta['machine']['cpu_model']}), release {meta['version']}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
