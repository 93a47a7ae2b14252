"""[[categories]] and [intake]: defaults, the example file, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.clock import Clock
from bot.config import ConfigError, FileConfig, load_config
from bot.services.desk import Desk

EXAMPLE = Path(__file__).resolve().parents[2] / "bot" / "example.toml"


def test_default_tree_is_the_property_management_one() -> None:
    keys = [c.key for c in FileConfig().categories]
    assert keys == ["housing", "equipment", "safety", "environment", "service", "dispute",
                    "developer", "other"]
    assert [c.zh for c in FileConfig().categories][:2] == ["房屋管理", "设备管理"]


def test_the_example_spells_out_the_defaults() -> None:
    cfg = load_config(EXAMPLE, {})
    assert cfg.file.categories == FileConfig().categories
    assert cfg.file.intake == FileConfig().intake


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.toml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize(("toml", "message"), [
    ('[[categories]]\nkey = "Bad Key"\nzh = "x"\nen = "y"\n', "categories[0].key"),
    ('[[categories]]\nkey = "a"\nzh = "x"\nen = "y"\n[[categories.fields]]\nkey = "f"\n'
     'zh = "x"\nen = "y"\ntype = "choice"\n', "lists no options"),
    ('[[categories]]\nkey = "a"\nzh = "x"\nen = "y"\n[[categories.fields]]\nkey = "f"\n'
     'zh = "x"\nen = "y"\ntype = "video"\n', "categories[0].fields[0].type"),
    ('[[categories]]\nkey = "a"\nzh = "x"\nen = "y"\n[[categories]]\nkey = "a"\nzh = "x"\n'
     'en = "y"\n', "appears more than once"),
    ("categories = []\n", "at least one category"),
    ('[intake]\nreminder_after = "2 working days"\n', "intake.reminder_after"),
    ('[intake]\nphone_region = "XX"\n', "unknown phone region"),
    ('[intake]\nmax_facts = 10\n', "unknown key"),
    ('[[categories]]\nkey = "a"\nzh = "x"\nen = "y"\nkeywords = [" "]\n',
     "categories[0].keywords"),
    ('[intake]\nlisten_pause = "soon"\n', "intake.listen_pause"),
])
def test_bad_intake_configuration_is_one_clear_line(tmp_path: Path, toml: str,
                                                    message: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_config(_write(tmp_path, toml), {})
    assert message in str(e.value) and "\n" not in str(e.value)


def test_desk_is_built_once_from_the_configuration() -> None:
    desk = Desk.from_config(load_config(EXAMPLE, {}), Clock())
    assert desk.form.category("safety") is not None
    assert [f.type for f in desk.form.category("safety").fields] == ["text", "datetime"]
    assert desk.reminder_after.total_seconds() == 1800
    assert desk.reply.working_days == 2
    assert desk.listen_pause.total_seconds() == 2
    # Keywords in both languages make a category the likely one after the story.
    assert desk.form.suggestion("电梯坏了三天了").key == "equipment"  # type: ignore[union-attr]
    assert desk.form.suggestion("The lift is broken").key == "equipment"  # type: ignore[union-attr]
    assert desk.form.suggestion("今天天气不错") is None
