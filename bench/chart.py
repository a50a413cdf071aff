"""chart.png: each endpoint's share of the ceiling and its p99, against the issue's targets."""

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server

import matplotlib.pyplot as plt

from bench.figures import P99_TARGET_MS, RATIO_TARGETS

SMALL, LARGE = "#3d5a8a", "#c0573e"


def draw(report: dict, labels: dict[str, str], path) -> None:
    """Grouped bars, one group per endpoint: the small catalogue and, where measured, the
    large one; whiskers span the rounds; short red lines are the targets."""
    main = report["phases"]["main"]
    scale = report["phases"].get("scale")
    keys = [key for key in main["median"] if key != "ceiling"]
    width = 0.38 if scale else 0.6
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 8), sharex=True)
    phases = [(main, SMALL, 0.0)]
    if scale:
        phases.append((scale, LARGE, width))
    for data, colour, shift in phases:
        present = [(i, key) for i, key in enumerate(keys) if key in data["median"]]
        xs = [i + shift - (width / 2 if scale else 0) for i, _ in present]
        medians = [data["median"][key] for _, key in present]
        ratios = [m["ratio"] * 100 for m in medians]
        spread = [
            [(m["ratio"] - m["ratio_range"][0]) * 100 for m in medians],
            [(m["ratio_range"][1] - m["ratio"]) * 100 for m in medians],
        ]
        label = f"{data['products']:,} products"
        top.bar(xs, ratios, width, yerr=spread, capsize=3, color=colour, label=label)
        for x, ratio in zip(xs, ratios, strict=True):
            top.annotate(
                f"{ratio:.0f}%",
                (x, ratio),
                ha="center",
                va="bottom",
                fontsize=8,
                xytext=(0, 3),
                textcoords="offset points",
            )
        bottom.bar(xs, [m["p99_ms"] for m in medians], width, color=colour, label=label)
    for i, key in enumerate(keys):
        if key in RATIO_TARGETS:
            top.hlines(RATIO_TARGETS[key] * 100, i - 0.45, i + 0.45, colors="red", linewidth=2)
    top.plot([], [], color="red", linewidth=2, label="target")
    top.set_ylabel("req/s as % of the ceiling (median)")
    top.legend(loc="upper right")
    top.grid(axis="y", alpha=0.3)
    bottom.axhline(
        P99_TARGET_MS, color="red", linewidth=1.5, label=f"p99 target {P99_TARGET_MS:g} ms"
    )
    bottom.set_yscale("log")
    bottom.set_ylabel("p99 latency, ms (median, log scale)")
    bottom.legend(loc="upper left")
    bottom.grid(axis="y", alpha=0.3)
    bottom.set_xticks(range(len(keys)), [labels.get(k, k) for k in keys], rotation=30, ha="right")
    meta = report["meta"]
    load = meta["load"]
    fig.suptitle(
        f"Corner Shop vs its ceiling: gunicorn {meta['gunicorn']['workers']}x"
        f"{meta['gunicorn']['threads']} gthread, wrk -c{load['connections']}, "
        f"median of {load['rounds']} rounds ({meta['machine']['nproc']} cores, "
        f"{meta['machine']['cpu_model']})",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
