"""What does archiving cost? The full nianbao pipeline against a bare link-following Scrapy spider.

Both crawl the same generated static site (``tests.simulator.build_static_world``, ≥ 2,000 URLs)
through the same loopback forward proxy with the same Scrapy settings:

* **bare** — a minimal spider (defined below) that starts at the site's report list and follows
  every ``<a href>`` on the same host; no item pipeline, no storage. This is the ceiling.
* **pipeline** — the real ``annual_reports`` spider with the archive pipeline (SHA-256, local
  object storage with fsync and read-back, SQLite catalog) into a fresh NIANBAO_HOME, set up as
  ``crawler.runner.run_crawl`` does (so as ``nianbao crawl`` does), progress lines included.

Target: pipeline pages/s ≥ 0.8 × bare pages/s. This is a benchmark, not a test: it prints figures
and exits 0 whatever the ratio; it exits 1 only when a crawl fails or the archive it wrote does not
check out (captures ≠ pages fetched, or an object missing or corrupt).

Where the time goes matters as much as the ratio on a small machine, so:

* the simulator runs in its own process (``python -m tests.simulator``) and its CPU time is
  reported per crawl — near 100 % of one core means the server, not the crawler, set the pace;
* each crawl runs in its own process (Scrapy's reactor runs once per process) and is timed from
  ``spider_opened`` to ``spider_closed`` inside it, so Python start-up, imports and catalog
  creation are not counted, while draining the pipeline's store and catalog threads at the end is;
* rounds alternate the order (bare, pipeline), (pipeline, bare), … so drift cancels out.

``--profile DIR`` runs each crawl under cProfile (which slows it: read the profile's shares, not its
ratio) and writes ``DIR/ROUND-KIND.prof`` for the reactor thread from spider_opened to spider_closed,
``DIR/ROUND-KIND-THREAD.prof`` for each other thread of the crawl (the store and catalog threads; not the
document reader processes, whose CPU the table gives by process), and
a ``.txt`` beside each with its top entries by cumulative time (read the rest with ``python -m pstats``).

Run from anywhere: ``python bench/pipeline_vs_bare.py [--pages 2000] [--rounds 3] [--json [PATH]] [--profile DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.8
KINDS = ("bare", "pipeline")
CHILD = "_child"  # argv[1] of this script when it runs one crawl (see child_main)


# =================================================================================================
# The child side: one crawl in this process, measured from the inside.
# =================================================================================================

def write_profile(profile: Any, path: Path) -> None:
    """``path`` (.prof, for pstats and snakeviz) and ``path`` with .txt: the top 40 by cumulative time."""
    import io
    import pstats

    profile.dump_stats(path)
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(40)
    path.with_suffix(".txt").write_text(text.getvalue(), encoding="utf-8")


def profile_threads(prefix: Path) -> None:
    """Profile every thread started from now on, each into ``prefix-THREADNAME.prof`` when it ends.

    cProfile sees only the thread it is enabled in; the pipeline stores and commits in its own threads.
    A thread still running when the process exits is not written (Scrapy's pools end with the crawl).
    """
    import cProfile
    import threading

    run = threading.Thread.run

    def profiled_run(thread: threading.Thread) -> None:
        profile = cProfile.Profile()
        profile.enable()
        try:
            run(thread)
        finally:
            profile.disable()
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", thread.name)
            write_profile(profile, prefix.with_name(f"{prefix.stem}-{name}.prof"))

    threading.Thread.run = profiled_run  # type: ignore[method-assign]


class ThreadCPU:
    """CPU seconds of each thread of this process during the crawl, by thread name (Linux: /proc), and of
    the processes it started (the document readers, crawler.extensions.documents, and their forkserver).

    The store, catalog and document threads end before spider_closed, so every thread is read
    every 0.2 s (by a thread of its own, which costs nothing measurable) and its last reading kept.
    """

    def __init__(self) -> None:
        import threading

        self.processes = self._descendants()  # looked for again every second: walking /proc costs
        self.start = self._read()
        self.last: dict[int, tuple[str, float]] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="bench-threadcpu", daemon=True)
        self.thread.start()

    @staticmethod
    def _stat_cpu(path: str) -> float | None:
        try:
            fields = Path(path).read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _read(self) -> dict[int, float]:
        """CPU by thread id, and by -pid for each process started from here (children, theirs …)."""
        cpu = {}
        for tid in os.listdir("/proc/self/task"):
            if (seconds := self._stat_cpu(f"/proc/self/task/{tid}/stat")) is not None:
                cpu[int(tid)] = seconds
        for pid in self.processes:
            if (seconds := self._stat_cpu(f"/proc/{pid}/stat")) is not None:
                cpu[-pid] = seconds
        return cpu

    @staticmethod
    def _descendants() -> dict[int, str]:
        """(pid, name) of every process below this one: a forkserver's children are "document reader"."""
        found, todo = {}, [(os.getpid(), "")]
        while todo:
            pid, parent = todo.pop()
            try:
                children = [int(c) for task in os.listdir(f"/proc/{pid}/task")
                            for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
            except OSError:
                continue
            for child in children:
                try:
                    cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                name = ("document reader process" if parent == "forkserver"
                        else "forkserver" if "forkserver" in cmdline else f"process {cmdline.split(' ')[0]}")
                found[child] = name
                todo.append((child, name))
        return found

    def sample(self) -> None:
        import threading

        names = {thread.native_id: thread.name for thread in threading.enumerate()}
        names.update({-pid: name for pid, name in self.processes.items()})
        for tid, cpu in self._read().items():
            name = names.get(tid) or self.last.get(tid, (f"thread {tid}", 0.0))[0]
            self.last[tid] = (name, cpu - self.start.get(tid, 0.0))

    def _run(self) -> None:
        rounds = 0
        while not self.stop.wait(0.2):
            rounds += 1
            if rounds % 5 == 0:
                self.processes |= self._descendants()
            self.sample()

    def finish(self) -> dict[str, float]:
        """Stop sampling; the CPU seconds by thread (or process) name, pools' numbered threads added up."""
        self.stop.set()
        self.thread.join()
        self.sample()
        by_name: dict[str, float] = {}
        for name, cpu in self.last.values():
            group = re.sub(r"[_-]\d+$", "", name)
            by_name[group] = round(by_name.get(group, 0.0) + cpu, 2)
        return dict(sorted(by_name.items(), key=lambda item: -item[1]))


def child_main(spec: dict[str, Any]) -> None:
    """Run one crawl described by ``spec`` (built by run_crawl) and let CrawlMeter write the result."""
    from scrapy import Request, Spider, signals
    from scrapy.crawler import Crawler, CrawlerProcess
    from scrapy.http import HtmlResponse, Response

    from crawler.runner import project_settings

    class BareSpider(Spider):
        """Follow every same-host ``<a href>`` from the start page; yield nothing else."""

        name = "bare"

        def __init__(self, start_url: str, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.start_urls = [start_url]
            self.host = urlsplit(start_url).hostname

        def parse(self, response: Response) -> Any:
            # Like CrawlSpider: only HTML is searched for links. (The simulator's PDFs are plain enough
            # for Scrapy to make them TextResponses; decoding those would cost more than the PDFs' fetch.)
            if not isinstance(response, HtmlResponse):
                return
            for href in response.css("a::attr(href)").getall():
                url = urldefrag(response.urljoin(href.strip())).url
                parts = urlsplit(url)
                if parts.scheme in ("http", "https") and parts.hostname == self.host:
                    yield Request(url, callback=self.parse)

    class CrawlMeter:
        """Wall and CPU time from spider_opened to spider_closed; writes them with all stats as JSON.

        CPU is taken twice: the whole process (every thread) and the reactor thread alone, which
        runs Scrapy, the spider and the event-loop side of the pipeline. Reactor CPU close to the
        wall time means the crawl is bound by that one thread, whatever the network does.
        """

        def __init__(self, crawler: Crawler) -> None:
            import cProfile

            self.crawler = crawler
            self.out = Path(crawler.settings["BENCH_RESULT_FILE"])
            profile = crawler.settings.get("BENCH_PROFILE")
            self.profile_path = Path(profile) if profile else None
            self.profile = cProfile.Profile() if profile else None
            self.threads: ThreadCPU | None = None
            self.thread_cpu: dict[str, float] = {}
            self.opened = self.closed = 0.0
            self.cpu_opened = self.cpu_closed = 0.0
            self.loop_cpu_opened = self.loop_cpu_closed = 0.0
            crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
            crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
            crawler.signals.connect(self.engine_stopped, signal=signals.engine_stopped)

        @classmethod
        def from_crawler(cls, crawler: Crawler) -> CrawlMeter:
            return cls(crawler)

        @staticmethod
        def _cpu() -> float:
            usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of the crawl process
            return usage.ru_utime + usage.ru_stime

        def spider_opened(self) -> None:
            self.opened, self.cpu_opened, self.loop_cpu_opened = time.perf_counter(), self._cpu(), time.thread_time()
            self.threads = ThreadCPU()
            if self.profile:
                self.profile.enable()

        def spider_closed(self) -> None:  # signals are sent on the reactor thread: thread_time() is its CPU
            self.closed, self.cpu_closed, self.loop_cpu_closed = time.perf_counter(), self._cpu(), time.thread_time()
            self.thread_cpu = self.threads.finish() if self.threads else {}
            if self.profile and self.profile_path:
                self.profile.disable()
                write_profile(self.profile, self.profile_path)

        def engine_stopped(self) -> None:  # last signal: the pipeline has been closed, stats are final
            stats = self.crawler.stats.get_stats()
            result = {"wall_s": self.closed - self.opened, "cpu_s": self.cpu_closed - self.cpu_opened,
                      "loop_cpu_s": self.loop_cpu_closed - self.loop_cpu_opened, "thread_cpu_s": self.thread_cpu,
                      "stats": stats}
            self.out.write_text(json.dumps(result, default=str, indent=1), encoding="utf-8")

    # The same settings for both, on top of nianbao's own (user agent, retries, cookies, reactor …).
    overrides = {
        "CONCURRENT_REQUESTS": spec["concurrency"],
        "CONCURRENT_REQUESTS_PER_DOMAIN": spec["concurrency"],
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "ROBOTSTXT_OBEY": True,
        "LOG_LEVEL": "WARNING",
        "BENCH_RESULT_FILE": spec["out"],
        "BENCH_PROFILE": spec["profile"],
    }
    if spec["profile"]:
        profile_threads(Path(spec["profile"]))
    if spec["kind"] == "pipeline":
        from crawler.runner import crawl_settings
        from nianbao.config import Config

        config = Config.from_env(env={}, home=spec["home"], proxy=spec["proxy"])
        settings = crawl_settings(config, spec["registry"], "WARNING")  # exactly as `nianbao crawl`
        settings.setdict(overrides, priority="cmdline")
        settings.set("EXTENSIONS", {**settings.getdict("EXTENSIONS"), CrawlMeter: 0}, priority="cmdline")
        process = CrawlerProcess(settings)
        process.crawl("annual_reports", site=spec["site"], sites=spec["registry"])
    else:
        settings = project_settings()
        settings.setdict({**overrides, "SPIDER_MODULES": [], "ITEM_PIPELINES": {}, "DOWNLOADER_MIDDLEWARES": {},
                          "EXTENSIONS": {CrawlMeter: 0}}, priority="cmdline")
        # The proxy comes from the environment (http_proxy, set by run_crawl) through Scrapy's own
        # HttpProxyMiddleware, so robots.txt goes through it too.
        process = CrawlerProcess(settings)
        process.crawl(BareSpider, start_url=spec["start_url"])
    process.start()


# =================================================================================================
# The parent side: the simulator, the rounds, the checks and the report.
# =================================================================================================

@dataclass
class Crawl:
    """One measured crawl."""

    kind: str
    round: int
    exit_code: int
    pages: int = 0  # responses received, robots.txt left out
    responses: int = 0  # every response received, robots.txt included
    seconds: float = 0.0  # spider_opened → spider_closed
    pages_per_s: float = 0.0
    cpu_ms_per_page: float = 0.0  # crawl process, all threads, during the crawl
    loop_cpu_pct: float = 0.0  # reactor thread CPU during the crawl, % of the wall time (100: saturated)
    server_cpu_pct: float = 0.0  # simulator process CPU during the crawl, % of one core
    peak_rss_mb: float = 0.0  # of the crawl process, start-up included
    thread_cpu_s: dict[str, float] = field(default_factory=dict)  # CPU seconds by thread (pool threads added up)
    process_seconds: float = 0.0  # the whole child process, start-up included
    check: dict[str, Any] = field(default_factory=dict)  # pipeline only: the archive it wrote


class Simulator:
    """``python -m tests.simulator --static-pages N`` in its own process, so it has its own GIL."""

    def __init__(self, pages: int, seed: int, workdir: Path) -> None:
        self.registry = workdir / "sites.yaml"
        self.log = workdir / "simulator.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.simulator", "--static-pages", str(pages), "--seed", str(seed),
                 "--registry-out", str(self.registry)],
                cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("proxy: "):
            self.stop()
            raise SystemExit(f"the simulator did not start:\n{self.log.read_text(errors='replace')}")
        self.proxy_url = line.removeprefix("proxy: ").strip()
        for _ in range(50):  # its summary line goes to stderr right after the proxy line
            if "world:" in self.log.read_text(errors="replace"):
                break
            time.sleep(0.02)
        match = re.search(r"world: (.*)", self.log.read_text(errors="replace"))
        self.summary = match.group(1) if match else "?"
        urls = re.search(r"(\d+) urls", self.summary)
        self.urls = int(urls.group(1)) if urls else 0

    def cpu_seconds(self) -> float:
        """User + system CPU time of the simulator process so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def run_crawl(kind: str, round_no: int, sim: Simulator, site: str, start_url: str, concurrency: int,
              workdir: Path, profile_dir: Path | None = None) -> Crawl:
    """One crawl in a child process; reads back what CrawlMeter wrote, adds RSS and server CPU."""
    rundir = workdir / f"{round_no}-{kind}"
    rundir.mkdir()
    out = rundir / "result.json"
    spec = {"kind": kind, "concurrency": concurrency, "out": str(out), "proxy": sim.proxy_url,
            "registry": str(sim.registry), "site": site, "start_url": start_url, "home": str(rundir / "home"),
            "profile": str(profile_dir / f"{round_no}-{kind}.prof") if profile_dir else None}
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("NIANBAO_") and k.lower() not in {"http_proxy", "https_proxy", "no_proxy"}}
    if kind == "bare":
        env["http_proxy"] = sim.proxy_url
    server_cpu = sim.cpu_seconds()
    started = time.perf_counter()
    with (rundir / "crawl.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), CHILD, json.dumps(spec)],
                                cwd=ROOT, env=env, stdout=log, stderr=log)
        _pid, status, usage = os.wait4(proc.pid, 0)  # wait4: this child's own peak RSS
    proc.returncode = os.waitstatus_to_exitcode(status)
    crawl = Crawl(kind, round_no, proc.returncode, process_seconds=time.perf_counter() - started,
                  peak_rss_mb=usage.ru_maxrss / 1024)
    server_cpu = sim.cpu_seconds() - server_cpu
    if proc.returncode != 0 or not out.exists():
        tail = (rundir / "crawl.log").read_text(errors="replace")[-3000:]
        print(f"round {round_no} {kind}: crawl exited {proc.returncode}\n{tail}", file=sys.stderr)
        crawl.exit_code = crawl.exit_code or 1
        return crawl
    result = json.loads(out.read_text(encoding="utf-8"))
    stats = result["stats"]
    crawl.responses = stats.get("response_received_count", 0)
    crawl.pages = crawl.responses - stats.get("robotstxt/response_count", 0)
    crawl.seconds = result["wall_s"]
    crawl.pages_per_s = crawl.pages / crawl.seconds if crawl.seconds else 0.0
    crawl.cpu_ms_per_page = 1000 * result["cpu_s"] / crawl.pages if crawl.pages else 0.0
    crawl.loop_cpu_pct = 100 * result["loop_cpu_s"] / crawl.seconds if crawl.seconds else 0.0
    crawl.server_cpu_pct = 100 * server_cpu / crawl.seconds if crawl.seconds else 0.0
    crawl.thread_cpu_s = result.get("thread_cpu_s", {})
    if kind == "pipeline":
        crawl.check = check_archive(rundir / "home", stats, crawl.pages)
    return crawl


def check_archive(home: Path, stats: dict[str, Any], pages: int) -> dict[str, Any]:
    """Did every page fetched become a capture whose object is stored intact?"""
    from archive.catalog import Catalog
    from archive.storage import IntegrityError
    from archive.storage.local import LocalStore

    run_id = stats.get("nianbao/run_id")
    catalog = Catalog(f"sqlite:///{home / 'catalog.sqlite3'}")
    store = LocalStore(home / "objects")
    captures = list(catalog.captures(run=run_id))
    failures = catalog.failures(run=run_id)
    bad: list[str] = []
    for digest in sorted({c.sha256 for c in captures}):
        try:
            store.get(digest)  # reads the file and checks its SHA-256
        except IntegrityError as exc:
            bad.append(str(exc))
    catalog.engine.dispose()
    return {"run_id": run_id, "captures": len(captures), "pages": pages, "failures": len(failures),
            "objects": len({c.sha256 for c in captures}), "bad_objects": len(bad), "first_bad": bad[:3],
            "ok": len(captures) == pages and not bad and not failures}


def summarize(crawls: list[Crawl], args: argparse.Namespace, sim: Simulator) -> dict[str, Any]:
    """Medians per kind, the ratio and the verdict."""
    def median(kind: str, attr: str) -> float:
        values = [getattr(c, attr) for c in crawls if c.kind == kind and c.exit_code == 0]
        return statistics.median(values) if values else 0.0

    medians = {kind: {attr: median(kind, attr) for attr in
                      ("pages", "pages_per_s", "seconds", "cpu_ms_per_page", "loop_cpu_pct", "server_cpu_pct",
                       "peak_rss_mb")}
               for kind in KINDS}
    bare, pipeline = medians["bare"]["pages_per_s"], medians["pipeline"]["pages_per_s"]
    ratio = pipeline / bare if bare else 0.0
    return {
        "world": sim.summary, "world_urls": sim.urls, "pages_requested": args.pages, "rounds": args.rounds,
        "concurrency": args.concurrency, "cpus": os.cpu_count(), "python": sys.version.split()[0],
        "medians": medians, "ratio": ratio, "target": TARGET,
        "verdict": "PASS" if ratio >= TARGET else "BELOW TARGET",
        "archive_ok": all(c.check.get("ok") for c in crawls if c.kind == "pipeline"),
        "crawls": [asdict(c) for c in crawls],
    }


def print_table(report: dict[str, Any], out: Any) -> None:
    print(f"\nworld: {report['world']}; concurrency {report['concurrency']}, {report['cpus']} CPUs, "
          f"simulator in its own process\n", file=out)
    head = (f"{'round':>5}  {'crawl':<8} {'pages':>6} {'seconds':>8} {'pages/s':>8} {'CPU ms/page':>11} "
            f"{'reactor CPU':>11} {'server CPU':>10} {'peak RSS':>9}  archive check")
    print(head, file=out)
    print("-" * len(head), file=out)
    for c in report["crawls"]:
        if c["exit_code"]:
            print(f"{c['round']:>5}  {c['kind']:<8} FAILED (exit {c['exit_code']})", file=out)
            continue
        check = ""
        if c["check"]:
            k = c["check"]
            check = (f"{'ok' if k['ok'] else 'MISMATCH'}: {k['captures']} captures / {k['pages']} pages, "
                     f"{k['objects'] - k['bad_objects']}/{k['objects']} objects intact, {k['failures']} failures")
        print(f"{c['round']:>5}  {c['kind']:<8} {c['pages']:>6} {c['seconds']:>8.2f} {c['pages_per_s']:>8.1f} "
              f"{c['cpu_ms_per_page']:>11.2f} {c['loop_cpu_pct']:>10.0f}% {c['server_cpu_pct']:>9.0f}% "
              f"{c['peak_rss_mb']:>7.0f}MB  {check}",
              file=out)
    print("-" * len(head), file=out)
    for c in report["crawls"]:
        if c["thread_cpu_s"]:
            shares = ", ".join(f"{name} {cpu:.1f}" for name, cpu in c["thread_cpu_s"].items() if cpu >= 0.05)
            print(f"{c['round']:>5}  {c['kind']:<8} CPU s by thread: {shares}", file=out)
    print("-" * len(head), file=out)
    for kind in KINDS:
        m = report["medians"][kind]
        print(f"{'median':>5}  {kind:<8} {m['pages']:>6.0f} {m['seconds']:>8.2f} {m['pages_per_s']:>8.1f} "
              f"{m['cpu_ms_per_page']:>11.2f} {m['loop_cpu_pct']:>10.0f}% {m['server_cpu_pct']:>9.0f}% "
              f"{m['peak_rss_mb']:>7.0f}MB", file=out)
    print(f"\nratio pipeline/bare (median pages/s): {report['ratio']:.3f}   target ≥ {TARGET}: {report['verdict']}",
          file=out)
    if not report["archive_ok"]:
        print("ARCHIVE CHECK FAILED in at least one pipeline round (see the table)", file=out)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--pages", type=int, default=2000, help="size of the generated site (fetchable URLs)")
    parser.add_argument("--rounds", type=int, default=3, help="bare+pipeline pairs, order alternating")
    parser.add_argument("--concurrency", type=int, default=16,
                        help="CONCURRENT_REQUESTS and CONCURRENT_REQUESTS_PER_DOMAIN of both crawls")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated site")
    parser.add_argument("--json", nargs="?", const="-", metavar="PATH",
                        help="write the figures as JSON to PATH (- or no value: stdout, the table then goes to stderr)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, archives) and say where")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="run each crawl under cProfile and write its profiles into DIR (see above)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    table_out = sys.stderr if args.json == "-" else sys.stdout
    workdir = Path(tempfile.mkdtemp(prefix="nianbao-bench-"))
    if args.profile:
        args.profile = args.profile.resolve()
        args.profile.mkdir(parents=True, exist_ok=True)
    sim = Simulator(args.pages, args.seed, workdir)
    crawls: list[Crawl] = []
    try:
        from crawler.registry import load_registry

        site = load_registry(str(sim.registry)).sites[0]
        print(f"simulator at {sim.proxy_url}: {sim.summary}", file=table_out, flush=True)
        for round_no in range(1, args.rounds + 1):
            for kind in KINDS if round_no % 2 else reversed(KINDS):
                crawl = run_crawl(kind, round_no, sim, site.id, site.report_lists[0], args.concurrency, workdir,
                                  args.profile)
                crawls.append(crawl)
                print(f"  round {round_no} {kind:<8} {crawl.pages:>5} pages in {crawl.seconds:6.2f} s = "
                      f"{crawl.pages_per_s:7.1f} pages/s", file=table_out, flush=True)
    finally:
        sim.stop()
        if args.keep:
            print(f"work directory kept: {workdir}", file=table_out)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report = summarize(crawls, args, sim)
    print_table(report, table_out)
    if args.json:
        text = json.dumps(report, indent=2, ensure_ascii=False)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n", encoding="utf-8")
    failed = any(c.exit_code for c in crawls) or not report["archive_ok"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # tests.simulator, and the project itself when it is not installed
    if len(sys.argv) > 2 and sys.argv[1] == CHILD:
        child_main(json.loads(sys.argv[2]))
    else:
        sys.exit(main(sys.argv[1:]))
