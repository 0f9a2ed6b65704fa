"""Settings: defaults, then a TOML file, then CC_* variables; bad input names file, line, key."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from contactcenter.cli import main
from contactcenter.errors import ConfigError
from contactcenter.settings import Settings, load_settings


def test_defaults_are_the_embedded_setup() -> None:
    s = load_settings(environ={})
    assert s.database_url.startswith("sqlite:///")
    assert s.redis_url is None
    assert (s.http.host, s.http.port) == ("127.0.0.1", 8080)
    assert (s.agi.host, s.agi.port) == ("127.0.0.1", 4573)
    assert (s.ami.host, s.ami.port, s.ami.username) == ("127.0.0.1", 5038, "cc")


def test_file_then_environment_override(tmp_path: Path) -> None:
    f = tmp_path / "cc.toml"
    f.write_text('database_url = "sqlite:///x.db"\n[http]\nport = 9000\nhost = "0.0.0.0"\n')
    s = load_settings(f, environ={"CC_HTTP_PORT": "9100", "CC_REDIS_URL": "redis://127.0.0.1/1"})
    assert s.database_url == "sqlite:///x.db"
    assert s.http.host == "0.0.0.0"
    assert s.http.port == 9100
    assert s.redis_url == "redis://127.0.0.1/1"


def test_bad_value_in_file_names_file_line_and_key(tmp_path: Path) -> None:
    f = tmp_path / "cc.toml"
    f.write_text('log_level = "INFO"\n\n[http]\nhost = "127.0.0.1"\nport = 99999\n')
    with pytest.raises(ConfigError) as err:
        load_settings(f, environ={})
    message = str(err.value)
    assert f"{f}:5" in message
    assert "http.port" in message


def test_callbacks_connect_is_caller_first_or_agent_first(tmp_path: Path) -> None:
    assert load_settings(environ={}).callbacks.connect == "caller_first"
    f = tmp_path / "cc.toml"
    f.write_text('[callbacks]\nconnect = "agent_first"\n')
    assert load_settings(f, environ={}).callbacks.connect == "agent_first"
    f.write_text('[callbacks]\nmax_attempts = 2\nconnect = "agent-first"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(f, environ={})
    message = str(err.value)
    assert f"{f}:3" in message and "callbacks.connect" in message
    assert "caller_first" in message and "agent_first" in message


def test_bad_environment_variable_is_named() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(environ={"CC_AGI_PORT": "not-a-port"})
    assert "CC_AGI_PORT" in str(err.value)
    assert "agi.port" in str(err.value)


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "cc.toml"
    f.write_text("[ami]\nhots = 'typo'\n")
    with pytest.raises(ConfigError) as err:
        load_settings(f, environ={})
    assert f"{f}:2" in str(err.value)
    assert "ami.hots" in str(err.value)


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    f = tmp_path / "cc.toml"
    f.write_text("[http]\nport = = 3\n")
    with pytest.raises(ConfigError) as err:
        load_settings(f, environ={})
    assert str(f) in str(err.value)
    assert "line 2" in str(err.value)


def test_queue_list_validated(tmp_path: Path) -> None:
    f = tmp_path / "cc.toml"
    f.write_text('default_queue = "sales"\n[[queues]]\nid = "sales"\noffer_timeout_s = -1\n')
    with pytest.raises(ConfigError) as err:
        load_settings(f, environ={})
    assert "queues.0.offer_timeout_s" in str(err.value)
    assert f"{f}:4" in str(err.value)


def test_cli_exits_2_on_a_bad_settings_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "cc.toml"
    f.write_text("[http]\nport = 'eighty'\n")
    assert main(["db", "upgrade", "--config", str(f)]) == 2
    err = capsys.readouterr().err
    assert f"{f}:2" in err and "http.port" in err


def test_cli_exits_2_on_a_missing_settings_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--config", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml" in capsys.readouterr().err


def test_callbacks_section_is_set_from_the_environment() -> None:
    default = load_settings(environ={}).callbacks.max_attempts
    wanted = default + 2
    s = load_settings(environ={"CC_CALLBACKS_MAX_ATTEMPTS": str(wanted)})
    assert s.callbacks.max_attempts == wanted
    # calls_ is not a prefix of callbacks_: the calls section is left alone
    assert s.calls == load_settings(environ={}).calls


def test_a_bad_callbacks_variable_is_named() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(environ={"CC_CALLBACKS_MAX_ATTEMPTS": "many"})
    assert "CC_CALLBACKS_MAX_ATTEMPTS" in str(err.value)
    assert "callbacks.max_attempts" in str(err.value)


def test_every_section_can_be_set_from_the_environment() -> None:
    """docs/configuration.md: a key inside any section is CC_<SECTION>_<KEY>. An unknown key
    of a section is refused as that section's key, which shows the section was recognised
    (an unrecognised one would be refused as a top-level key instead)."""
    sections = [
        name
        for name, info in Settings.model_fields.items()
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)
    ]
    assert "callbacks" in sections
    for section in sections:
        variable = f"CC_{section.upper()}_NO_SUCH_KEY"
        with pytest.raises(ConfigError) as err:
            load_settings(environ={variable: "1"})
        assert f"{section}.no_such_key" in str(err.value), (section, str(err.value))


def test_ivr_menu_loads_and_refuses_an_unknown_queue(tmp_path: Path) -> None:
    f = tmp_path / "cc.toml"
    f.write_text(
        '[[queues]]\nid = "support"\nskills = ["support"]\n\n'
        '[ivr]\nprompt = "main"\n[ivr.options]\n'
        '1 = { queue = "support" }\n9 = { queue = "support", priority = 20 }\n'
    )
    menu = load_settings(f, environ={}).ivr.menu()
    assert menu is not None and menu.options == {"1": "support", "9": "support"}
    assert menu.priorities == {"9": 20}
    f.write_text(f.read_text().replace('9 = { queue = "support"', '9 = { queue = "vip"'))
    with pytest.raises(ConfigError) as err:
        load_settings(f, environ={})
    assert "ivr.options.9.queue: unknown queue 'vip'" in str(err.value)
    f.write_text(f.read_text().replace("9 = {", "99 = {"))
    with pytest.raises(ConfigError, match="single DTMF keys"):
        load_settings(f, environ={})


def test_routing_redis_needs_a_redis_url() -> None:
    with pytest.raises(ConfigError, match="routing = 'redis' needs redis_url"):
        load_settings(environ={"CC_ROUTING": "redis"})
    assert load_settings(environ={"CC_REDIS_URL": "redis://h/0"}).shared_routing
    assert not load_settings(environ={}).shared_routing
    both = {"CC_REDIS_URL": "redis://h/0", "CC_ROUTING": "memory"}
    assert not load_settings(environ=both).shared_routing
