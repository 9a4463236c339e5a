"""The scheduler runs the spring crawls: ``nianbao schedule run|show|pause|resume``.

``plan`` (when: cron expressions, ``H`` slots from the site id), ``jobs`` (the job store in the
catalog, shared with the CLI), ``service`` (the long-running service; each crawl a child process),
``status`` (its heartbeat file), ``config`` (its settings), ``locks`` (one crawl of a site at a time).
"""
