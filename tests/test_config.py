"""Project configuration (escapelint.workflows.config): where it is read from, and every way it can be wrong."""

from __future__ import annotations

import pytest

from escapelint.rules import RULES
from escapelint.workflows.config import (
    DEFAULT_BASELINE,
    KNOWN_KEYS,
    Config,
    ConfigError,
    load_config,
)


def write(root, name, text):
    path = root / name
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_any_file(tmp_path):
    config = load_config(tmp_path)
    assert config == Config()
    assert config.fail_on == frozenset(RULES) - {"unclassified"}
    assert config.exclude == () and config.baseline == DEFAULT_BASELINE and config.max_new == 0
    assert config.origin is None


def test_every_key_from_pyproject(tmp_path):
    path = write(
        tmp_path,
        "pyproject.toml",
        '[project]\nname = "x"\n\n[tool.escapelint]\n'
        'fail-on = ["returned-pointer", "global-assignment"]\n'
        'exclude = ["internal/gen/**", "**/*_generated.go"]\n'
        'baseline = "ci/baseline.json"\n'
        "max-new = 3\n"
        "fail-on-static = true\n",
    )
    config = load_config(tmp_path)
    assert config == Config(
        fail_on=frozenset({"returned-pointer", "global-assignment"}),
        exclude=("internal/gen/**", "**/*_generated.go"),
        baseline="ci/baseline.json",
        max_new=3,
        fail_on_static=True,
        origin=path,
    )


def test_pyproject_without_the_table_gives_the_defaults(tmp_path):
    write(tmp_path, "pyproject.toml", '[tool.other]\nfail-on = "nonsense"\n')
    assert load_config(tmp_path) == Config()


def test_dedicated_file_wins_over_pyproject(tmp_path):
    write(tmp_path, "pyproject.toml", '[tool.escapelint]\nmax-new = 5\nbogus = 1\n')
    dedicated = write(tmp_path, ".escapelint.toml", "max-new = 2\n")
    config = load_config(tmp_path)
    assert config.max_new == 2 and config.origin == dedicated


def test_unclassified_can_be_asked_for_and_an_empty_list_turns_the_gate_off(tmp_path):
    write(tmp_path, ".escapelint.toml", 'fail-on = ["unclassified"]\n')
    assert load_config(tmp_path).fail_on == {"unclassified"}
    write(tmp_path, ".escapelint.toml", "fail-on = []\n")
    assert load_config(tmp_path).fail_on == frozenset()


@pytest.mark.parametrize(
    "text, message",
    [
        ('fail_on = ["returned-pointer"]\n', "unknown key 'fail_on'; known keys: " + ", ".join(KNOWN_KEYS)),
        ('fail-on = ["returned-pointers"]\n', "fail-on: unknown category 'returned-pointers'"),
        ('fail-on = ["all"]\n', "fail-on: unknown category 'all'"),
        ('fail-on = "returned-pointer"\n', "fail-on must be a list of strings"),
        ("fail-on = [1]\n", "fail-on must be a list of strings"),
        ('exclude = "gen/**"\n', "exclude must be a list of strings"),
        ('exclude = ["a", 2]\n', "exclude must be a list of strings"),
        ("baseline = 1\n", "baseline must be a path"),
        ('baseline = ""\n', "baseline must be a path"),
        ("max-new = -1\n", "max-new must be a whole number >= 0"),
        ("max-new = 1.5\n", "max-new must be a whole number >= 0"),
        ("max-new = true\n", "max-new must be a whole number >= 0"),
        ('max-new = "3"\n', "max-new must be a whole number >= 0"),
        ('fail-on-static = "yes"\n', "fail-on-static must be true or false"),
        ("fail-on-static = 1\n", "fail-on-static must be true or false"),
        ("max-new = [\n", "not valid TOML"),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path, text, message):
    path = write(tmp_path, ".escapelint.toml", text)
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)


def test_unknown_keys_are_named_in_order(tmp_path):
    write(tmp_path, ".escapelint.toml", "zeta = 1\nalpha = 2\n")
    with pytest.raises(ConfigError, match="unknown key 'alpha'"):
        load_config(tmp_path)


def test_errors_in_pyproject_name_pyproject(tmp_path):
    path = write(tmp_path, "pyproject.toml", '[tool.escapelint]\nfail-on = ["nope"]\n')
    with pytest.raises(ConfigError, match=f"^{path}: fail-on: unknown category 'nope'; known: "):
        load_config(tmp_path)


def test_a_table_that_is_not_a_table(tmp_path):
    path = write(tmp_path, "pyproject.toml", '[tool]\nescapelint = "on"\n')
    with pytest.raises(ConfigError, match=f"^{path}: \\[tool.escapelint\\] must be a table"):
        load_config(tmp_path)


def test_a_directory_where_the_file_would_be_is_no_configuration(tmp_path):
    (tmp_path / ".escapelint.toml").mkdir()
    write(tmp_path, "pyproject.toml", "[tool.escapelint]\nmax-new = 4\n")
    assert load_config(tmp_path).max_new == 4  # is_file() says no: pyproject is next


def test_an_unreadable_file_is_a_config_error(tmp_path, monkeypatch):
    path = write(tmp_path, ".escapelint.toml", "max-new = 1\n")
    real_open = type(path).open

    def refuse(self, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(type(path), "open", refuse)  # permissions would not stop root
    with pytest.raises(ConfigError, match=f"^{path}: cannot read: Permission denied$"):
        load_config(tmp_path)


@pytest.mark.parametrize(
    "file, excluded",
    [
        ("internal/gen/x.go", True),
        ("./internal/gen/x.go", True),
        ("internal/gen/sub/x.go", True),
        ("kv/store_generated.go", True),
        ("./kv/store_generated.go", True),
        ("kv/store.go", False),
        ("internal/general.go", False),
        ("/goroot/src/sync/atomic/type.go", False),
    ],
)
def test_exclude_patterns_match_printed_file_names(file, excluded):
    config = Config(exclude=("internal/gen/**", "**/*_generated.go"))
    assert config.excluded(file) is excluded


@pytest.mark.parametrize("file", ["./x_generated.go", "x_generated.go"])
def test_a_double_star_pattern_covers_the_module_root_too(file):
    assert Config(exclude=("**/*_generated.go",)).excluded(file)


def test_nothing_is_excluded_by_default():
    assert not Config().excluded("./anything.go")
