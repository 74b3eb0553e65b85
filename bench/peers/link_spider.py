"""Scrapy peer for bench/run scenario 1: a minimal link-following CrawlSpider.

Follows every a[href] and area[href] (Scrapy's LinkExtractor defaults) that stays on the start
URL's host and port and under its path prefix, and yields one item per HTML response received.
Run with Debian's python3-scrapy:

  scrapy runspider bench/peers/link_spider.py -a start_url=http://127.0.0.1:PORT/index.html \
      -O items.jsonl -s LOG_LEVEL=INFO

No robots.txt handling is configured (Scrapy's default, ROBOTSTXT_OBEY = False; the benchmark
site has none). The telnet console is off, so the spider opens no listening port.
"""
import re
from urllib.parse import urlsplit

from scrapy.linkextractors import LinkExtractor
from scrapy.spiders import CrawlSpider, Rule


class LinkSpider(CrawlSpider):
    name = "link_spider"
    custom_settings = {
        "TELNETCONSOLE_ENABLED": False,
        "ROBOTSTXT_OBEY": False,
        "COOKIES_ENABLED": False,
    }

    def __init__(self, start_url, *args, **kwargs):
        parts = urlsplit(start_url)
        prefix = start_url[: start_url.rfind("/") + 1]  # the start URL's directory
        self.start_urls = [start_url]
        self.allowed_domains = [parts.hostname]
        self.rules = (
            # The prefix pins scheme, host, port and directory. (LinkExtractor's allow_domains
            # would compare "host:port" with the domain and reject every link.)
            Rule(LinkExtractor(allow=["^" + re.escape(prefix)]), callback="parse_item",
                 follow=True),
        )
        super().__init__(*args, **kwargs)  # compiles self.rules

    def parse_start_url(self, response):
        return self.parse_item(response)

    def parse_item(self, response):
        yield {"url": response.url, "status": response.status}
