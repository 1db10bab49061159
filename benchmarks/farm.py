"""A feed farm on loopback: N feeds × M items, ~30 KB GBA news pages full of figures, a fixed latency.

``python -m benchmarks.farm --feeds 200 --items 10 --latency-ms 50`` serves until interrupted and prints one
JSON line first: the farm's origins and feed URLs. The benchmark starts it as a subprocess through
``running_farm`` so that the farm's own CPU and memory never count against the poller being measured.

The server is one asyncio loop (``asyncio.start_server``, a tiny HTTP/1.1 handler with keep-alive), so
hundreds of concurrent connections cost nothing but sockets; the latency is an ``asyncio.sleep`` before each
answer. Every resource has an ETag and a Last-Modified, and a matching ``If-None-Match`` (or, without one, a
matching ``If-Modified-Since``) is answered ``304 Not Modified`` with no body. The farm counts requests,
statuses and bytes; ``GET /_farm/stats`` returns the counts as JSON and ``GET /_farm/reset`` zeroes them
(neither is delayed nor counted).

Outlets: feed ``i`` and its pages live on origin ``i % hosts``. Origins are distinct loopback addresses
(127.0.0.1, 127.0.0.2, …) because a polite client limits concurrency per *host name*, not per port: 200 feeds
of 20 outlets are 20 hosts, not one. ``--hosts 1`` puts everything on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email.utils
import functools
import hashlib
import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EPOCH = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)  # every feed was last built then


@dataclass(frozen=True, slots=True)
class FarmSpec:
    """How big the farm is and how slow it answers."""

    feeds: int = 200
    items: int = 10
    latency_ms: float = 50.0
    page_kb: int = 30
    hosts: int = 20
    seed: int = 8


@dataclass(frozen=True, slots=True)
class Resource:
    """One thing the farm serves, with its validators."""

    body: bytes
    content_type: str
    etag: str
    last_modified: str


# --- content: GBA news in English (and one feed in ten in Chinese) ---------------------------------------

OUTLETS = (
    "Bay Herald",
    "Pearl River Post",
    "Qianhai Daily",
    "Shenzhen Economic Review",
    "Harbour Business Times",
    "Greater Bay Wire",
    "South China Ledger",
    "Lingnan Observer",
    "Hengqin Today",
    "Nansha Gazette",
)
REPORTERS = (
    "Wendy Lau",
    "Chen Jia",
    "Peter Ho",
    "Li Xin",
    "Amy Cheung",
    "Zhou Wei",
    "Kelvin Ng",
    "Mandy Lee",
)
HOLIDAYS = (
    "Labour Day",
    "National Day",
    "Mid-Autumn Festival",
    "Easter",
    "Lunar New Year",
    "Dragon Boat Festival",
)
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October")
ORDINALS = ("three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _figure_sentence(rng: random.Random, year: int) -> str:
    """One English sentence stating figures, numbers drawn from ``rng``."""
    n, m = rng.randint(1_200, 14_000), rng.randint(40, 900)
    b, p, x = rng.uniform(5, 990), rng.uniform(0.5, 38), rng.uniform(1.2, 48)
    usd = b / 7.04
    templates = (
        f"A total of {n:,} Hong Kong-funded enterprises have set up in Qianhai, with registered capital of "
        f"{b:.2f} billion yuan (${usd:.2f} billion).",
        f"Qianhai's gross domestic product reached {b:.1f} billion yuan in {year}, up {p:.1f} percent year "
        "on year.",
        f"The Greater Bay Area's economic output topped {x / 3.4:.1f} trillion yuan (${x / 24:.2f} "
        "trillion) last "
        "year, according to the provincial statistics bureau.",
        f"More than {n:,} Hong Kong residents now work or run businesses in the cooperation zone, {m:,} "
        "more than "
        f"at the end of {year - 1}.",
        f"Cross-boundary trade between Shenzhen and Hong Kong rose {p:.1f}% to {b:.1f} billion yuan in the "
        "first "
        f"half of {year}.",
        f"Hengqin has attracted {n:,} Macao-funded enterprises so far, with paid-in capital of about {b:.1f} "
        "billion yuan.",
        f"Nansha signed {m} projects worth {b:.1f} billion yuan at the investment fair, officials said.",
        f"Some {n * 9:,} vehicles crossed the Hong Kong-Zhuhai-Macao Bridge during the "
        f"{rng.choice(HOLIDAYS)} "
        f"holiday, up {p:.1f}% from a year earlier.",
        f"Actual use of foreign capital in Qianhai amounted to US${x:.2f} billion in the first "
        f"{rng.choice(ORDINALS)} months, accounting for {p:.1f} percent of Shenzhen's total.",
        f"The zone's tax revenue grew {p:.1f}% to {b / 4:.1f} billion yuan in {year}.",
        f"Qianhai's port handled {x / 3:.2f} million twenty-foot equivalent units of containers, an "
        "increase of "
        f"{p:.1f} percent.",
        "The Hetao Shenzhen-Hong Kong Science and Technology Innovation Cooperation Zone hosts more than "
        f"{m} "
        f"research projects and {n:,} researchers.",
        f"Northbound travellers made {x / 4:.1f} million trips through the Shenzhen Bay Port in "
        f"{rng.choice(MONTHS)}, the immigration department said.",
        f"Financial institutions in Qianhai numbered {m * 3:,} at the end of the third quarter, including "
        f"{m // 4} "
        "Hong Kong-funded ones.",
        f"Cross-border yuan settlement in the zone reached {b:.1f} billion yuan, down {p / 3:.1f}% from the "
        "previous quarter.",
    )
    return rng.choice(templates)


FILLERS = (
    "The cooperation zone was expanded to cover a much larger area under the central government's plan.",
    "Officials said the measures aim to deepen integration between Shenzhen and Hong Kong.",
    "Analysts expect professional services firms to benefit most from the new rules.",
    "Lawyers and accountants from Hong Kong may now practise in the zone after a simple registration.",
    "The administration said it would keep cutting red tape for young entrepreneurs from Hong Kong and "
    "Macao.",
    "Several banks have opened cross-boundary wealth management desks in the area.",
    "Business groups welcomed the announcement but called for faster data-sharing arrangements.",
    "The policy package covers taxation, talent, housing and access to the mainland market.",
    "Residents can now use a single card for public transport on both sides of the boundary.",
    "A spokesman for the Hong Kong government said the two sides would keep working closely together.",
    "Logistics operators said customs clearance had become noticeably quicker this year.",
    "The new rules take effect immediately and will be reviewed after a trial period.",
    "Universities in the region are setting up joint laboratories with industry partners.",
    "Start-ups in the youth innovation hub enjoy rent subsidies and fast-track registration.",
    "Officials did not say when further measures would be announced.",
    "The plan also calls for closer cooperation in finance, technology and modern logistics.",
)

ZH_FILLERS = (
    "前海深港现代服务业合作区持续推进规则衔接、机制对接。",
    "有关负责人表示，将进一步优化营商环境，吸引更多港澳青年来前海创新创业。",
    "业内人士认为，新政策将为专业服务业带来更多发展机遇。",
    "合作区将继续深化与香港在金融、科技和法律服务等领域的合作。",
    "相关措施自发布之日起施行。",
)


def _zh_figure_sentence(rng: random.Random, year: int) -> str:
    """One Chinese sentence stating figures."""
    n, b, p = rng.uniform(0.5, 1.9), rng.uniform(100, 9_000), rng.uniform(0.5, 30)
    templates = (
        f"截至{year}年{rng.randint(1, 10)}月底，前海累计注册港资企业{n:.2f}万家，注册资本{b:.1f}亿元。",
        f"{year}年前海实现地区生产总值{b / 3:.1f}亿元，同比增长{p:.1f}%。",
        f"大湾区经济总量超过{b / 600:.1f}万亿元。",
        f"横琴粤澳深度合作区实有澳资企业{int(n * 5000):,}户。",
        f"今年前三季度，前海实际使用外资{b / 200:.1f}亿美元，同比增长{p:.1f}%。",
    )
    return rng.choice(templates)


TITLES = (
    "Qianhai draws more Hong Kong-funded firms as cooperation zone expands",
    "Greater Bay Area trade keeps growing despite global headwinds",
    "Hengqin courts Macao investors with new tax incentives",
    "Nansha signs billions in GBA projects at investment fair",
    "Qianhai port volumes rise as cross-boundary logistics speed up",
    "GBA youth hub in Qianhai reports record start-up numbers",
    "Shenzhen Bay Port sees surge in northbound travel to the Greater Bay Area",
    "Qianhai financial sector adds Hong Kong-funded institutions",
    "Greater Bay Area economic output tops forecasts",
    "Hetao zone in the GBA attracts more research projects",
)
ZH_TITLES = (
    "前海港资企业数量持续增长",
    "大湾区经济总量再创新高",
    "前海实际使用外资同比增长",
    "横琴澳资企业加快集聚",
)

STYLE = (
    "body{font-family:Helvetica,Arial,sans-serif;margin:0;color:#222;background:#fff}"
    ".site-header{background:#0b3d6b;color:#fff;padding:12px 24px}.site-header "
    "a{color:#fff;margin-right:14px}"
    ".container{max-width:1180px;margin:0 auto;display:flex;gap:32px}.story{flex:3}.rail{flex:1}"
    ".story h1{font-size:34px;line-height:1.2;margin:24px 0 8px}.byline{color:#666;font-size:14px}"
    ".story-body p{font-size:18px;line-height:1.6;margin:0 0 18px}.rail h3{border-bottom:2px solid #0b3d6b}"
    ".rail li{margin:0 0 10px;font-size:15px}.share "
    "a{display:inline-block;padding:4px 8px;border:1px solid #ccc}"
    ".site-footer{background:#f3f3f3;padding:32px 24px;font-size:13px;color:#555}.ad-slot{min-height:250px}"
) * 3
SCRIPT = (
    "window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}gtag('js',new Date());"
    "gtag('config','G-BAYHERALD1',{anonymize_ip:true,page_type:'article',section:'gba'});"
    "(function(w,d,s){var f=d.getElementsByTagName(s)[0],j=d.createElement(s);j.async=true;"
    "j.src='/static/js/vendor.min.js?v=20251124';f.parentNode.insertBefore(j,f)})(window,document,'script');"
    "var "
    "adConfig={slots:[{id:'ad-top',sizes:[[970,250],[728,90]]},{id:'ad-rail',sizes:[[300,250],[300,600]]},"
    "{id:'ad-inline',sizes:[[300,250]]}],targeting:{section:'greater-bay-area',tags:['qianhai','gba']}};"
) * 6
NAV = "".join(
    f'<a href="/{slug}/">{name}</a>'
    for slug, name in [
        ("news", "News"),
        ("gba", "Greater Bay Area"),
        ("qianhai", "Qianhai"),
        ("hengqin", "Hengqin"),
        ("nansha", "Nansha"),
        ("business", "Business"),
        ("markets", "Markets"),
        ("tech", "Technology"),
        ("opinion", "Opinion"),
        ("lifestyle", "Lifestyle"),
        ("sport", "Sport"),
        ("video", "Video"),
        ("podcasts", "Podcasts"),
        ("events", "Events"),
        ("subscribe", "Subscribe"),
        ("login", "Log in"),
    ]
)
FOOTER = "".join(
    f'<li><a href="/about/{i}">{label} {i}</a></li>'
    for i, label in enumerate(
        ["About us", "Contact", "Advertise", "Careers", "Privacy", "Terms", "Archive"] * 5
    )
)


def _paragraphs(rng: random.Random, *, year: int, zh: bool) -> list[str]:
    """The article body: a dozen paragraphs of two to four sentences, one sentence in five stating figures."""
    paragraphs = []
    for _ in range(rng.randint(10, 14)):
        sentences = []
        for _ in range(rng.randint(2, 4)):
            if rng.random() < 0.2:
                sentences.append(_zh_figure_sentence(rng, year) if zh else _figure_sentence(rng, year))
            else:
                sentences.append(rng.choice(ZH_FILLERS if zh else FILLERS))
        paragraphs.append(("" if zh else " ").join(sentences))
    return paragraphs


def _teasers(rng: random.Random, count: int) -> str:
    return "".join(
        f'<li><a href="/gba/article/{rng.randint(100000, 999999)}">{rng.choice(TITLES)}</a>'
        f'<span class="summary">{rng.choice(FILLERS)}</span></li>'
        for _ in range(count)
    )


def article_page(spec: FarmSpec, feed: int, item: int, title: str, published: datetime) -> bytes:
    """A news page of about ``spec.page_kb`` KB: boilerplate, navigation, rails and one article body."""
    rng = random.Random(f"{spec.seed}:page:{feed}:{item}")
    zh = feed % 10 == 9
    outlet = OUTLETS[feed % len(OUTLETS)]
    body = "".join(f"<p>{p}</p>\n" for p in _paragraphs(rng, year=published.year, zh=zh))
    head = (
        f'<!DOCTYPE html>\n<html lang="{"zh-CN" if zh else "en"}"><head><meta charset="utf-8">'
        f"<title>{title} | {outlet}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta property="og:title" content="{title}"><meta property="og:type" content="article">'
        f'<meta property="article:published_time" content="{published.isoformat()}">'
        f"<style>{STYLE}</style><script>{SCRIPT}</script></head>\n"
    )
    story = (
        f'<article class="story"><h1>{title}</h1>'
        f'<p class="byline">By {rng.choice(REPORTERS)} in Shenzhen | Updated: {published:%Y-%m-%d %H:%M}</p>'
        '<div class="share"><a href="#">Facebook</a><a href="#">X</a><a href="#">LinkedIn</a><a '
        'href="#">Email</a></div>'
        f'<div class="story-body">\n{body}</div></article>\n'
    )
    page = (
        f'{head}<body><header class="site-header"><nav>{NAV}</nav></header>'
        '<div class="ad-slot" id="ad-top"></div><div class="container">\n'
        f'{story}<aside class="rail"><h3>Most read</h3><ol>{_teasers(rng, 10)}</ol>'
        '<div class="ad-slot" id="ad-rail"></div>'
    )
    tail = (
        f'</aside></div><footer class="site-footer"><ul>{FOOTER}</ul>'
        f"<p>Copyright 1995-2025 {outlet}.</p></footer></body></html>\n"
    )
    target = spec.page_kb * 1024 - len(page.encode()) - len(tail)
    more = []
    while target > 0:  # "More from the Greater Bay Area" rails until the page reaches its size
        block = f"<h3>More from the Greater Bay Area</h3><ul>{_teasers(rng, 6)}</ul>"
        more.append(block)
        target -= len(block)
    return (page + "".join(more) + tail).encode()


def _rfc822(when: datetime) -> str:
    return email.utils.format_datetime(when, usegmt=True)


def _resource(body: bytes, content_type: str, modified: datetime) -> Resource:
    return Resource(body, content_type, f'"{hashlib.sha1(body).hexdigest()[:16]}"', _rfc822(modified))


def build_site(spec: FarmSpec, origins: list[str]) -> tuple[dict[tuple[int, str], Resource], list[str]]:
    """Every resource the farm serves, keyed by (origin index, path), and the feed URLs in feed order."""
    site: dict[tuple[int, str], Resource] = {}
    feed_urls = []
    for feed in range(spec.feeds):
        host = feed % len(origins)
        base = origins[host]
        rng = random.Random(f"{spec.seed}:feed:{feed}")
        zh = feed % 10 == 9
        items = []
        for item in range(spec.items):
            published = EPOCH - timedelta(hours=feed % 7 + item * 5, minutes=rng.randint(0, 59))
            title = rng.choice(ZH_TITLES if zh else TITLES) + f" ({feed}-{item})"
            path = f"/news/{feed:04d}/{item:03d}.html"
            site[(host, path)] = _resource(
                article_page(spec, feed, item, title, published), "text/html; charset=utf-8", published
            )
            summary = ZH_FILLERS[item % len(ZH_FILLERS)] if zh else FILLERS[item % len(FILLERS)]
            items.append(
                f"<item><title>{title}</title><link>{base}{path}</link>"
                f'<guid isPermaLink="false">farm-{feed}-{item}</guid><pubDate>{_rfc822(published)}</pubDate>'
                f"<description>{summary}</description></item>"
            )
        outlet = OUTLETS[feed % len(OUTLETS)]
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>{outlet}: Greater Bay Area ({feed})</title><link>{base}/</link>"
            "<description>GBA and Qianhai news from "
            f"{outlet}</description><lastBuildDate>{_rfc822(EPOCH)}</lastBuildDate>"
            + "\n".join(items)
            + "</channel></rss>\n"
        )
        path = f"/feeds/{feed:04d}.xml"
        site[(host, path)] = _resource(xml.encode(), "application/rss+xml; charset=utf-8", EPOCH)
        feed_urls.append(base + path)
    for host in range(len(origins)):
        site[(host, "/robots.txt")] = _resource(b"User-agent: *\nAllow: /\n", "text/plain", EPOCH)
    return site, feed_urls


# --- the server ------------------------------------------------------------------------------------------


class Farm:
    """The asyncio HTTP/1.1 server: one listener per origin, one resource table, one set of counters."""

    def __init__(self, spec: FarmSpec) -> None:
        self.spec = spec
        self.site: dict[tuple[int, str], Resource] = {}
        self.feed_urls: list[str] = []
        self.origins: list[str] = []
        self.counts: Counter[str] = Counter()
        self.open_connections = 0

    async def start(self, port: int = 0) -> None:
        """Bind every origin (127.0.0.1, 127.0.0.2, …, all on one port when it can), then build the site."""
        servers = []
        for index in range(max(1, self.spec.hosts)):
            address = f"127.0.0.{index + 1}"
            serve = functools.partial(self._serve, index)
            try:
                server = await asyncio.start_server(serve, address, port, backlog=4096, limit=65_536)
            except OSError:  # that port is taken on this address: any free one will do
                server = await asyncio.start_server(serve, address, 0, backlog=4096, limit=65_536)
            port = port or server.sockets[0].getsockname()[1]
            servers.append(server)
            self.origins.append(f"http://{address}:{server.sockets[0].getsockname()[1]}")
        self.servers = servers
        self.site, self.feed_urls = build_site(self.spec, self.origins)

    async def _serve(self, origin: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open_connections += 1
        self.counts["connections"] += 1
        self.counts["peak_connections"] = max(self.counts["peak_connections"], self.open_connections)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, version = [*lines[0].split(" "), "", "", ""][:3]
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name:
                        headers[name.strip().lower()] = value.strip()
                if length := int(headers.get("content-length") or 0):
                    await reader.readexactly(length)
                path = target.split("?", 1)[0]
                if path.startswith("/_farm/"):
                    writer.write(self._control(path))
                    await writer.drain()
                    continue
                await asyncio.sleep(self.spec.latency_ms / 1000)
                response = self._answer(origin, method, path, headers)
                writer.write(response)
                await writer.drain()
                self.counts["requests"] += 1
                self.counts["bytes_in"] += len(head) + length
                self.counts["bytes_out"] += len(response)
                if headers.get("connection", "").lower() == "close" or version == "HTTP/1.0":
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass  # the client went away, or sent something that is not HTTP/1.1
        except asyncio.CancelledError:
            pass  # the farm is stopping with this keep-alive connection still open
        finally:
            self.open_connections -= 1
            with contextlib.suppress(ConnectionError, RuntimeError):
                writer.close()

    def _answer(self, origin: int, method: str, path: str, headers: dict[str, str]) -> bytes:
        found = self.site.get((origin, path))
        if found is None:
            self.counts["status_404"] += 1
            return _response(404, {"content-type": "text/plain"}, b"not found\n")
        validators = {"etag": found.etag, "last-modified": found.last_modified, "cache-control": "max-age=0"}
        match = headers.get("if-none-match")
        if (match is not None and found.etag in [m.strip() for m in match.split(",")]) or (
            match is None and headers.get("if-modified-since") == found.last_modified
        ):
            self.counts["status_304"] += 1
            return _response(304, validators, b"")
        self.counts["status_200"] += 1
        body = b"" if method == "HEAD" else found.body
        return _response(
            200, {"content-type": found.content_type, **validators}, body, length=len(found.body)
        )

    def _control(self, path: str) -> bytes:
        if path == "/_farm/reset":
            self.counts = Counter(peak_connections=self.open_connections)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        stats = {**self.counts, "cpu_s": usage.ru_utime + usage.ru_stime}
        return _response(200, {"content-type": "application/json"}, json.dumps(stats).encode())


def _response(status: int, headers: dict[str, str], body: bytes, *, length: int | None = None) -> bytes:
    reason = {200: "OK", 304: "Not Modified", 404: "Not Found"}[status]
    lines = [f"HTTP/1.1 {status} {reason}", f"date: {_rfc822(datetime.now(UTC))}", "server: gba-farm"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if status != 304:
        lines.append(f"content-length: {len(body) if length is None else length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _serve_forever(spec: FarmSpec, port: int) -> None:
    farm = Farm(spec)
    await farm.start(port)
    print(json.dumps({"origins": farm.origins, "feeds": farm.feed_urls, "spec": asdict(spec)}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    for server in farm.servers:
        server.close()


# --- the farm as a subprocess, for the benchmark ----------------------------------------------------------


@dataclass
class RunningFarm:
    """A farm subprocess: its origins and feed URLs, and its counters."""

    process: subprocess.Popen[str]
    origins: list[str]
    feed_urls: list[str]
    spec: FarmSpec

    def stats(self) -> dict[str, float]:
        """Requests, statuses (status_200, status_304, …), bytes in/out since the last reset, and cpu_s."""
        with urllib.request.urlopen(self.origins[0] + "/_farm/stats", timeout=10) as response:
            return json.loads(response.read())

    def reset(self) -> dict[str, float]:
        """Zero the counters; returns the farm's CPU so far."""
        with urllib.request.urlopen(self.origins[0] + "/_farm/reset", timeout=10) as response:
            return json.loads(response.read())


@contextlib.contextmanager
def running_farm(spec: FarmSpec) -> Iterator[RunningFarm]:
    """Start the farm in a subprocess, yield it once it listens, and stop it on exit."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.farm",
        "--feeds",
        str(spec.feeds),
        "--items",
        str(spec.items),
        "--latency-ms",
        str(spec.latency_ms),
        "--page-kb",
        str(spec.page_kb),
        "--hosts",
        str(spec.hosts),
        "--seed",
        str(spec.seed),
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"farm: exited before listening (status {process.wait()})")
        ready = json.loads(line)
        yield RunningFarm(process, ready["origins"], ready["feeds"], spec)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


DEFAULTS = FarmSpec()


def main(argv: list[str] | None = None) -> None:
    """Serve a farm in the foreground until SIGINT/SIGTERM; the first line of output is JSON with its URLs."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.farm", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--feeds", type=int, default=DEFAULTS.feeds, help="number of feeds (default %(default)s)"
    )
    parser.add_argument(
        "--items", type=int, default=DEFAULTS.items, help="items per feed (default %(default)s)"
    )
    parser.add_argument(
        "--latency-ms", type=float, default=DEFAULTS.latency_ms, help="delay before every answer"
    )
    parser.add_argument("--page-kb", type=int, default=DEFAULTS.page_kb, help="size of an article page")
    parser.add_argument("--hosts", type=int, default=DEFAULTS.hosts, help="outlets: loopback addresses used")
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed)
    parser.add_argument("--port", type=int, default=0, help="port of every origin (default: a free one)")
    args = parser.parse_args(argv)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):  # hundreds of keep-alive connections need descriptors
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    spec = FarmSpec(args.feeds, args.items, args.latency_ms, args.page_kb, args.hosts, args.seed)
    started = time.monotonic()
    asyncio.run(_serve_forever(spec, args.port))
    print(f"farm: stopped after {time.monotonic() - started:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
