"""gba-monitor: Greater Bay Area news → key figures → what changed → Slack.

One poll, step by step (``poll.poll_feed`` tells it top to bottom):
config (``config``) → fetch (``fetch``) → feed entries (``feeds``) → article body (``articles``) →
figures (``figures``) → store (``store``) → changes (``changes``) → Slack (``slack``).
A step of several files is a package whose ``__init__`` exports its public names and whose helpers are
private modules (``fetch._body``, ``figures._keys``); ``store`` holds two engines (a TinyDB file, PostgreSQL)
behind one interface.
The rules users write (filters, thresholds, routes) are matched by ``matching`` (terms, a leaf) and applied
by ``rules``; one story across outlets (near-duplicate bodies) is ``identity``'s.
Shells over it: ``cli`` (commands) and ``scheduler`` (APScheduler jobs); ``query`` answers the CLI's reads.
"""

__version__ = "0.1.0"
