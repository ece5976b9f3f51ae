"""Configuration: TOML file, environment overrides, one clear line for every mistake."""

from __future__ import annotations

import pytest

from clerk.config import load_config, sample_config
from clerk.errors import UsageError


def write(tmp_path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file(tmp_path):
    cfg = load_config(None, env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert cfg.office.timezone == "Asia/Macau"
    assert cfg.ui.language == "en"
    assert cfg.security.max_failed_logins == 5


def test_file_values_and_environment_override(tmp_path):
    path = write(
        tmp_path,
        '[office]\ncode = "02"\nname = "Taipa"\n[counter]\nnumber = 4\n'
        '[keymap]\n"home.refresh" = "f6"\n',
    )
    cfg = load_config(path, env={"CLERK_COUNTER_NUMBER": "7", "CLERK_UI_LANGUAGE": "pt"})
    assert cfg.office.code == "02" and cfg.office.name == "Taipa"
    assert cfg.counter.number == 7  # the environment wins over the file
    assert cfg.ui.language == "pt"
    assert cfg.keymap == {"home.refresh": "f6"}


def test_clerk_config_env_names_the_file(tmp_path):
    path = write(tmp_path, '[ui]\nlanguage = "zh_Hant"\n')
    assert load_config(None, env={"CLERK_CONFIG": str(path)}).ui.language == "zh_Hant"


@pytest.mark.parametrize(
    "text,needle",
    [
        ("[office\n", "config.toml"),
        ("[nonsense]\nx = 1\n", "unknown section [nonsense]"),
        ("[office]\ncolour = 1\n", "unknown key office.colour"),
        ('[counter]\nnumber = "three"\n', "counter.number must be a whole number"),
        ('[office]\ntimezone = "Mars/Olympus"\n', "not a known time zone"),
        ('[ui]\nlanguage = "fr"\n', "ui.language must be one of"),
        ('[office]\ncode = "1"\n', "office.code must be two digits"),
        ('[office]\nclosing = "25:00"\n', "office.closing must be HH:MM"),
        ("[keymap]\nx = 3\n", "keymap"),
    ],
)
def test_bad_files_give_one_line(tmp_path, text, needle):
    with pytest.raises(UsageError) as err:
        load_config(write(tmp_path, text), env={})
    assert needle in err.value.message
    assert "\n" not in err.value.message


def test_missing_named_file(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        load_config(tmp_path / "nope.toml", env={})


def test_bad_environment_value_names_the_variable():
    with pytest.raises(UsageError, match="CLERK_UI_IDLE_LOCK_MINUTES"):
        load_config(None, env={"CLERK_UI_IDLE_LOCK_MINUTES": "soon", "XDG_CONFIG_HOME": "/x"})


def test_sample_config_loads_back_to_the_defaults(tmp_path):
    cfg = load_config(write(tmp_path, sample_config()), env={})
    assert (
        cfg.sections() == load_config(None, env={"XDG_CONFIG_HOME": str(tmp_path / "n")}).sections()
    )
