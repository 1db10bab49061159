"""config.py: feeds.yaml + environment → Settings, and one-line errors that name file, line and key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.config import _document, config_path, load_reading, load_settings
from monitor.config._models import validated_reading
from monitor.config._reading import plain_reading
from monitor.errors import ConfigError

CONFIGS = Path(__file__).parent / "data" / "configs"
BAD = sorted(CONFIGS.glob("*.yaml"))


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_config_gives_the_one_line_error_it_declares(path: Path) -> None:
    """Each file's first line declares the exact error it must produce."""
    expected = path.read_text(encoding="utf-8").splitlines()[0].removeprefix("# expect: ")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message == f"{path.parent}/{expected}"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_apply_to_feeds_and_relative_paths_resolve_beside_the_config(tmp_path: Path) -> None:
    (tmp_path / "local.xml").write_text("<rss/>", encoding="utf-8")
    path = write(
        tmp_path,
        """
storage: {path: data/store.json}
slack: {channel: "#gba"}
defaults: {interval: 20m, keywords: [Qianhai, 前海]}
feeds:
  - {name: remote, url: "https://news.example.org/gba.xml"}
  - {name: local, url: local.xml, interval: 1h, keywords: [Hengqin], channel: "#hengqin", enabled: false}
""",
    )
    settings = load_settings(path, environ={})
    remote, local = settings.feeds
    assert settings.storage.path == tmp_path / "data" / "store.json"
    assert (remote.interval_s, remote.keywords, remote.channel) == (1200, ("Qianhai", "前海"), "#gba")
    assert (local.interval_s, local.keywords, local.channel, local.enabled) == (
        3600,
        ("Hengqin",),
        "#hengqin",
        False,
    )
    assert local.url == str(tmp_path / "local.xml") and local.is_local and not remote.is_local


def test_secrets_come_from_the_environment_only(tmp_path: Path) -> None:
    path = write(tmp_path, 'slack: {channel: "#gba"}\nfeeds: [{name: a, url: "https://x.example/f"}]\n')
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": "http://127.0.0.1:9/api/"}
    slack = load_settings(path, environ=env).slack
    assert (slack.token, slack.api_url, slack.webhook_url) == ("xoxb-test", "http://127.0.0.1:9/api/", None)


def test_a_token_without_any_channel_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, 'feeds: [{name: a, url: "https://x.example/f"}]\n')
    with pytest.raises(ConfigError, match=r"feeds\[0\]\.channel: no channel for this feed"):
        load_settings(path, environ={"SLACK_BOT_TOKEN": "xoxb-test"})


def test_config_path_prefers_the_option_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GBA_MONITOR_CONFIG", "/etc/gba.yaml")
    assert config_path("x.yaml") == Path("x.yaml")
    assert config_path(None) == Path("/etc/gba.yaml")
    monkeypatch.delenv("GBA_MONITOR_CONFIG")
    assert config_path(None) == Path("feeds.yaml")


def test_the_shipped_configs_are_valid() -> None:
    root = Path(__file__).parent.parent
    settings = load_settings(root / "feeds.yaml", environ={})
    assert len(settings.feeds) >= 10
    assert {m.key for m in settings.metrics} >= {"qianhai.hk-funded-enterprises"}


@pytest.mark.parametrize("name", ["feeds.yaml", "examples/demo.yaml"])
def test_a_shipped_config_is_read_for_one_page_without_pydantic(name: str) -> None:
    """Its metrics and fetch sections are plainly valid: extract and preview take them as the models would."""
    path = Path(__file__).parent.parent / name
    quick = plain_reading(_document(path))
    assert quick is not None
    assert quick == validated_reading(path, _document(path)) == load_reading(path)


# Valid values of each key, then values at and past its bounds and of other types.
_FETCH_VALUES = {
    "user_agent": (["bot/1", ""], [5, None]),
    "timeout": (["10s", "1h30m", 5, 1.5], [0.2, "soon", "0s", True, None, []]),
    "deadline": (["30s", 60], ["", -1]),
    "max_feed_bytes": ([1, 5_000_000, 2**63 - 1], [0, -1, 2**63, True, 1.5, "10"]),
    "max_page_bytes": ([1, 2_000_000], [0, None]),
    "max_concurrency": ([1, 8, 64], [65, 0, True, None]),
    "max_per_host": ([1, 16], [17, 0, None]),
    "respect_robots": ([True, False], [0, "yes", None]),
    "read_processes": ([0, 64, None], [65, -1, False]),
    "max_redirects": ([], [5]),
    "bogus": ([], [1]),
}
_METRIC_VALUES = {
    "key": (["qianhai.hk-firms", "gba.gdp", "a-b_c.9", "qianhai.*", "a?"], ["Qianhai!", "gba.gdp\n", "", 5]),
    "label": (["Hong Kong firms", ""], [None, 5]),
    "patterns": ([["gdp", "港资企业"], ["a|b"], []], [["("], ["[z-a]"], [5], "gdp", None]),
    "place": (["Qianhai", None], [5, ["GBA"]]),
    "unit": (["CNY"], [1.5]),
    "direction": ([], ["up", "any"]),
    "min_change": ([], [{"pct": 5}]),
    "bogus": ([], [1]),
}


@st.composite
def _near_valid(
    draw: st.DrawFn, values: dict[str, tuple[list[Any], list[Any]]], needed: tuple[str, ...]
) -> Any:
    """A valid section (``needed`` keys always, others maybe), then often one or two keys given any value."""
    section = {
        key: draw(st.sampled_from(good))
        for key, (good, _) in values.items()
        if good and (key in needed or draw(st.booleans()))
    }
    for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
        key = draw(st.sampled_from(sorted(values)))
        section[key] = draw(st.sampled_from(values[key][0] + values[key][1]))
    return section


_DOCUMENTS = st.fixed_dictionaries(
    {"feeds": st.just([{"name": "a", "url": "https://x.example/f"}])},
    optional={
        "fetch": st.one_of(_near_valid(_FETCH_VALUES, ()), st.sampled_from([None, [], "fast"])),
        "metrics": st.one_of(
            st.lists(_near_valid(_METRIC_VALUES, ("key", "label")), max_size=3),
            st.sampled_from([None, {}, ["gdp"]]),
        ),
    },
)


@given(document=_DOCUMENTS)
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_what_is_read_without_pydantic_is_what_the_models_make_of_it(document: dict[str, Any]) -> None:
    """The quick reading never accepts what the models refuse, and gives the same settings when it accepts."""
    quick = plain_reading(document)
    try:
        validated = validated_reading(Path("feeds.yaml"), document)
    except (ConfigError, AttributeError, TypeError):  # the models refuse it (or fail on it, as before)
        assert quick is None
        return
    assert quick is None or quick == validated


@pytest.mark.parametrize(
    "webhook",
    [
        "hooks.slack.com/services/T0/B0/S3CR3T",
        "https://hooks.slack.com/services/T0/B0/S3CR3T\n",
        "ftp://hooks.slack.com/services/T0/B0/S3CR3T",
        "https:///services/T0/B0/S3CR3T",
        "https://hooks.slack.com:99999/services/S3CR3T",
        " https://hooks.slack.com/services/T0/B0/S3CR3T",
    ],
)
def test_a_malformed_webhook_url_is_refused_without_printing_it(tmp_path: Path, webhook: str) -> None:
    path = write(tmp_path, 'slack: {channel: "#gba"}\nfeeds: [{name: a, url: "https://x.example/f"}]\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={"SLACK_WEBHOOK_URL": webhook})
    message = str(caught.value)
    assert message.startswith("SLACK_WEBHOOK_URL: ") and "\n" not in message
    assert "S3CR3T" not in message and "hooks.slack.com" not in message


def test_the_readme_configuration_example_is_valid(tmp_path: Path) -> None:
    """Every key the README shows is one `check` accepts."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Configuration") :]
    example = section[section.index("```yaml") + len("```yaml") : section.index("```\n", 10)]
    settings = load_settings(write(tmp_path, example), environ={})
    assert settings.routes and settings.thresholds and settings.alerts.quiet_hours is not None


def test_a_minimal_config_gets_the_defaults_settings_declares(tmp_path: Path) -> None:
    """Defaults are declared once (settings.py); the YAML schema reads them from there."""
    from monitor.settings import DEFAULT_INTERVAL_S, FetchSettings, HealthSettings, SlackSettings

    settings = load_settings(write(tmp_path, 'feeds: [{name: a, url: "https://x.example/f"}]\n'), environ={})
    assert settings.fetch == FetchSettings()
    assert settings.health == HealthSettings()
    assert settings.slack == SlackSettings()
    assert settings.feeds[0].interval_s == DEFAULT_INTERVAL_S
