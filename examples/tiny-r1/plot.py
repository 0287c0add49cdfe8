#!/usr/bin/python3
"""Draw tiny-r1's test-time-compute plot from tiny-r1-eval's --csv output.

    /usr/bin/python3 examples/tiny-r1/plot.py results.csv accuracy.png

x: thinking tokens spent per problem (mean over the problems; for
self-consistency the sum over the n samples), y: held-out accuracy. One curve
for the greedy thinking budgets (points labelled with the budget), one for
self-consistency votes (labelled n). Needs matplotlib (Debian python3-matplotlib).
"""

import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(src, dst):
    rows = list(csv.DictReader(open(src)))
    budget = [r for r in rows if r["kind"] == "budget"]
    sc = [r for r in rows if r["kind"] == "sc"]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    if budget:
        xs = [float(r["mean_thinking_tokens"]) for r in budget]
        ys = [float(r["accuracy"]) for r in budget]
        ax.plot(xs, ys, "o-", color="tab:blue",
                label=f"thinking budget, greedy ({budget[0]['problems']} problems)")
        for r, x, y in zip(budget, xs, ys):
            label = "unlimited" if int(r["value"]) < 0 else f"budget {r['value']}"
            ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, -12), fontsize=8)
    if sc:
        xs = [float(r["mean_thinking_tokens"]) * int(r["value"]) for r in sc]
        ys = [float(r["accuracy"]) for r in sc]
        ax.plot(xs, ys, "s--", color="tab:orange",
                label=f"self-consistency vote, temp sampling ({sc[0]['problems']} problems)")
        for r, x, y in zip(sc, xs, ys):
            ax.annotate(f"n={r['value']}", (x, y), textcoords="offset points", xytext=(-6, 8), fontsize=8)
    ax.set_xscale("symlog", linthresh=8)
    ax.set_xlabel("thinking tokens per problem")
    ax.set_ylabel("held-out accuracy (%)")
    ax.set_ylim(0, 102)
    ax.set_title("tiny-r1 on dseek: accuracy vs test-time compute")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(dst)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
