"""Summarises and plots bandwidth-estimate runs (bwe-compare's CSV rows).

  cc_plot.py --capacity BPS [--out plot.svg] [--title T] NAME=CSV [NAME=CSV ...]

Each CSV has the header time_s,estimate_bps,rtt_ms,sent_bps (empty fields
allowed: no estimate or no round trip yet). For each series it prints one
line: the time the estimate first reached 85% of the capacity (or
"never"; and the first time from which it stayed there for 2 s: a
start-up probe may overshoot once), the mean queueing delay (the mean round trip minus the least
seen; also from the held time on), the mean estimate and sending rate over the second half. With
--out it draws the estimates (thick) and the rates sent (dotted) over the
capacity line, and the round trips below them, into an SVG. Standard library only. Exit status 1 on a file it
cannot read or a malformed row.
"""

import argparse
import sys

HOLD = 2.0
COLORS = ["#1f5fbf", "#d9480f", "#2b8a3e", "#862e9c"]


class Bad(Exception):
    pass


def number(field, what, where):
    if field.strip() == "":
        return None
    try:
        v = float(field)
    except ValueError:
        raise Bad(f"{where}: {what} is not a number: {field!r}") from None
    if v != v or v in (float("inf"), float("-inf")):
        raise Bad(f"{where}: {what} is not finite: {field!r}")
    return v


def read(path):
    """Rows (t, estimate or None, rtt_ms or None, sent or None) of one CSV."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise Bad(f"{path}: {e}") from None
    rows = []
    for i, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("time_s"):
            continue
        fields = line.split(",")
        if len(fields) != 4:
            raise Bad(f"{path}:{i}: expected 4 fields, found {len(fields)}: {line[:80]!r}")
        where = f"{path}:{i}"
        t = number(fields[0], "time_s", where)
        if t is None:
            raise Bad(f"{where}: no time")
        rows.append((t, number(fields[1], "estimate_bps", where),
                     number(fields[2], "rtt_ms", where), number(fields[3], "sent_bps", where)))
    rows.sort(key=lambda r: r[0])
    return rows


def mean(values):
    return sum(values) / len(values) if values else None


def summary(rows, capacity):
    """(time to 85% or None, the same held for HOLD s, mean queueing delay ms (all, and from then on), mean RTT, min RTT, RTT samples,
    mean estimate and mean sent over the second half)."""
    reached = next((t for t, e, _, _ in rows if e is not None and e >= 0.85 * capacity), None)
    held = None  # the first time from which it stays at 85% or more for HOLD seconds
    for i, (t, _, _, _) in enumerate(rows):
        span = [e for u, e, _, _ in rows[i:] if u <= t + HOLD]
        if rows[-1][0] >= t + HOLD and all(e is not None and e >= 0.85 * capacity for e in span):
            held = t
            break
    rtts = [r for _, _, r, _ in rows if r is not None]
    queue = mean(rtts) - min(rtts) if rtts else None
    after = [r for t, _, r, _ in rows if r is not None and held is not None and t >= held]
    queue_after = mean(after) - min(rtts) if after else None
    end = rows[-1][0] if rows else 0
    late = [r for r in rows if r[0] >= end / 2]
    est = mean([e for _, e, _, _ in late if e is not None])
    sent = mean([s for _, _, _, s in late if s is not None])
    return reached, held, queue, queue_after, mean(rtts), min(rtts) if rtts else None, len(rtts), est, sent


def line(name, rows, capacity):
    reached, held, queue, queue_after, rtt, least, n, est, sent = summary(rows, capacity)
    k = lambda v: "-" if v is None else f"{v / 1000:.0f}"
    when = "never" if reached is None else f"{reached:.1f} s"
    when += " (held for 2 s: " + ("never" if held is None else f"from {held:.1f} s") + ")"
    q = "no RTT" if queue is None else f"{queue:.1f} ms (RTT mean {rtt:.1f}, min {least:.1f} ms, {n} samples"
    if queue_after is not None:
        q += f"; {queue_after:.1f} ms once held at 85%"
    q += ")" if queue is not None else ""
    end = rows[-1][0] if rows else 0
    return (f"{name}: time to 85% of {capacity / 1000:.0f} kbit/s: {when}; mean queueing delay {q}; "
            f"second half ({end / 2:.0f}-{end:.0f} s): estimate {k(est)} kbit/s, sent {k(sent)} kbit/s")


def svg(series, capacity, title):
    w, h, left, right, top = 900, 600, 70, 20, 40
    est_h, gap, rtt_h = 320, 60, 140
    tmax = max([rows[-1][0] for _, rows in series if rows] + [1.0])
    emax = max([e for _, rows in series for _, e, _, _ in rows if e is not None] + [capacity])
    ymax = min(max(capacity * 1.3, emax * 1.05), capacity * 3)
    rmax = max([r for _, rows in series for _, _, r, _ in rows if r is not None] + [10.0]) * 1.1
    pw = w - left - right
    x = lambda t: left + pw * t / tmax
    ye = lambda v: top + est_h - est_h * max(0.0, min(v, ymax)) / ymax
    rtop = top + est_h + gap
    yr = lambda v: rtop + rtt_h - rtt_h * max(0.0, min(v, rmax)) / rmax
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2}" y="22" text-anchor="middle" font-size="15">{esc(title)}</text>']

    def axes(y0, ph, vmax, unit, step):
        out.append(f'<rect x="{left}" y="{y0}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>')
        v = 0.0
        while v <= vmax + 1e-9:
            y = y0 + ph - ph * v / vmax
            out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
            out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{v:g}</text>')
            v += step
        out.append(f'<text x="16" y="{y0 + ph / 2}" transform="rotate(-90 16 {y0 + ph / 2})" text-anchor="middle">{unit}</text>')
        t = 0.0
        tstep = nice(tmax / 8)
        while t <= tmax + 1e-9:
            out.append(f'<text x="{x(t):.1f}" y="{y0 + ph + 16}" text-anchor="middle">{t:g}</text>')
            t += tstep

    axes(top, est_h, ymax / 1000, "estimate, kbit/s", nice(ymax / 1000 / 6))
    axes(rtop, rtt_h, rmax, "round trip, ms", nice(rmax / 4))
    out.append(f'<text x="{left + pw / 2}" y="{h - 8}" text-anchor="middle">seconds since connected</text>')
    for frac, dash in ((1.0, "6 4"), (0.85, "2 4")):
        y = ye(capacity * frac)
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#555" stroke-dasharray="{dash}"/>')
        label = f"capacity {capacity / 1000:.0f} kbit/s" if frac == 1.0 else "85%"
        out.append(f'<text x="{left + pw - 4}" y="{y - 4:.1f}" text-anchor="end" fill="#555">{label}</text>')
    for i, (name, rows) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        pts = " ".join(f"{x(t):.1f},{ye(e):.1f}" for t, e, _, _ in rows if e is not None)
        if pts:
            out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"/>')
        pts = " ".join(f"{x(t):.1f},{ye(v):.1f}" for t, _, _, v in rows if v is not None)
        if pts:  # what it sent: thin, dotted
            out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="1" stroke-dasharray="2 2" opacity="0.6"/>')
        pts = " ".join(f"{x(t):.1f},{yr(r):.1f}" for t, _, r, _ in rows if r is not None)
        if pts:
            out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="1.5"/>')
        ly = top + est_h - 12 - 18 * (len(series) - 1 - i)  # the legend: lower right
        lx = left + pw - 300
        out.append(f'<line x1="{lx}" x2="{lx + 24}" y1="{ly - 4}" y2="{ly - 4}" stroke="{color}" stroke-width="3"/>')
        out.append(f'<text x="{lx + 30}" y="{ly}">{esc(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def nice(step):
    """A round step at least `step`."""
    if step <= 0:
        return 1.0
    p = 10 ** int(f"{step:e}".split("e")[1])
    for m in (1, 2, 5, 10):
        if m * p >= step:
            return float(m * p)
    return float(10 * p)


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--capacity", type=float, required=True, help="the shaped rate, bit/s")
    ap.add_argument("--out", help="write the plot here (SVG)")
    ap.add_argument("--title", default="bandwidth estimate on a shaped link")
    ap.add_argument("series", nargs="+", help="NAME=CSV")
    args = ap.parse_args()
    if not args.capacity > 0:
        print("cc_plot: --capacity must be over 0", file=sys.stderr)
        return 1
    series = []
    try:
        for spec in args.series:
            name, sep, path = spec.partition("=")
            if not sep or not name or not path:
                raise Bad(f"expected NAME=CSV, not {spec!r}")
            series.append((name, read(path)))
    except Bad as e:
        print(f"cc_plot: {e}", file=sys.stderr)
        return 1
    for name, rows in series:
        print(line(name, rows, args.capacity))
    if args.out:
        try:
            with open(args.out, "w", encoding="utf-8") as f:
                f.write(svg(series, args.capacity, args.title))
        except OSError as e:
            print(f"cc_plot: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
