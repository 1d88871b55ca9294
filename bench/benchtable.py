"""The side-by-side table printed by compare.py and after `pytest bench/`.

Rows are (group, contender, median seconds[, minimum seconds]).  In each group, ratios are
time(row) / time(reference): against the "libnet" row and, where the group
has one, the "kernel" row (the kernel's own cost: pre-built bytes on a
plain socket).  A target is (contender, reference, op, bound) on such a
ratio; only ratios measured in the same run mean anything on a noisy
machine.
"""

from __future__ import annotations

import operator
from typing import Iterable

_OPS = {"<=": operator.le, ">=": operator.ge}

# Every benchmark module registers its targets here (group -> targets), and
# figures quoted elsewhere ((group, contender) -> text) shown for reference.
TARGETS: dict[str, list[tuple[str, str, str, float]]] = {}
QUOTED: dict[tuple[str, str], str] = {}


def register(targets: dict, quoted: dict | None = None) -> None:
    TARGETS.update(targets)
    QUOTED.update(quoted or {})


def _fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.2f} us"


def _target_text(contender: str, reference: str, op: str, bound: float) -> str:
    if reference == "libnet" and op == ">=":
        return f"libnet >= {bound:g}x faster"
    return f"{op} {bound:g}x {reference}"


def evaluate(rows: Iterable[tuple], targets: dict) -> list[dict]:
    """Each target with its measured ratio (of medians, and of minimums) and
    whether it passed (on the medians)."""
    med = {(r[0], r[1]): r[2] for r in rows}
    low = {(r[0], r[1]): r[3] for r in rows if len(r) > 3}
    out = []
    for group, items in targets.items():
        for contender, reference, op, bound in items:
            a, b = med.get((group, contender)), med.get((group, reference))
            ratio = a / b if a and b else None
            a, b = low.get((group, contender)), low.get((group, reference))
            ratio_min = a / b if a and b else None
            out.append({"group": group, "contender": contender, "reference": reference,
                        "op": op, "bound": bound, "ratio": ratio, "ratio_min": ratio_min,
                        "passed": None if ratio is None else _OPS[op](ratio, bound)})
    return out


def render(rows: list[tuple], targets: dict, quoted: dict | None = None) -> str:
    """A text table of rows (group, contender, median[, min]): the median,
    the minimum, the median's ratio to libnet's and to the kernel's cost, the
    target and pass/fail (on medians; the ratio of minimums in brackets)."""
    quoted = quoted or {}
    order: dict[str, list[tuple]] = {}
    for r in rows:                      # groups in order of first appearance
        order.setdefault(r[0], []).append(r)
    rows = [r for g in order.values() for r in g]
    med = {(r[0], r[1]): r[2] for r in rows}
    verdicts = {(v["group"], v["contender"]): v for v in evaluate(rows, targets)}
    header = ("group", "contender", "median", "min", "x libnet", "x kernel", "target", "result")
    lines = [header]
    for r in rows:
        group, contender, m = r[0], r[1], r[2]
        lo = r[3] if len(r) > 3 else None
        lib = med.get((group, "libnet"))
        ker = med.get((group, "kernel"))
        v = verdicts.get((group, contender))
        target = result = ""
        if v is not None:
            target = _target_text(contender, v["reference"], v["op"], v["bound"])
            if v["passed"] is None:
                result = "n/a"
            else:
                result = f"{'PASS' if v['passed'] else 'FAIL'} {v['ratio']:.2f}x"
                if v["ratio_min"] is not None:
                    result += f" (min {v['ratio_min']:.2f}x)"
        elif (group, contender) in quoted:
            target = quoted[(group, contender)]
        lines.append((group, contender, _fmt_time(m), _fmt_time(lo) if lo else "",
                      f"{m / lib:.2f}" if lib else "",
                      f"{m / ker:.2f}" if ker else "",
                      target, result))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    out = []
    prev = None
    for i, line in enumerate(lines):
        if i > 1 and line[0] != prev:
            out.append("")
        prev = line[0]
        out.append("  ".join(str(cell).ljust(w) for cell, w in zip(line, widths)).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
