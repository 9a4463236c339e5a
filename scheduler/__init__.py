"""The scheduler runs the spring crawls (APScheduler); it arrives with the operators' issue.

Until then a crawl is run by hand: ``nianbao crawl``.
"""
