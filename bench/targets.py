"""The project's performance targets (docs/performance.md) and when a benchmark run may judge
them. Python standard library only; bench/bench.py prints what `judge` returns.

Each target is defined for one measurement: the build the stations run (release profile,
statically linked against musl) over a full-length window. A run that measured something
else (quick mode, another profile, the glibc build, a shorter window or fewer runs) prints its
figure next to the target's reference and says why it gives no verdict: a quick figure is not
a result."""

# Full-run lengths the targets are defined for (bench/bench.py's defaults).
FULL_RUNS = 30
FULL_IDLE_SECONDS = 300
FULL_BARE_SECONDS = 60

# 6 MB, in bytes (5.72 MiB).
IDLE_RSS_LIMIT_BYTES = 6_000_000


def build_reason(quick, profile, target):
    """Why this build cannot be judged against the targets; None when it can."""
    if quick:
        return "quick figure, no verdict"
    if profile != "release":
        return f"{profile} build: the targets are for the release build"
    if "-linux-musl" not in target:
        return "glibc build: the targets are for the static (musl) build the packages carry"
    return None


def judge(report, quick, profile, target, runs, idle_seconds, bare_seconds):
    """One row per target: (name, reference, this run's figure, verdict or the reason there is
    none). The verdict is "met" or "NOT met"; `report` is bench/bench.py's report."""
    build = build_reason(quick, profile, target)

    def verdict(met, length, full, unit):
        if build:
            return build
        if length < full:
            return f"{length:g} {unit}: the target is for {full:g} or more, no verdict"
        return "met" if met else "NOT met"

    once_ms = report["once_wall"]["rust"]["mean_ms"]
    idle = report["idle"]["rust"]
    bare = report["idle_bare"]["rust"]
    idle_mib = idle["rss_kb_end"] / 1024
    return [
        (
            "--once wall time on loopback, mean",
            "under 20 ms",
            f"{once_ms:.1f} ms",
            verdict(once_ms < 20, runs, FULL_RUNS, "runs"),
        ),
        (
            f"idle daemon RSS after {idle_seconds:g} s",
            "under 6 MB (5.72 MiB)",
            f"{idle_mib:.2f} MiB",
            verdict(idle["rss_kb_end"] * 1024 < IDLE_RSS_LIMIT_BYTES, idle_seconds,
                    FULL_IDLE_SECONDS, "s window"),
        ),
        (
            "idle CPU without a charge controller",
            "no measurable CPU (0 ticks)",
            f"{bare['cpu_ticks']} ticks in {bare['seconds']:g} s",
            verdict(bare["cpu_ticks"] == 0, bare_seconds, FULL_BARE_SECONDS, "s window"),
        ),
    ]


def table(rows):
    """The rows side by side: target, reference, this run, verdict."""
    header = ("target", "reference", "this run", "verdict")
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(3)]
    lines = []
    for row in [header] + rows:
        cells = [f"{row[i]:{widths[i]}}" for i in range(3)]
        lines.append("  ".join(cells + [row[3]]))
    return "\n".join(lines)


def as_json(rows):
    """The rows for the --json report: met is true/false when judged, null otherwise."""
    out = {}
    for name, reference, value, verdict in rows:
        judged = verdict in ("met", "NOT met")
        out[name] = {
            "reference": reference,
            "value": value,
            "met": (verdict == "met") if judged else None,
            "no_verdict_because": None if judged else verdict,
        }
    return out
