"""Run the annual_reports spider in this process, with the CLI's configuration."""

from __future__ import annotations

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from nianbao.config import Config


def project_settings() -> Settings:
    """Scrapy's defaults with crawler/settings.py on top: what every crawl and every setting check start from."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    return settings


def crawl_settings(config: Config, sites_file: str | None, log_level: str = "INFO",
                   overrides: dict[str, str] | None = None) -> Settings:
    settings = project_settings()
    settings.setdict({
        "NIANBAO_HOME": str(config.home),
        "NIANBAO_STORAGE": config.storage,
        "NIANBAO_CATALOG": config.catalog,
        "NIANBAO_PROXY": config.proxy,
        "NIANBAO_SITES": sites_file,
        "NIANBAO_PROGRESS": True,
        "LOG_LEVEL": log_level.upper(),
    }, priority="cmdline")
    settings.setdict(overrides or {}, priority="cmdline")
    return settings


def run_crawl(config: Config, site_ids: list[str], sites_file: str | None, log_level: str = "INFO",
              overrides: dict[str, str] | None = None) -> int:
    """Crawl ``site_ids`` to the end; returns the run id recorded in the catalog."""
    process = CrawlerProcess(crawl_settings(config, sites_file, log_level, overrides))
    crawler = process.create_crawler("annual_reports")
    process.crawl(crawler, site=",".join(site_ids))  # the registry comes from NIANBAO_SITES
    process.start()
    return crawler.stats.get_value("nianbao/run_id")
