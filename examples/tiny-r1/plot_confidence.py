#!/usr/bin/python3
"""Draw accuracy against generated tokens per problem for majority@N and the
confidence-guided votes (DeepConf, arXiv 2508.15260) from tiny-r1-eval's
--csv output (rows "sc" and "conf"):

    /usr/bin/python3 examples/tiny-r1/plot_confidence.py results.csv confidence.png
"""

import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(src, dst):
    rows = list(csv.DictReader(open(src)))
    sc = [r for r in rows if r["kind"] == "sc"]
    conf = [r for r in rows if r["kind"] == "conf" and not r["value"].startswith("offline/majority")]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    xs = [float(r["tokens_per_problem"]) for r in sc]
    ax.plot(xs, [float(r["accuracy"]) for r in sc], "s--", color="tab:orange", label="majority@N")
    for r, x in zip(sc, xs):
        ax.annotate(f"N={r['value']}", (x, float(r["accuracy"])), textcoords="offset points", xytext=(-6, -12),
                    fontsize=8)
    for r in conf:
        x, y = float(r["tokens_per_problem"]), float(r["accuracy"])
        ax.plot([x], [y], "o", color="tab:green")
        ax.annotate(r["value"].replace(", weighted", ""), (x, y), textcoords="offset points", xytext=(4, 4),
                    fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("generated tokens per problem (all chains)")
    ax.set_ylabel("held-out accuracy (%)")
    ax.set_title(f"tiny-r1: confidence-guided voting at N=16 ({sc[0]['problems']} problems)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(dst)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
