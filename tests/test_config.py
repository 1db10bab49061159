"""config.py: feeds.yaml + environment → Settings, and one-line errors that name file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import config_path, load_settings
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
