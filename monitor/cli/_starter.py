"""The commented starter config `gba-monitor init` writes; it passes `gba-monitor check` as written."""

STARTER = """\
# gba-monitor config: feeds to watch, figures to track, where alerts go.
# Check it with `gba-monitor check` (add --online to fetch each feed and try Slack once).
# Secrets never go here: set SLACK_BOT_TOKEN (or SLACK_WEBHOOK_URL) in the environment.

storage:
  path: storage/monitor.json     # relative to this file; keep it on a persistent disk
  # retention_days: 365          # prune older stories and figures (each metric keeps its latest)

slack:
  channel: "#gba-news"           # default channel; a feed may name its own
  on_first_run: seed             # seed: store the first poll quietly (one summary); post: alert on everything
  # ops_channel: "#gba-ops"      # failing and recovered feeds
  # threads: true                # a metric's later moves reply in the thread of its first alert
  # digest: 1h                   # batch a channel's alerts: 15m, 1h or daily

health:
  max_failing: 6h                # `status` and `health` fail when a feed has failed this long
  missed_polls: 3                # `health` fails when no poll succeeded in 3 x the shortest interval
  max_outbox_age: 1h             # `health` fails when an alert has waited this long

defaults:
  interval: 15m                  # 30s, 15m, 1h, 1d or 1h30m
  keywords: [Greater Bay Area, GBA, Qianhai, Hengqin, Nansha, 大湾区, 前海, 横琴, 南沙]

feeds:
  - name: google-news-qianhai
    url: "https://news.google.com/rss/search?q=Qianhai&hl=en-US&gl=US&ceid=US:en"
    outlet: Google News
    # interval: 1h
    # channel: "#qianhai"
    # selector: "article .body"  # CSS selector of the article text, when automatic detection misses

metrics:
  - key: qianhai.hk-funded-enterprises
    label: Hong Kong-funded enterprises in Qianhai
    patterns: ['hong kong-funded (enterprises|companies|firms)']
    place: Qianhai
"""
