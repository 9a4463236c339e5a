"""Every default of the crawler, in one place (Scrapy's settings module for nianbao).

``NIANBAO_*`` settings left at None fall back to the environment variable of the same name
(see nianbao.config), so flags, environment and ``scrapy crawl -s`` all work alike.
"""

BOT_NAME = "nianbao"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# -- nianbao ------------------------------------------------------------------------------
NIANBAO_SITES = None  # registry YAML; None: the national registry shipped in crawler/data
NIANBAO_HOME = None  # NIANBAO_HOME, default ./var
NIANBAO_STORAGE = None  # file:///… or s3://BUCKET[/PREFIX]
NIANBAO_CATALOG = None  # SQLAlchemy URL, default SQLite under NIANBAO_HOME
NIANBAO_PROXY = None  # http://[user:pass@]host:port for every fetch
#: Seconds the S3 endpoint and the catalog database get to connect and to begin each answer; None: the
#: environment variable, else nianbao.config.ARCHIVE_TIMEOUT (15). One that never answers is named and the crawl stops.
NIANBAO_ARCHIVE_TIMEOUT = None
NIANBAO_RUN_TRIGGER = "manual"
#: Stop following a list's pagination after this many pages (a guard against endless pagers).
NIANBAO_MAX_LIST_PAGES = 500
#: Levels of sub-columns followed below a report column (年报 → 2024年 → 教育局 is two): deeper is a site map.
NIANBAO_SUB_COLUMN_DEPTH = 2
#: Report links followed from one list page, and from one list (all its pages): a page of 100,000
#: report-like links is a trap, not a county. Real lists show 15–50 a page, a few hundred in all.
NIANBAO_MAX_REPORTS_PER_PAGE = 1000
NIANBAO_MAX_REPORTS_PER_LIST = 5000
#: At most this many requests for one site in one crawl (a guard against traps nothing else caught).
NIANBAO_MAX_REQUESTS_PER_SITE = 20_000
#: Hanweb dataproxy: records asked for per POST, as real JCMS list pages do (3 pages of 15).
NIANBAO_HANWEB_GROUP = 45
#: Print a line per archived report and attachment (the CLI switches it on).
NIANBAO_PROGRESS = False
#: Captures committed to the catalog together: at most this many, after at most this many seconds.
NIANBAO_CATALOG_GROUP_SIZE = 64
NIANBAO_CATALOG_GROUP_DELAY = 0.25
#: Processes reading and judging fetched documents (crawler.extensions.documents): None, the cores but one (at least
#: one); 0, a thread of the crawl. Each holds at most NIANBAO_DOCUMENT_QUEUE documents; one not read within
#: NIANBAO_DOCUMENT_TIMEOUT seconds of its turn (a hostile PDF) is judged by its title and its worker replaced.
NIANBAO_DOCUMENT_WORKERS = None
NIANBAO_DOCUMENT_QUEUE = 4
NIANBAO_DOCUMENT_TIMEOUT = 30.0
#: Threads storing bodies in object storage while the crawl goes on.
NIANBAO_STORE_THREADS = 4
#: S3 or the catalog away: bodies and rows are spooled to NIANBAO_HOME/spool/ (fsynced, checked) and the crawl goes
#: on; they are stored and recorded when it answers again. Past this many seconds of one outage the crawl stops
#: (exit 1) and leaves the spool for the next crawl, which drains it first.
NIANBAO_OUTAGE_MAX = 1800.0
#: Seconds before the first try to drain the spool; doubled after each failed try, up to NIANBAO_OUTAGE_RETRY_MAX.
NIANBAO_OUTAGE_RETRY = 1.0
NIANBAO_OUTAGE_RETRY_MAX = 30.0
#: Bodies spooled past this many bytes pause fetching until the spool drains (never more than the disk holds,
#: less NIANBAO_SPOOL_DISK_MARGIN).
NIANBAO_SPOOL_MAX_BYTES = 4 * 1024**3
#: Bytes the spool always leaves free on its disk: a body that would take them is an error naming the spool.
NIANBAO_SPOOL_DISK_MARGIN = 512 * 1024**2
#: Ask "changed since?" (If-None-Match / If-Modified-Since) for URLs archived before; a 304 is a revisit.
NIANBAO_CONDITIONAL_REQUESTS = True
#: The check schedule of archived reports, attachments and pages (lists are read every crawl): a URL is
#: asked after again NIANBAO_RECHECK_FIRST seconds after a first or changed capture (late corrections come
#: in the first weeks), then twice as long after each unchanged check, up to NIANBAO_RECHECK_LONGEST.
NIANBAO_RECHECK_FIRST = 7 * 24 * 3600.0
NIANBAO_RECHECK_LONGEST = 365 * 24 * 3600.0
#: A report first archived long after its county's deadline (31 March of the year after) is past its first
#: weeks: its first check waits this share of its age instead, if longer (0: NIANBAO_RECHECK_FIRST for all).
NIANBAO_RECHECK_AGE_FACTOR = 0.25
#: Ask after an archived URL last checked longer ago than this many seconds even before its check is due
#: (0: ask after everything now; inf: the schedule alone decides).
NIANBAO_RECHECK_AFTER = float("inf")
#: A crawl goes on from its sites' runs interrupted (killed, failed, cancelled) less than this long ago: the
#: list pages they fetched are read back from the archive, not fetched again.
NIANBAO_RESUME_WITHIN = 3 * 24 * 3600.0
#: Seconds between updates of a running run's figures in the catalog (live progress); 0: only at the end.
NIANBAO_RUN_UPDATE_INTERVAL = 5.0
#: Lowest level kept in the run's JSON-lines log (NIANBAO_HOME/logs/run-N.jsonl); empty: no run log.
NIANBAO_RUN_LOG_LEVEL = "INFO"

# -- scheduler ----------------------------------------------------------------------------
# Read by `nianbao schedule` (scheduler/service.py): `-s NAME=VALUE` first, then the environment variable.
#: Cron expressions for every site, separated by ';' (5 fields, or 6 with seconds first; H = from the site id).
#: None: the spring plan, every site on Mondays 02:00 in February–April and on the first Monday of every other
#: month, so that they are crawled together in one round (scheduler/plan.py says why).
NIANBAO_SCHEDULE = None
#: Time zone the expressions are read in.
NIANBAO_SCHEDULE_TIMEZONE = "Asia/Shanghai"
#: At most this many seconds added at random to each site's time (the round gathers them again).
NIANBAO_SCHEDULE_JITTER = 600
#: Crawls running at once: each is one process (one Scrapy reactor on one core) over many sites; 2 cores here.
NIANBAO_SCHEDULE_MAX_CRAWLS = 2
#: Due sites are gathered into rounds: a round starts once no site came due for this many seconds …
NIANBAO_ROUND_GATHER = 30
#: … or this many seconds after its first site came due (longer than NIANBAO_SCHEDULE_JITTER, so the starts one
#: plan time is jittered into land in one round).
NIANBAO_ROUND_GATHER_MAX = 900
#: At most this many sites in one crawl process (a round of more is split over more crawls): a crawl loads
#: every known URL of its sites, ~0.1 MB a site (bench/scale.py measures it); 2 × 1,500 covers the registry.
NIANBAO_ROUND_SITES = 1500
#: A run missed while the service was down still runs (once) if the service is back within this many seconds.
NIANBAO_SCHEDULE_MISFIRE_GRACE = 7 * 24 * 3600
#: Seconds between the service's heartbeats (NIANBAO_HOME/scheduler.json; pause/resume by others seen).
NIANBAO_SCHEDULE_HEARTBEAT = 30
#: On SIGTERM, seconds running crawls get to close their runs before they are killed.
NIANBAO_SHUTDOWN_GRACE = 600

# -- many machines (scheduler.engine, scheduler.worker): the scheduler hands rounds to Celery ----------------------
#: A Redis URL (redis://host:6379/0): the service hands each round to the workers through Celery instead of running
#: it itself. None: one machine, the service runs the crawls.
NIANBAO_BROKER = None
#: A dispatch (one Celery task, one crawl on a worker) holds at most this many sites; a round is split into at least
#: as many dispatches as the live workers have crawl slots.
NIANBAO_DISPATCH_SITES = 200
#: Crawls a worker runs at once (its Celery concurrency): a process per core, as on one machine.
NIANBAO_WORKER_CRAWLS = 2
#: Seconds between a worker's heartbeats (its row in the catalog: state, sites, requests/s, errors).
NIANBAO_WORKER_HEARTBEAT = 5
#: A worker silent this many seconds is dead: the scheduler sends its sites to another worker.
NIANBAO_WORKER_TIMEOUT = 30
#: Seconds between the scheduler's looks at the fleet (dead workers, a broker that restarted and forgot its queue).
NIANBAO_FLEET_CHECK = 5
#: A site's lease (one crawl of it at a time on every machine): seconds it lasts unrenewed; renewed every quarter.
NIANBAO_SITE_LEASE = 120
#: Seconds a task may stay unacknowledged in Redis before the broker delivers it again (Celery's visibility
#: timeout): longer than a crawl; the scheduler's own fleet check hands a dead worker's sites on much sooner.
NIANBAO_BROKER_VISIBILITY = 6 * 3600

# -- politeness ---------------------------------------------------------------------------
USER_AGENT = "nianbao/0.1 (+https://github.com/nianbao/nianbao; annual-report archive crawler)"
ROBOTSTXT_OBEY = True
#: A crawl of many sites is fast because many hosts are crawled at once, never because one is hammered:
#: each host gets one connection and at most one request a second (Heritrix waits 3 s). Per host, as the
#: download slots are; a registry entry's `delay:` and `concurrency:` change it for that site's hosts
#: (crawler.downloadermiddlewares.politeness). The run's figures show the busiest second per host.
CONCURRENT_REQUESTS_PER_DOMAIN = 1
#: A crawl is a broad crawl (Scrapy's "Broad Crawls"): up to NIANBAO_ROUND_SITES sites, a host or more each.
#: Requests leave the scheduler for the host with the fewest in the downloader, so requests of a host waiting
#: out its delay never fill CONCURRENT_REQUESTS while other hosts idle (needs CONCURRENT_REQUESTS_PER_IP = 0).
SCHEDULER_PRIORITY_QUEUE = "scrapy.pqueues.DownloaderAwarePriorityQueue"
#: Requests in the downloader at once, all hosts together (in transfer, or waiting out their host's delay):
#: enough for every host of a crawl to have its next request ready, so each can go at its polite rate.
CONCURRENT_REQUESTS = 2048
#: Threads for DNS lookups (and other blocking calls): a round meets hundreds of host names at its start.
REACTOR_THREADPOOL_MAXSIZE = 20
DOWNLOAD_DELAY = 1.0
#: Scrapy varies each delay by ±50% by default, which would send two requests half a second apart.
DOWNLOAD_DELAY_JITTER = 0.0
#: Scrapy starts this many asyncio tasks per response; its default (100) costs more than it buys here.
CONCURRENT_ITEMS = 16
DOWNLOAD_TIMEOUT = 60
#: Slows down for hosts that answer slowly; never below a host's delay (crawler/extensions/throttle.py).
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5  # a host's first delay: the larger of this and its DOWNLOAD_DELAY
AUTOTHROTTLE_MAX_DELAY = 30
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_ENABLED = True
RETRY_TIMES = 2
#: Longest Retry-After (seconds) waited for; a host asking for more is given up on, with the reason.
NIANBAO_MAX_RETRY_AFTER = 300
#: Pause after a host's first transient failure, doubled for each one more in a row, up to the max.
NIANBAO_BACKOFF_BASE = 1.0
NIANBAO_BACKOFF_MAX = 60.0
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
#: Scrapy's own "Gave up retrying" line: the spider records each such URL as a failure (a warning) already.
RETRY_GIVE_UP_LOG_LEVEL = "INFO"
COOKIES_ENABLED = True

# -- safety -------------------------------------------------------------------------------
#: Fetch loopback, private, link-local and metadata addresses (only for a lab or a test world); the registry
#: then accepts them too. None: the environment variable of the same name, false when unset.
NIANBAO_ALLOW_INTERNAL_ADDRESSES = None
#: Scrapy's caching resolver, refusing internal answers when it connects (DNS rebinding; crawler/resolver.py).
TWISTED_DNS_RESOLVER = "crawler.resolver.SafeResolver"
#: Bodies larger than this (after decoding) are cancelled; up to it they stream to a temporary file.
DOWNLOAD_MAXSIZE = 200 * 1024 * 1024
DOWNLOAD_WARNSIZE = 50 * 1024 * 1024
#: A body is held in memory up to this size, then spooled to an anonymous temporary file as it arrives.
NIANBAO_SPOOL_MEMORY = 1024 * 1024
#: Bodies up to this size reach the spider as bytes; larger ones are archived from their file, and a
#: page that large is not read (its links not followed, the reason recorded). Memory per response stays
#: about this, whatever a server sends.
NIANBAO_MAX_BODY_IN_MEMORY = 8 * 1024 * 1024

# -- components ---------------------------------------------------------------------------
DOWNLOADER_MIDDLEWARES = {
    # Bodies are decoded as they arrive by crawler.downloadhandlers.http, in bounded steps.
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "crawler.downloadermiddlewares.proxy.ProxyMiddleware": 700,
    # First, on every request and every redirect's target, and before RobotsTxtMiddleware (100): a host
    # refused is not even asked for its robots.txt. Internal addresses first: the clearer reason.
    "crawler.downloadermiddlewares.safety.SafetyMiddleware": 40,
    "crawler.downloadermiddlewares.scope.ScopeMiddleware": 50,
    # A site's own delay and concurrency for each host it meets, before its slot is made and its robots.txt asked.
    "crawler.downloadermiddlewares.politeness.PolitenessMiddleware": 60,
    # Then a list page an interrupted run already fetched is read back from the archive: no robots.txt, no request.
    "crawler.downloadermiddlewares.replay.ReplayMiddleware": 70,
    # Answers pass it before RetryMiddleware (550), so a retry waits as long as the host asked.
    "crawler.downloadermiddlewares.retryafter.RetryAfterMiddleware": 560,
    # Sees a redirect before RedirectMiddleware (600) follows it: a loop is a failure, not a dropped duplicate.
    "crawler.downloadermiddlewares.redirectloop.RedirectLoopMiddleware": 610,
    # Answers pass it after the revisit: a 304 answered from the archive has its charset read too.
    "crawler.downloadermiddlewares.charset.CharsetMiddleware": 580,
    # A 304 becomes the archived (decoded) body, early, as if it had been downloaded.
    "crawler.downloadermiddlewares.revisit.RevisitMiddleware": 595,
    # Before CookiesMiddleware (700): the cookies a browser pass got go into Scrapy's jar with the repeat.
    "crawler.downloadermiddlewares.challenge.ChallengeMiddleware": 650,
}
#: What a callback yields passes these from the highest number down (scope first, so a refused URL costs no budget).
SPIDER_MIDDLEWARES = {
    "crawler.spidermiddlewares.scope.ScopeMiddleware": 930,
    "crawler.spidermiddlewares.listpages.ListPagesMiddleware": 920,
    "crawler.spidermiddlewares.budget.BudgetMiddleware": 910,
}
EXTENSIONS = {
    # First: the others find the run and the archive here (crawler.extensions.archive).
    "crawler.extensions.archive.Archive": 100,
    "crawler.extensions.documents.DocumentReaders": 110,
    "scrapy.extensions.throttle.AutoThrottle": None,
    "crawler.extensions.throttle.AutoThrottle": 0,  # the same, learning from 304s too
    "crawler.extensions.progress.Progress": 500,
    "crawler.extensions.hostrate.HostRate": 505,  # the busiest second per host, for the run's figures
    "crawler.extensions.pacing.AnswerPacing": 506,  # a host's delay from its last answer
    "crawler.extensions.runlog.RunLog": 510,
    "crawler.extensions.unreachable.Unreachable": 520,
}
ITEM_PIPELINES = {
    "crawler.pipelines.archive.ArchivePipeline": 300,
}

# -- rendering ----------------------------------------------------------------------------
ADDONS = {"crawler.addons.browser.BrowserAddon": 0}
#: Chromium to render with; None: found at the usual places (Debian: apt-get install chromium).
NIANBAO_CHROMIUM = None
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_MAX_CONTEXTS = 1
PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = 2
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 30_000
#: Browser passes at a JS anti-bot challenge before the host is given up on, and how long each waits.
NIANBAO_CHALLENGE_TRIES = 2
NIANBAO_CHALLENGE_TIMEOUT = 30
#: A script-rendered list with no data API to page through is driven (下一页 / 加载更多 / page numbers clicked,
#: infinite lists scrolled) for at most this many seconds and NIANBAO_MAX_LIST_PAGES steps; each step gets
#: NIANBAO_SCRIPT_PAGER_WAIT seconds to show new links. A bound reached is recorded as a failure.
NIANBAO_SCRIPT_PAGER_TIMEOUT = 60.0
NIANBAO_SCRIPT_PAGER_WAIT = 3.0
#: JSON answers kept from one browser pass (looked at for a data API listing the entries), and their largest size.
NIANBAO_SCRIPT_PAGER_ANSWERS = 30
NIANBAO_SCRIPT_PAGER_ANSWER_SIZE = 2 * 1024 * 1024

#: Template markers (一、总体情况 … 六、其他需要报告的事项, 统计期限 …) that make a fetched page or file a
#: report whatever its title (crawler.judge); a candidate page with fewer, wrapping no file, is kept as a page.
NIANBAO_REPORT_MIN_MARKERS = 3

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
LOGSTATS_INTERVAL = 30.0
TELNETCONSOLE_ENABLED = False
#: Scrapy's code-execution HTTP server in every crawl: no door into a scheduled crawl, and no job files in ~.
REMOTE_CONTROL_ENABLED = False
