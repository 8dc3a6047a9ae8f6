"""``make bench``: our assistant against the plain ``rasa init`` assistant, in one run.

Measures, for both (served the same way: ``rasa run`` with the REST channel, on 127.0.0.1):

- training time (a cold Rasa cache in a temporary folder, so nothing is reused);
- start-up time from launching the servers to the first reply;
- turn latency through the REST channel (median, p95) for a scripted conversation: ours is a
  whole personal-outcomes conversation (Rasa + action server + database writes), the
  baseline's is its own dialogue (greet, mood, bot challenge, goodbye);
- throughput and latency with 1, 10 and 50 concurrent conversations (one at a time, the two
  assistants take turns, so a machine whose speed drifts slows both alike);
- peak resident memory of every server process (``VmHWM`` in ``/proc/<pid>/status``);
- outcome extraction time per statement (``bot.outcomes.extractor``), in this process;
- with ``--profile``: where the action server spends its time (cProfile), written to
  ``bench/profile.txt``.

Prints a table and writes ``bench/results.json``. Not run in CI: it takes 5-10 minutes.
"""

from __future__ import annotations

import argparse
import cProfile  # noqa: F401 - the action server is run under it with --profile
import json
import os
import platform
import pstats
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.servers import rasa_env  # noqa: E402
from bot.storage.migrate import upgrade  # noqa: E402

WEBHOOK = "/webhooks/rest/webhook"
GOAL_MEDIAN_RATIO = 1.5
GOAL_P95_RATIO_AT_50 = 2.0
GOAL_STARTUP_S = 45.0

OUR_STORY = [
    "A good day is when my daughter comes round and we have a cup of tea in the garden.",
    "I'd love to get back to the swimming baths, I used to go every Tuesday",
    "The carers turn up at different times every day so I never know when I'll get up.",
]
BASELINE_SCRIPT = ["hello", "I am feeling sad", "yes", "are you a bot?", "great", "bye"]


# ----------------------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(latencies: list[float]) -> dict[str, float]:
    return {
        "turns": len(latencies),
        "median_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 95) * 1000, 1) if latencies else None,
    }


def peak_rss_mb(pid: int) -> float | None:
    """``VmHWM`` (peak resident set size) of a live process, in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def spawn(command: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command, cwd=cwd, env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT
    )  # noqa: SIM115


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_first_reply(url: str, processes: list[subprocess.Popen], timeout: float) -> float:
    """Send a greeting until Rasa answers with a reply; the monotonic time it came."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=30) as http:
        while time.monotonic() < deadline:
            for process in processes:
                if process.poll() is not None:
                    raise RuntimeError(f"a server exited with code {process.returncode}")
            try:
                body = {"sender": f"startup-{uuid.uuid4().hex}", "message": "hello"}
                response = http.post(url + WEBHOOK, json=body)
                if response.status_code == 200 and response.json():
                    return time.monotonic()
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise TimeoutError(f"no reply from {url} within {timeout:.0f} s")


def timed(label: str, command: list[str], env: dict[str, str], cwd: Path, log: Path) -> float:
    print(f"  {label} ...", flush=True)
    started = time.monotonic()
    with open(log, "ab") as output:
        subprocess.run(command, cwd=cwd, env=env, stdout=output, stderr=output, check=True)
    return time.monotonic() - started


# ----------------------------------------------------------------------------- conversations


class Conversation:
    """One scripted conversation; records each turn's latency."""

    def __init__(self, http: httpx.Client, url: str, sender: str) -> None:
        self.http, self.url, self.sender = http, url, sender
        self.latencies: list[float] = []

    def send(self, text: str) -> list[dict]:
        body = {
            "sender": self.sender,
            "message": text,
            "metadata": {"message_id": uuid.uuid4().hex},
        }
        started = time.perf_counter()
        response = self.http.post(self.url + WEBHOOK, json=body)
        self.latencies.append(time.perf_counter() - started)
        response.raise_for_status()
        return response.json()


def payloads(replies: list[dict]) -> list[str]:
    return [b.get("payload", "") for r in replies for b in r.get("buttons") or []]


def texts(replies: list[dict]) -> str:
    return "\n".join(str(r.get("text") or "") for r in replies)


def our_conversation(c: Conversation) -> bool:
    """The personal-outcomes conversation, to the saved summary. True if it was saved."""
    c.send("/greet")
    c.send("yes that's fine")
    c.send("/role_person")
    for line in OUR_STORY:
        replies = c.send(line)
        choices = [p for p in payloads(replies) if p.startswith("/clarify")]
        if choices:
            c.send(choices[0])
    replies = c.send("that's all")
    for _ in range(12):
        if "/status_going_well" not in payloads(replies):
            break
        replies = c.send("/status_partly")
    replies = c.send("/confirm_summary")
    return "your reference is PO-" in texts(replies)


def baseline_conversation(c: Conversation) -> bool:
    replies = []
    for line in BASELINE_SCRIPT:
        replies = c.send(line)
    return bool(replies)


def run_load(
    url: str, script: Callable[[Conversation], bool], concurrent: int, conversations: int
) -> dict:
    """``conversations`` scripted conversations, ``concurrent`` at a time."""
    limits = httpx.Limits(max_connections=concurrent + 5, max_keepalive_connections=concurrent)
    with httpx.Client(timeout=300, limits=limits) as http:

        def one(i: int) -> tuple[list[float], bool]:
            c = Conversation(http, url, f"bench:{uuid.uuid4().hex[:10]}-{i}")
            ok = script(c)
            return c.latencies, ok

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrent) as pool:
            results = list(pool.map(one, range(conversations)))
        elapsed = time.perf_counter() - started
    latencies = [t for lat, _ in results for t in lat]
    return {
        "concurrent": concurrent,
        "conversations": conversations,
        "completed": sum(ok for _, ok in results),
        "seconds": round(elapsed, 2),
        "turns_per_s": round(len(latencies) / elapsed, 2),
        **summary(latencies),
    }


# ----------------------------------------------------------------------------- the two stacks


@dataclass
class Stack:
    name: str
    url: str
    processes: dict[str, subprocess.Popen]
    startup_s: float
    script: Callable[[Conversation], bool]
    results: dict = field(default_factory=dict)

    def peak_rss(self) -> dict[str, float | None]:
        return {name: peak_rss_mb(p.pid) for name, p in self.processes.items()}

    def stop(self) -> None:
        for process in self.processes.values():
            stop(process)


def run_alternating(stacks: list[Stack], conversations: int) -> dict[str, dict]:
    """``conversations`` scripted conversations on each stack, one at a time, taking turns.

    Each of ours follows one of the baseline's, so both meet the machine as it is at that
    moment: on a shared machine whose speed drifts by 10-40% over minutes, their ratio then
    measures the assistants, not the drift.
    """
    latencies: dict[str, list[float]] = {stack.name: [] for stack in stacks}
    seconds = dict.fromkeys(latencies, 0.0)
    completed = dict.fromkeys(latencies, 0)
    with httpx.Client(timeout=300) as http:
        for i in range(conversations):
            for stack in stacks:
                c = Conversation(http, stack.url, f"bench:{uuid.uuid4().hex[:10]}-{i}")
                started = time.perf_counter()
                completed[stack.name] += stack.script(c)
                seconds[stack.name] += time.perf_counter() - started
                latencies[stack.name] += c.latencies
    return {
        name: {
            "concurrent": 1,
            "conversations": conversations,
            "completed": completed[name],
            "seconds": round(seconds[name], 2),
            "turns_per_s": round(len(lat) / seconds[name], 2),
            **summary(lat),
        }
        for name, lat in latencies.items()
    }


def rasa_command(port: int, model: Path, endpoints: Path, credentials: Path) -> list[str]:
    return [
        sys.executable, "-m", "rasa", "run", "--enable-api", "--interface", "127.0.0.1",
        "--port", str(port), "--model", str(model),
        "--endpoints", str(endpoints), "--credentials", str(credentials),
    ]  # fmt: skip


def actions_command(port: int, profile_to: Path | None = None) -> list[str]:
    command = ["-m", "rasa_sdk", "--actions", "actions", "--port", str(port)]
    if profile_to is not None:
        command = ["-m", "cProfile", "-o", str(profile_to), *command]
    return [sys.executable, *command]


def train_baseline(work: Path, env: dict[str, str], log: Path) -> tuple[Path, float]:
    """The project ``rasa init --no-prompt`` creates, trained in ``work``; (model, seconds)."""
    project = work / "baseline"
    project.mkdir()
    seconds = timed(
        "rasa init --no-prompt (scaffold + training) for the baseline",
        [sys.executable, "-m", "rasa", "init", "--no-prompt", "--init-dir", str(project)],
        env,
        project,
        log,
    )
    model = sorted((project / "models").glob("*.tar.gz"))[-1]
    return model, seconds


def train_ours(work: Path, env: dict[str, str], log: Path) -> tuple[Path, float]:
    out = work / "our-models"
    seconds = timed(
        "rasa train for our assistant",
        [
            sys.executable,
            "-m",
            "rasa",
            "train",
            "--quiet",
            "--data",
            "nlu_data",
            "--domain",
            "domain.yml",
            "--config",
            "config.yml",
            "--out",
            str(out),
            "--fixed-model-name",
            "outcomes-assistant",
        ],  # fmt: skip
        env,
        ROOT,
        log,
    )
    return out / "outcomes-assistant.tar.gz", seconds


def start_baseline(work: Path, model: Path, env: dict[str, str]) -> Stack:
    project, port = work / "baseline", free_port()
    started = time.monotonic()
    rasa = spawn(
        rasa_command(port, model, project / "endpoints.yml", project / "credentials.yml"),
        env,
        project,
        work / "baseline-rasa.log",
    )
    url = f"http://127.0.0.1:{port}"
    first = wait_for_first_reply(url, [rasa], 300)
    return Stack("baseline", url, {"rasa": rasa}, first - started, baseline_conversation)


def our_env(work: Path, rasa_port: int, actions_port: int, database_url: str | None) -> dict:
    db_url = database_url or f"sqlite:///{work / 'outcomes.db'}"
    tracker = database_url or f"sqlite:///{work / 'tracker.db'}"
    upgrade(db_url)
    return rasa_env(
        rasa_port=rasa_port,
        actions_port=actions_port,
        extra={"DATABASE_URL": db_url, "TRACKER_DB_URL": tracker},
    )


def start_ours(work: Path, model: Path, env: dict[str, str], rasa_port: int, actions_port: int):
    started = time.monotonic()
    actions = spawn(actions_command(actions_port), env, ROOT, work / "our-actions.log")
    rasa = spawn(
        rasa_command(rasa_port, model, ROOT / "endpoints.yml", ROOT / "credentials.yml"),
        env,
        ROOT,
        work / "our-rasa.log",
    )
    url = f"http://127.0.0.1:{rasa_port}"
    first = wait_for_first_reply(url, [rasa, actions], 300)
    return Stack("ours", url, {"rasa": rasa, "actions": actions}, first - started, our_conversation)


# ----------------------------------------------------------------------------- extraction


def extraction_timing(limit: int = 200) -> dict:
    from bot.outcomes.extractor import get_extractor

    started = time.perf_counter()
    extractor = get_extractor()
    extractor.score("warm up")
    load_s = time.perf_counter() - started
    data = yaml.safe_load((ROOT / "tests" / "data" / "outcomes_dev.yml").read_text())
    statements = [s["text"] for s in data["statements"]][:limit]
    times = []
    for text in statements:
        t = time.perf_counter()
        extractor.score(text)
        times.append(time.perf_counter() - t)
    long_text = " ".join(statements[:40])
    t = time.perf_counter()
    extractor.score(long_text)
    long_s = time.perf_counter() - t
    return {
        "statements": len(times),
        "load_s": round(load_s, 2),
        **summary(times),
        "long_message_chars": len(long_text),
        "long_message_ms": round(long_s * 1000, 1),
    }


# ----------------------------------------------------------------------------- profiling


def profile_actions(work: Path, model_stack: Stack, env: dict, actions_port: int) -> str:
    """Restart the action server under cProfile, run a few conversations, report."""
    stop(model_stack.processes["actions"])
    profile_file = work / "actions.prof"
    actions = spawn(
        actions_command(actions_port, profile_file), env, ROOT, work / "our-actions-prof.log"
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{actions_port}/health", timeout=2)
            break
        except httpx.TransportError:
            time.sleep(0.3)
    run_load(model_stack.url, our_conversation, 1, 5)
    stop(actions)
    model_stack.processes.pop("actions")
    if not profile_file.exists():
        return "(no profile written)"
    out = work / "profile.txt"
    with open(out, "w") as stream:
        stats = pstats.Stats(str(profile_file), stream=stream)
        stats.sort_stats("cumulative").print_stats(35)
        stats.sort_stats("tottime").print_stats(20)
    return out.read_text()


# ----------------------------------------------------------------------------- main


def fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def print_table(results: dict) -> None:
    ours, base = results["ours"], results["baseline"]
    rows = [
        ("training time (s)", ours["training_s"], base["training_s"]),
        ("start-up to first reply (s)", ours["startup_s"], base["startup_s"]),
    ]
    for key in ("single", *(f"concurrent_{n}" for n in results["levels"])):
        o, b = ours[key], base[key]
        label = "1 conversation" if key == "single" else f"{o['concurrent']} concurrent"
        rows += [
            (f"{label}: median turn (ms)", o["median_ms"], b["median_ms"]),
            (f"{label}: p95 turn (ms)", o["p95_ms"], b["p95_ms"]),
            (f"{label}: turns/s", o["turns_per_s"], b["turns_per_s"]),
            (f"{label}: completed", f"{o['completed']}/{o['conversations']}",
             f"{b['completed']}/{b['conversations']}"),
        ]  # fmt: skip
    for name in ("rasa", "actions"):
        rows.append(
            (f"peak RSS {name} (MB)", ours["peak_rss_mb"].get(name), base["peak_rss_mb"].get(name))
        )
    width = max(len(r[0]) for r in rows) + 2
    print(f"\n{'':{width}}{'ours':>14}{'baseline':>14}")
    for label, o, b in rows:
        print(f"{label:{width}}{fmt(o):>14}{fmt(b):>14}")
    ex = results["extraction"]
    print(
        f"\nextraction: {ex['statements']} statements, median {ex['median_ms']} ms, "
        f"p95 {ex['p95_ms']} ms (load {ex['load_s']} s; a {ex['long_message_chars']}-character "
        f"message {ex['long_message_ms']} ms)"
    )
    print("\ngoals:")
    for name, goal in results["goals"].items():
        print(f"  {'MET ' if goal['met'] else 'MISSED'}  {name}: {goal['value']} ({goal['goal']})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--conversations", type=int, default=10, help="sequential, 1 at a time")
    parser.add_argument("--levels", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--database-url", help="run our stack on this database (default SQLite)")
    parser.add_argument("--profile", action="store_true", help="cProfile the action server")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="po-bench-"))
    print(f"bench: working in {work}", flush=True)
    train_env = dict(os.environ, RASA_CACHE_DIRECTORY=str(work / "rasa-cache"))
    train_env.update(TF_CPP_MIN_LOG_LEVEL="2", SQLALCHEMY_SILENCE_UBER_WARNING="1")
    train_env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
    )  # noqa: E501
    results: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": os.getloadavg(),
        },
        "levels": args.levels,
    }
    stacks: list[Stack] = []
    try:
        print("training (cold cache):", flush=True)
        base_model, base_train = train_baseline(work, train_env, work / "train.log")
        our_model, our_train = train_ours(work, train_env, work / "train.log")

        rasa_port, actions_port = free_port(), free_port()
        env = our_env(work, rasa_port, actions_port, args.database_url)
        print("starting the baseline and our assistant ...", flush=True)
        base = start_baseline(work, base_model, dict(env))
        stacks.append(base)
        ours = start_ours(work, our_model, env, rasa_port, actions_port)
        stacks.append(ours)
        base.results.update(training_s=round(base_train, 1), startup_s=round(base.startup_s, 1))
        ours.results.update(training_s=round(our_train, 1), startup_s=round(ours.startup_s, 1))

        print(
            f"{args.conversations} conversations on each, one at a time, taking turns", flush=True
        )
        for stack in (base, ours):
            run_load(stack.url, stack.script, 1, 2)  # warm-up, not counted
        single = run_alternating([base, ours], args.conversations)
        for stack in (base, ours):
            stack.results["single"] = single[stack.name]
            for level in args.levels:
                print(f"{stack.name}: {level} concurrent conversations", flush=True)
                stack.results[f"concurrent_{level}"] = run_load(
                    stack.url, stack.script, level, level
                )
            stack.results["peak_rss_mb"] = stack.peak_rss()

        print("extraction timing ...", flush=True)
        results["extraction"] = extraction_timing()
        if args.profile:
            print("profiling the action server ...", flush=True)
            report = profile_actions(work, ours, env, actions_port)
            (ROOT / "bench" / "profile.txt").write_text(report)
    finally:
        for stack in stacks:
            stack.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    results["ours"], results["baseline"] = ours.results, base.results
    top = max(args.levels)
    median_ratio = ours.results["single"]["median_ms"] / base.results["single"]["median_ms"]
    p95_ratio = (
        ours.results[f"concurrent_{top}"]["p95_ms"] / base.results[f"concurrent_{top}"]["p95_ms"]
    )
    results["ratios"] = {
        "median_single": round(median_ratio, 2),
        f"p95_at_{top}": round(p95_ratio, 2),
    }
    results["goals"] = {
        "median turn, ours/baseline": {
            "value": round(median_ratio, 2), "goal": f"<= {GOAL_MEDIAN_RATIO}",
            "met": median_ratio <= GOAL_MEDIAN_RATIO,
        },
        f"p95 turn at {top} concurrent, ours/baseline": {
            "value": round(p95_ratio, 2), "goal": f"<= {GOAL_P95_RATIO_AT_50}",
            "met": p95_ratio <= GOAL_P95_RATIO_AT_50,
        },
        "start-up to first reply (s)": {
            "value": round(ours.startup_s, 1), "goal": f"< {GOAL_STARTUP_S}",
            "met": ours.startup_s < GOAL_STARTUP_S,
        },
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
