"""Soak the nodes: a two-hand stream at 30 fps for 10 minutes; memory growth, latency drift and drops.

    python benchmarks/bench_soak.py [--minutes 10] [--warmup-s 30] [--fps 30] [--single-process]
                                    [--source VIDEO_OR_FOLDER [--focal PX]] [--json PATH] [--plot PATH]

The nodes run as users start them (detector and reconstruction in two processes, or with --single-process
the reconstruction node alone with its own palm detector) on loopback DDS. This process plays Image +
CameraInfo paced by the clock, stamped with the wall clock (strictly increasing, also across loops), and
listens to ``hands``. By default the frames are the two-hand part of the cached synthetic sequence, played
forwards then backwards so the motion has no jump at the loop; ``--source`` plays a video or an image
folder instead (looped the same way).

Run length: ``--warmup-s`` of warm-up (not scored) followed by ``--minutes`` of measurement, cut into
``--bucket-s`` buckets (60 s: one line per minute). For each bucket it prints images sent, HandArrays
answered (and the achieved output rate), drops (images whose HandArray did not come within ``--timeout-s``),
image-to-HandArray latency p50/p95 and each node process's RSS (VmRSS of /proc/<pid>/status, sampled every
``--rss-every-s``). At the end: a summary table checked against the targets (RSS growth, last bucket's
median minus the median of the first ``--baseline-s`` after warm-up, under 20 MB per node; last bucket's
latency p50 within 10 % of the first's) and the nodes' own counters from /diagnostics. The targets are
reported, not asserted: exit 0 when the run completed, 130 when interrupted (partial summary printed),
1 when it could not run (nodes did not start or died).
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np

from hand_mesh_ros.geometry.camera import CameraModel
from hand_mesh_ros.tools.demo import synthetic_frames
from hand_mesh_ros.tools.frame_source import read_frames
from hand_mesh_ros.tools.local_dds import NonLocalDiscoveryError, require_local_dds
from hand_mesh_ros.tools.session import PipelineSession

RSS_GROWTH_LIMIT_MB = 20.0
P50_DRIFT_LIMIT = 0.10
SHORT_NAMES = {"detector_node": "det", "reconstruction_node": "rec"}


# ---- inputs -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stream:
    frames: list[np.ndarray]
    order: list[int]  # indices into frames: forwards then backwards
    camera: CameraModel
    label: str
    params: dict[str, list[str]]


def ping_pong(n: int) -> list[int]:
    """0, 1, .., n-1, n-2, .., 1: a loop of n frames without a jump where it starts over."""
    return list(range(n)) + list(range(n - 2, 0, -1)) if n > 2 else list(range(n))


def load_stream(args: argparse.Namespace) -> Stream:
    params: dict[str, list[str]] = {"detector_node": [], "reconstruction_node": []}
    if args.source:
        frames = list(read_frames(args.source, args.max_frames))
        if not frames:
            raise FileNotFoundError(f"no frames in {args.source}")
        h, w = frames[0].shape[:2]
        camera = CameraModel.pinhole(w, h, float(args.focal or h))
        label = f"{args.source} ({len(frames)} frames {w}x{h})"
    else:
        demo_frames, camera, _, length = synthetic_frames(args.synthetic_frames)
        both = [f.rgb for f in demo_frames if len(f.truth) == 2]
        if not both:
            raise RuntimeError("the synthetic sequence has no frame with two hands")
        frames = both[: args.max_frames]
        if length is not None:  # the rendered hands' own length, as the demo gives it
            params["reconstruction_node"].append(f"hand_length_m:={length:.4f}")
        label = f"synthetic, two hands ({len(frames)} frames {camera.width}x{camera.height})"
    return Stream(frames, ping_pong(len(frames)), camera, label + ", played forwards and backwards", params)


# ---- measurements -----------------------------------------------------------------------------------------
def rss_mb(pid: int) -> float:
    """Resident set size of a process in MB (VmRSS), NaN when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


@dataclass
class Bucket:
    """What happened to the images published in one bucket (usually a minute) of the measurement."""

    index: int
    start_s: float  # since the end of warm-up
    end_s: float
    sent: int = 0
    answered: int = 0
    dropped: int = 0  # no HandArray within the timeout
    late: int = 0  # of the dropped, a HandArray came after the timeout
    two_hands: int = 0  # answers holding two hands
    latencies_ms: list[float] = field(default_factory=list)
    rss_mb: dict[str, float] = field(default_factory=dict)  # median over the bucket, per node

    def p(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")

    def row(self) -> dict[str, Any]:
        span = max(self.end_s - self.start_s, 1e-9)
        return {"bucket": self.index, "start_s": self.start_s, "end_s": self.end_s, "sent": self.sent,
                "answered": self.answered, "dropped": self.dropped, "late": self.late,
                "two_hands": self.two_hands, "input_hz": self.sent / span, "output_hz": self.answered / span,
                "p50_ms": self.p(50), "p95_ms": self.p(95), "rss_mb": self.rss_mb}


@dataclass
class Pending:
    sent_s: float  # monotonic time just after the image was handed to DDS
    bucket: Bucket | None  # None during warm-up


@dataclass
class Soak:
    """Bookkeeping of one run; times are monotonic seconds."""

    start: float
    warmup_end: float
    end: float
    bucket_s: float
    timeout_s: float
    buckets: list[Bucket] = field(default_factory=list)
    warmup: Bucket = field(default_factory=lambda: Bucket(-1, 0.0, 0.0))
    pending: dict[tuple[int, int], Pending] = field(default_factory=dict)
    expired: dict[tuple[int, int], Bucket | None] = field(default_factory=dict)  # to count late answers
    rss: list[tuple[float, str, float]] = field(default_factory=list)  # (s since warm-up end, node, MB)
    skipped_ticks: int = 0  # frame slots the player missed because this process fell behind
    last_loop: float = 0.0  # when the play loop last ran (the end of an interrupted run)
    printed: int = 0

    def bucket_at(self, t: float) -> Bucket | None:
        if t < self.warmup_end:
            return None
        k = int((t - self.warmup_end) // self.bucket_s)
        while len(self.buckets) <= k:
            i = len(self.buckets)
            start = i * self.bucket_s
            self.buckets.append(Bucket(i + 1, start, min(start + self.bucket_s, self.end - self.warmup_end)))
        return self.buckets[k]

    def sent(self, stamp: tuple[int, int], t: float) -> None:
        bucket = self.bucket_at(t)
        (bucket or self.warmup).sent += 1
        self.pending[stamp] = Pending(t, bucket)

    def answered(self, stamp: tuple[int, int], arrived: float, hands: int) -> None:
        p = self.pending.pop(stamp, None)
        if p is None:
            if stamp in self.expired:
                (self.expired.pop(stamp) or self.warmup).late += 1
            return  # e.g. an answer to the readiness probe
        b = p.bucket or self.warmup
        b.answered += 1
        b.two_hands += hands >= 2
        b.latencies_ms.append((arrived - p.sent_s) * 1e3)

    def expire(self, now: float) -> None:
        for stamp in [s for s, p in self.pending.items() if now - p.sent_s > self.timeout_s]:
            p = self.pending.pop(stamp)
            (p.bucket or self.warmup).dropped += 1
            self.expired[stamp] = p.bucket
        if len(self.expired) > 10_000:  # answers later than this are not worth tracking
            for stamp in list(self.expired)[:5_000]:
                del self.expired[stamp]

    def close(self, now: float, names: Sequence[str]) -> None:
        """After an interruption: the unfinished bucket ends now; its RSS median is taken from what was sampled."""
        for b in self.buckets:
            if not b.rss_mb:
                b.end_s = max(b.start_s, min(b.end_s, now - self.warmup_end))
                self.finish_bucket_rss(b, names)
        self.buckets = [b for b in self.buckets if b.end_s > b.start_s]

    def finish_bucket_rss(self, b: Bucket, names: Sequence[str]) -> None:
        for n in names:
            vals = [mb for t, name, mb in self.rss if name == n and b.start_s <= t < b.end_s and not math.isnan(mb)]
            b.rss_mb[n] = float(np.median(vals)) if vals else float("nan")


def diag_summary(values: dict[str, str]) -> str:
    keys = ("frames in", "frames out", "frames dropped", "input rate (Hz)", "output rate (Hz)",
            "latency p50 (ms)", "latency p95 (ms)")
    parts = [f"{k} {values[k]}" for k in keys if k in values]
    extra = [f"{k} {v}" for k, v in values.items() if k.startswith(("errors:", "events:"))]
    return ", ".join(parts + (extra or ["no errors, no events"]))


def period_name(bucket_s: float) -> str:
    """What a bucket is called in the output: a minute, or a shorter period in quick trials."""
    return "minute" if bucket_s == 60.0 else "period"


def bucket_line(b: Bucket, names: Sequence[str], diag_delta: str, what: str = "minute") -> str:
    span = max(b.end_s - b.start_s, 1e-9)
    drop_pct = 100.0 * b.dropped / max(b.sent, 1)
    rss = " ".join(f"{SHORT_NAMES.get(n, n)} {b.rss_mb.get(n, float('nan')):.1f}" for n in names)
    late = f" ({b.late} late)" if b.late else ""
    return (f"[soak] {what} {b.index:>2} ({b.start_s:.0f}-{b.end_s:.0f} s): sent {b.sent} ({b.sent / span:.1f}/s), "
            f"answered {b.answered} ({b.answered / span:.1f}/s, {b.two_hands} with 2 hands), "
            f"dropped {b.dropped} ({drop_pct:.1f} %){late}, latency p50 {b.p(50):.1f} / p95 {b.p(95):.1f} ms, "
            f"RSS MB {rss}{diag_delta}")


# ---- the run ----------------------------------------------------------------------------------------------
class Interrupted(Exception):
    """SIGINT or SIGTERM arrived: stop playing, shut the nodes down, print what was measured."""


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signal.Signals(signum).name)


def run_soak(args: argparse.Namespace, stream: Stream, report: dict[str, Any], holder: dict[str, Soak]) -> Soak:
    """Start the nodes, play, measure; ``holder["soak"]`` is set as soon as playing starts, so that an
    interrupted run can still be summarised."""
    from diagnostic_msgs.msg import DiagnosticArray

    diagnostics: dict[str, dict[str, str]] = report.setdefault("diagnostics", {})
    session = PipelineSession(single_node=args.single_process, params=stream.params, listen=(),
                              log_dir=Path(args.log_dir) if args.log_dir else None)
    procs = session._procs.procs  # the node processes (Popen), filled when the session starts
    soak: Soak | None = None
    try:
        with session:
            # ours replace rclpy's handlers (which would shut the context down under the session's feet)
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, _raise_interrupted)
            if args.markers:  # make the node build its mesh markers, as with RViz open (raw: not decoded here)
                from visualization_msgs.msg import MarkerArray

                from hand_mesh_ros.ros.qos import RESULTS
                session.node.create_subscription(MarkerArray, "hand_markers", lambda _: None, RESULTS, raw=True)

            def on_diag(msg: Any) -> None:
                for st in msg.status:
                    diagnostics[st.name] = {kv.key: kv.value for kv in st.values}

            session.node.create_subscription(DiagnosticArray, "/diagnostics", on_diag, 10)
            print(f"[soak] starting {', '.join(procs)} (logs in {session._procs.log_dir})", file=sys.stderr)
            waited = session.wait_ready(stream.frames[0], stream.camera, timeout_s=args.ready_timeout_s)
            print(f"[soak] nodes ready after {waited:.1f} s; pids "
                  + ", ".join(f"{n} {p.pid}" for n, p in procs.items()), file=sys.stderr)
            names = list(procs)
            received = session.listener.received
            period = 1.0 / args.fps
            now = time.monotonic()
            soak = Soak(start=now, warmup_end=now + args.warmup_s, end=now + args.warmup_s + args.minutes * 60.0,
                        bucket_s=args.bucket_s, timeout_s=args.timeout_s)
            holder["soak"] = soak
            report["rss_start_mb"] = {n: rss_mb(p.pid) for n, p in procs.items()}
            next_tick, next_rss, last_stamp, i = now, now, 0, 0
            warmup_printed = False
            diag_seen: dict[str, dict[str, str]] = {}
            while True:
                now = soak.last_loop = time.monotonic()
                if now >= soak.end and not soak.pending:
                    break
                if now >= soak.end + soak.timeout_s + 1.0:
                    break
                if now < soak.end and now >= next_tick:
                    rgb = stream.frames[stream.order[i % len(stream.order)]]
                    last_stamp = max(time.time_ns(), last_stamp + 1)
                    header = session.player.publish(rgb, stream.camera, last_stamp)
                    soak.sent((header.stamp.sec, header.stamp.nanosec), time.monotonic())
                    i += 1
                    next_tick += period
                    behind = time.monotonic() - next_tick
                    if behind > period:  # this process fell behind: skip the slots rather than burst
                        missed = int(behind // period)
                        soak.skipped_ticks += missed
                        next_tick += missed * period
                # what came back
                for stamp in list(received.hands_time):
                    arrived = received.hands_time.pop(stamp)
                    msg = received.hands.pop(stamp, None)
                    received.hands_wall_ns.pop(stamp, None)
                    soak.answered(stamp, arrived, len(msg.hands) if msg is not None else 0)
                soak.expire(now)
                if now >= next_rss:
                    for n, p in procs.items():
                        soak.rss.append((now - soak.warmup_end, n, rss_mb(p.pid)))
                    next_rss += args.rss_every_s
                if not session._procs.alive():
                    gone = ", ".join(f"{n} (exit code {p.returncode})" for n, p in procs.items()
                                     if p.poll() is not None)
                    raise RuntimeError(f"{gone} exited during the run\n" + session.logs())
                # progress: warm-up, then each bucket once its answers are in
                if not warmup_printed and now >= soak.warmup_end + soak.timeout_s:
                    w = soak.warmup
                    print(f"[soak] warm-up {args.warmup_s:.0f} s: sent {w.sent}, answered {w.answered}, dropped "
                          f"{w.dropped}, latency p50 {w.p(50):.1f} / p95 {w.p(95):.1f} ms, RSS MB "
                          + " ".join(f"{SHORT_NAMES.get(n, n)} {rss_mb(p.pid):.1f}" for n, p in procs.items()),
                          flush=True)
                    report["rss_warmup_end_mb"] = {n: rss_mb(p.pid) for n, p in procs.items()}
                    diag_seen = {k: dict(v) for k, v in diagnostics.items()}
                    warmup_printed = True
                while (soak.printed < len(soak.buckets)
                       and now >= soak.warmup_end + soak.buckets[soak.printed].end_s + soak.timeout_s):
                    b = soak.buckets[soak.printed]
                    soak.finish_bucket_rss(b, names)
                    delta = _diag_delta(diagnostics, diag_seen)
                    diag_seen = {k: dict(v) for k, v in diagnostics.items()}
                    print(bucket_line(b, names, delta, period_name(args.bucket_s)), flush=True)
                    soak.printed += 1
                wait = next_tick - time.monotonic() if time.monotonic() < soak.end else 0.02
                session.executor.spin_once(timeout_sec=min(max(wait, 0.0), 0.02))
            session.spin(1.5)  # the nodes' last diagnostics
            for b in soak.buckets[soak.printed:]:
                soak.finish_bucket_rss(b, names)
                delta = _diag_delta(diagnostics, diag_seen)
                print(bucket_line(b, names, delta, period_name(args.bucket_s)), flush=True)
                soak.printed += 1
            report["rss_end_mb"] = {n: rss_mb(p.pid) for n, p in procs.items()}
    finally:
        if soak is not None:
            soak.close(soak.last_loop, list(procs))
        for p in procs.values():  # the session stops them; make sure nothing is left behind
            if p.poll() is None:
                p.kill()
                p.wait()
        report["exit_codes"] = {n: p.returncode for n, p in procs.items()}
    assert soak is not None
    return soak


def _diag_delta(now: dict[str, dict[str, str]], before: dict[str, dict[str, str]]) -> str:
    """The nodes' own frames in / dropped / errors since the last line, e.g. ' | nodes: rec dropped +3'."""
    parts = []
    for name, values in sorted(now.items()):
        short = name.split(":")[0].replace("hand_", "")
        old = before.get(name, {})
        changes = []
        for k, v in values.items():
            if (k in ("frames dropped",) or k.startswith(("errors:", "events:"))) and v.isdigit():
                d = int(v) - int(old.get(k, "0") or 0)
                if d:
                    changes.append(f"{k.replace('frames ', '')} +{d}")
        if changes:
            parts.append(f"{short} " + ", ".join(changes))
    return (" | nodes: " + "; ".join(parts)) if parts else ""


# ---- summary ----------------------------------------------------------------------------------------------
def checks(soak: Soak, names: Sequence[str], baseline_s: float) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    what = period_name(soak.bucket_s)
    measured = [b for b in soak.buckets if b.sent]
    last = measured[-1] if measured else None
    base_window = min(baseline_s, (soak.end - soak.warmup_end) / 2)
    for n in names:
        base = [mb for t, name, mb in soak.rss if name == n and 0 <= t < base_window and not math.isnan(mb)]
        tail = ([mb for t, name, mb in soak.rss
                 if name == n and last.start_s <= t <= last.end_s and not math.isnan(mb)]
                if last else [])
        growth = float(np.median(tail) - np.median(base)) if base and tail else float("nan")
        out.append({"check": f"RSS growth {n}", "value": growth, "unit": "MB",
                    "target": f"< {RSS_GROWTH_LIMIT_MB:.0f} MB",
                    "result": "n/a" if math.isnan(growth) else ("PASS" if growth < RSS_GROWTH_LIMIT_MB else "FAIL")})
    scored = [b for b in measured if b.latencies_ms]
    if len(scored) >= 2:
        first, lastb = scored[0].p(50), scored[-1].p(50)
        drift = (lastb - first) / first
        result = "PASS" if abs(drift) <= P50_DRIFT_LIMIT else "FAIL"
        label = f"p50 drift ({what} {scored[-1].index} {lastb:.1f} vs {what} {scored[0].index} {first:.1f} ms)"
    else:
        drift, result = float("nan"), "n/a"
        label = f"p50 drift (needs two {what}s with answers)"
    out.append({"check": label, "value": 100.0 * drift, "unit": "%",
                "target": f"within {100 * P50_DRIFT_LIMIT:.0f} %", "result": result})
    return out


def print_summary(args: argparse.Namespace, stream: Stream, soak: Soak, report: dict[str, Any],
                  names: Sequence[str], partial: str = "") -> list[dict[str, Any]]:
    measured = [b for b in soak.buckets if b.sent]
    sent = sum(b.sent for b in measured)
    answered = sum(b.answered for b in measured)
    dropped = sum(b.dropped for b in measured)
    late = sum(b.late for b in measured)
    span = max(sum(b.end_s - b.start_s for b in measured), 1e-9)
    lat = [x for b in measured for x in b.latencies_ms]
    mode = "one process (reconstruction with its own palm detector)" if args.single_process else \
        "two processes (detector + reconstruction)"
    print()
    print("hand_mesh_ros soak summary" + (f" ({partial}: partial)" if partial else ""))
    print(f"nodes                  {mode}")
    print(f"stream                 {stream.label}")
    print(f"run                    {args.fps:g} fps target, {args.warmup_s:g} s warm-up + {span / 60:.2f} min measured"
          + (f", {soak.skipped_ticks} frame slots skipped by the player" if soak.skipped_ticks else ""))
    if sent:
        print(f"published / answered   {sent} ({sent / span:.1f}/s) / {answered} ({answered / span:.1f}/s output rate)")
        print(f"dropped                {dropped} ({100.0 * dropped / sent:.1f} %; no HandArray within "
              f"{args.timeout_s:g} s{f', {late} of them came later' if late else ''})")
    if lat:
        print(f"latency image->hands   p50 {np.median(lat):.1f} ms, p95 {np.percentile(lat, 95):.1f} ms "
              "(whole measurement)")
    print()
    header = (f"{period_name(args.bucket_s):>6} {'sent':>6} {'answered':>8} {'out/s':>6} {'drop %':>6} "
              f"{'p50 ms':>7} {'p95 ms':>7} {'2 hands':>7} "
              + " ".join(f"{'RSS ' + SHORT_NAMES.get(n, n):>9}" for n in names))
    print(header)
    for b in measured:
        r = b.row()
        print(f"{b.index:>6} {b.sent:>6} {b.answered:>8} {r['output_hz']:>6.1f} "
              f"{100.0 * b.dropped / max(b.sent, 1):>6.1f} {b.p(50):>7.1f} {b.p(95):>7.1f} {b.two_hands:>7} "
              + " ".join(f"{b.rss_mb.get(n, float('nan')):>9.1f}" for n in names))
    rs, rw, re_ = (report.get(k, {}) for k in ("rss_start_mb", "rss_warmup_end_mb", "rss_end_mb"))
    for n in names:
        print(f"RSS {n:<20} {rs.get(n, float('nan')):.1f} MB at start, {rw.get(n, float('nan')):.1f} after "
              f"warm-up, {re_.get(n, float('nan')):.1f} at the end")
    result = checks(soak, names, args.baseline_s)
    print()
    print(f"{'check':<58} {'value':>9}  {'target':<12} result")
    for c in result:
        unit = "%" if c["unit"] == "%" else " "
        value = f"{'n/a':>8} " if math.isnan(c["value"]) else f"{c['value']:>+8.1f}{unit}"
        print(f"{c['check']:<58} {value}  {c['target']:<12} {c['result']}")
    print()
    diagnostics = report.get("diagnostics", {})
    if diagnostics:
        for name, values in sorted(diagnostics.items()):
            print(f"diagnostics {name}: {diag_summary(values)}")
    else:
        print("diagnostics: none received")
    return result


def write_plot(path: Path, soak: Soak, names: Sequence[str]) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: no plot (the JSON holds the same series)"
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    for n in names:
        pts = [(t, mb) for t, name, mb in soak.rss if name == n]
        ax1.plot([t / 60 for t, _ in pts], [mb for _, mb in pts], label=n)
    ax1.axvline(0, color="grey", linestyle=":", label="end of warm-up")
    ax1.set_ylabel("RSS (MB)")
    ax1.legend()
    mids = [(b.start_s + b.end_s) / 120 for b in soak.buckets if b.latencies_ms]
    ax2.plot(mids, [b.p(50) for b in soak.buckets if b.latencies_ms], "o-", label="p50")
    ax2.plot(mids, [b.p(95) for b in soak.buckets if b.latencies_ms], "s--", label="p95")
    ax2.set_xlabel("minutes after warm-up")
    ax2.set_ylabel("image -> hands latency (ms)")
    ax2.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return f"plot written to {path}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="measured time after warm-up (default 10)")
    parser.add_argument("--warmup-s", type=float, default=30.0, help="warm-up before measuring (default 30)")
    parser.add_argument("--fps", type=float, default=30.0, help="images per second played (default 30)")
    parser.add_argument("--single-process", action="store_true",
                        help="only the reconstruction node, running the palm detector itself")
    parser.add_argument("--source", help="a video file or image folder instead of the synthetic sequence")
    parser.add_argument("--focal", type=float, help="--source: focal length in px (default: image height)")
    parser.add_argument("--max-frames", type=int, default=150, help="most frames kept in memory to loop (150)")
    parser.add_argument("--synthetic-frames", type=int, default=60,
                        help="length of the synthetic sequence whose two-hand frames are played (60: cached)")
    parser.add_argument("--markers", action="store_true",
                        help="subscribe to hand_markers (not decoded) so the node builds mesh markers, as with RViz")
    parser.add_argument("--timeout-s", type=float, default=2.0,
                        help="an image without HandArray after this long counts as dropped (2)")
    parser.add_argument("--bucket-s", type=float, default=60.0,
                        help="length of one reported period (60: per minute; shorter for quick trials)")
    parser.add_argument("--baseline-s", type=float, default=30.0,
                        help="RSS baseline: median over this long right after warm-up (30)")
    parser.add_argument("--rss-every-s", type=float, default=2.0, help="RSS sampling period (2)")
    parser.add_argument("--ready-timeout-s", type=float, default=180.0, help="wait this long for the nodes (180)")
    parser.add_argument("--log-dir", help="node logs here (default: a temporary folder)")
    parser.add_argument("--json", help="write the figures (per minute, RSS series, checks) to this file")
    parser.add_argument("--plot", help="write RSS over time and latency per minute to this image (matplotlib)")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.fps <= 0 or args.bucket_s <= 0 or args.warmup_s < 0:
        parser.error("--minutes, --fps and --bucket-s must be positive, --warmup-s not negative")
    buckets = math.ceil(args.minutes * 60.0 / args.bucket_s - 1e-9)
    if abs(buckets * args.bucket_s - args.minutes * 60.0) > 1e-6:  # whole periods, so the last one is comparable
        args.minutes = buckets * args.bucket_s / 60.0
        print(f"[soak] measuring {args.minutes * 60:g} s: a whole number of {args.bucket_s:g} s periods",
              file=sys.stderr)
    try:
        require_local_dds()
        stream = load_stream(args)
    except (NonLocalDiscoveryError, OSError, ValueError, RuntimeError) as exc:
        print(f"bench_soak: cannot run: {exc}", file=sys.stderr)
        return 1
    print(f"[soak] {stream.label}; {args.warmup_s:g} s warm-up + {args.minutes:g} min at {args.fps:g} fps",
          file=sys.stderr)

    report: dict[str, Any] = {"config": vars(args), "stream": stream.label}
    old = {s: signal.signal(s, _raise_interrupted) for s in (signal.SIGINT, signal.SIGTERM)}
    interrupted, failure = False, ""
    holder: dict[str, Soak] = {}
    soak: Soak | None = None
    try:
        soak = run_soak(args, stream, report, holder)
    except Interrupted as exc:
        interrupted = True
        soak = holder.get("soak")
        print(f"\n[soak] interrupted ({exc}): nodes stopped", file=sys.stderr)
    except Exception as exc:  # the nodes did not come up or died: the run could not be done
        failure = f"{type(exc).__name__}: {exc}"
        soak = holder.get("soak")
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    if soak is None:
        print(f"bench_soak: cannot run: {failure or 'interrupted before the nodes were ready'}", file=sys.stderr)
        return 130 if interrupted else 1
    names = list(report.get("exit_codes", {}))
    partial = "FAILED" if failure else "INTERRUPTED" if interrupted else ""
    result = print_summary(args, stream, soak, report, names, partial)
    if args.json:
        report.update(buckets=[b.row() for b in soak.buckets], warmup=soak.warmup.row(), checks=result,
                      rss_samples=[{"t_s": t, "node": n, "rss_mb": mb} for t, n, mb in soak.rss],
                      skipped_ticks=soak.skipped_ticks, interrupted=interrupted, failure=failure)
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(_plain(report), indent=2, default=str))
        print(f"figures written to {args.json}")
    if args.plot:
        print(write_plot(Path(args.plot), soak, names))
    if failure:
        print(f"bench_soak: the run failed part-way: {failure}", file=sys.stderr)
        return 1
    return 130 if interrupted else 0


def _plain(obj: Any) -> Any:
    """``obj`` as strict JSON: NaN -> null, numpy scalars -> Python numbers."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return None if math.isnan(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


if __name__ == "__main__":
    raise SystemExit(main())
