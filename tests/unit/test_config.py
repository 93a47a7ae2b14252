"""Configuration: defaults, the documented keys, and one clear line for every mistake."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config

GOOD = """
timezone = "Asia/Shanghai"
[telegram]
staff_group_id = -1001234567890
[[staff]]
telegram_id = 1001
name = "王管家"
role = "steward"
supervisor = 1002
[[staff]]
telegram_id = 1002
name = "李经理"
role = "supervisor"
[windows]
first_response = "30m"
reply = "2 working days"
follow_up_after = "7d"
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_documented_keys_load(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, GOOD), environ={"DATABASE_URL": "sqlite+aiosqlite://"})
    f = cfg.file
    assert f.telegram.staff_group_id == -1001234567890
    assert [(s.telegram_id, s.role, s.supervisor) for s in f.staff] == [
        (1001, "steward", 1002), (1002, "supervisor", None)]
    assert f.windows.first_response.elapsed.total_seconds() == 1800
    assert f.windows.reply.working_days == 2
    assert f.windows.follow_up_after.elapsed.days == 7
    assert cfg.env.database_url == "sqlite+aiosqlite://"


def test_no_file_means_defaults() -> None:
    cfg = load_config(None, environ={"TELEGRAM_API_URL": "http://127.0.0.1:1"})
    assert cfg.file.timezone == "Asia/Shanghai"
    assert cfg.file.telegram.limits.per_group_per_minute == 20
    assert cfg.env.telegram_bot_token is None
    assert cfg.file.escalation.review == "major"  # 审核 of major complaints unless told otherwise


def test_the_example_written_by_init_is_valid(tmp_path: Path) -> None:
    from bot.cli import main

    path = tmp_path / "example.toml"
    assert main(["init", str(path)]) == 0
    assert load_config(path).file.telegram.staff_group_id == -1001234567890
    assert main(["init", str(path)]) == 1  # never overwrites silently


@pytest.mark.parametrize(("change", "expected"), [
    (('reply = "2 working days"', 'reply = "2 wrking days"'),
     "windows.reply: '2 wrking days' is not a duration"),
    (('role = "steward"', 'role = "stewart"'), "staff[0].role: Input should be"),
    # An unknown supervisor may be on the roster already: bootstrap finds that one.
    (('supervisor = 1002', 'supervisor = 1001'),
     "staff: staff[0] (1001) cannot be their own supervisor"),
    (('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"'), "timezone: unknown time zone"),
    (('first_response = "30m"', 'first_respons = "30m"'), "windows.first_respons: unknown key"),
    (('staff_group_id = -1001234567890', 'staff_group_id = "staff"'),
     "telegram.staff_group_id: Input should be a valid integer"),
    (('[windows]', '[windows'), "not valid TOML"),
    (('[windows]', '[windows]\nquiet_hours = "21:00"'),
     "windows.quiet_hours: '21:00' is not a range of hours"),
    (('[windows]', '[windows]\nnot_solved_within = "2 working days"'),
     "windows.not_solved_within: 2 working days must be elapsed time"),
    (('[windows]', '[escalation.manager]\nemail_to = ["gm at example"]\n[windows]'),
     "escalation.manager.email_to[0]:"),
    (('[windows]', '[escalation]\nurges_to_escalate = -1\n[windows]'),
     "escalation.urges_to_escalate: Input should be greater than or equal to 0"),
    (('[windows]', '[escalation.director]\nchat_ids = []\n[windows]'),
     "escalation.director: unknown key"),
    (('[windows]', '[escalation]\nreview = "some"\n[windows]'),
     "escalation.review: Input should be 'none', 'major' or 'all'"),
])
def test_each_mistake_is_one_line_naming_the_key(tmp_path: Path, change: tuple[str, str],
                                                 expected: str) -> None:
    path = _write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert expected in message
    assert "\n" not in message and message.startswith(str(path))


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_cli_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace('"30m"', '"soon"'))
    env = {**os.environ, "COMPLAINT_BOT_CONFIG": str(path)}
    proc = subprocess.run([sys.executable, "-m", "bot", "migrate"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert "windows.first_response" in lines[0] and "'soon' is not a duration" in lines[0]


def test_help_lists_the_commands() -> None:
    proc = subprocess.run([sys.executable, "-m", "bot", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0
    for command in ("run", "migrate", "init", "sandbox"):
        assert command in proc.stdout


EMAIL = GOOD + """
[email]
host = "smtp.example.com"
from_address = "desk@example.com"
"""


def test_email_is_off_without_its_section_and_on_with_it(tmp_path: Path) -> None:
    assert load_config(_write(tmp_path, GOOD), environ={"X": "1"}).file.email is None
    cfg = load_config(_write(tmp_path, EMAIL),
                      environ={"SMTP_USER": "desk", "SMTP_PASSWORD": "s3cret-pw"})
    e = cfg.file.email
    assert e is not None
    assert (e.host, e.port, e.security, e.from_address, e.timeout) == (
        "smtp.example.com", 587, "starttls", "desk@example.com", 30)
    assert cfg.env.smtp_user == "desk" and cfg.env.smtp_password is not None
    assert cfg.env.smtp_password.get_secret_value() == "s3cret-pw"
    assert "s3cret-pw" not in repr(cfg) and "s3cret-pw" not in str(cfg)
    from bot.mailer import SmtpSettings

    assert "s3cret-pw" not in repr(SmtpSettings.from_config(cfg))


@pytest.mark.parametrize(("change", "expected"), [
    (('host = "smtp.example.com"', 'host = ""'), "email.host: String should have at least 1"),
    (('host = "smtp.example.com"', ''), "email.host: Field required"),
    (('from_address = "desk@example.com"', ''), "email.from_address: Field required"),
    (('from_address = "desk@example.com"', 'from_address = "Desk <desk@example.com>"'),
     "email.from_address: 'Desk <desk@example.com>' is not an e-mail address"),
    (('from_address = "desk@example.com"', 'from_address = "desk@example.com"\nsecurity = "ssl"'),
     "email.security: Input should be 'starttls', 'tls' or 'none'"),
    (('from_address = "desk@example.com"', 'from_address = "desk@example.com"\nport = 0'),
     "email.port: Input should be greater than or equal to 1"),
    (('from_address = "desk@example.com"', 'from_address = "desk@example.com"\npassword = "x"'),
     "email.password: unknown key"),
    (('role = "steward"', 'role = "steward"\nemail = "wang at example.com"'),
     "staff[0].email: 'wang at example.com' is not an e-mail address"),
])
def test_each_email_mistake_is_one_line_naming_the_key(tmp_path: Path, change: tuple[str, str],
                                                       expected: str) -> None:
    path = _write(tmp_path, EMAIL.replace(*change))
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={"X": "1"})
    message = str(err.value)
    assert expected in message
    assert "\n" not in message and message.startswith(str(path))


@pytest.mark.parametrize(("security", "host", "environ", "expected"), [
    ("starttls", "smtp.example.com", {"SMTP_USER": "desk"},
     "environment: SMTP_USER and SMTP_PASSWORD go together; set both or neither"),
    ("starttls", "smtp.example.com", {"SMTP_PASSWORD": "s3cret-pw"},
     "environment: SMTP_USER and SMTP_PASSWORD go together; set both or neither"),
    ("none", "smtp.example.com", {"SMTP_USER": "desk", "SMTP_PASSWORD": "s3cret-pw"},
     'email.security: "none" would send SMTP_PASSWORD unencrypted to smtp.example.com; '
     'use "starttls" or "tls"'),
])
def test_the_smtp_login_is_whole_and_never_in_the_clear(
        tmp_path: Path, security: str, host: str, environ: dict[str, str], expected: str) -> None:
    path = _write(tmp_path, EMAIL.replace('host = "smtp.example.com"',
                                          f'host = "{host}"\nsecurity = "{security}"'))
    with pytest.raises(ConfigError) as err:
        load_config(path, environ=environ)
    assert expected in str(err.value) and "s3cret-pw" not in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("security", ["starttls", "tls", "none"])
def test_each_security_loads_and_none_is_fine_on_this_machine(tmp_path: Path,
                                                              security: str) -> None:
    path = _write(tmp_path, EMAIL.replace('host = "smtp.example.com"',
                                          f'host = "127.0.0.1"\nsecurity = "{security}"'))
    cfg = load_config(path, environ={"SMTP_USER": "desk", "SMTP_PASSWORD": "s3cret-pw"})
    assert cfg.file.email is not None and cfg.file.email.security == security


def test_the_commented_email_example_loads_when_uncommented(tmp_path: Path) -> None:
    example = (Path(__file__).resolve().parents[2] / "bot" / "example.toml").read_text("utf-8")
    lines = example.splitlines()
    start = lines.index("# [email]")
    block = []
    for line in lines[start:]:
        if not line.startswith("# "):
            break
        block.append(line[2:])
    cfg = load_config(_write(tmp_path, "\n".join(block)), environ={"X": "1"})
    assert cfg.file.email is not None and cfg.file.email.host == "smtp.example.com"


def test_ladder_quiet_hours_and_category_windows_load(tmp_path: Path) -> None:
    from bot.clock import Clock
    from bot.services.desk import Desk

    path = _write(tmp_path, GOOD.replace("[windows]", """[escalation]
urges_to_escalate = 2
review = "all"
[escalation.manager]
chat_ids = [-1009]
email_to = ["gm@example.com"]
email_cc = ["ops@example.com"]
[[categories]]
key = "lift"
zh = "电梯"
en = "Lifts"
first_response = "10m"
[[categories]]
key = "other"
zh = "其他"
en = "Other"
[windows]
quiet_hours = ''"""))
    desk = Desk.from_config(load_config(path), Clock())
    assert desk.quiet is None  # "" turns quiet hours off
    assert desk.ladder.urges_to_escalate == 2 and desk.ladder.review == "all"
    assert desk.ladder.contacts(2).email_cc == ["ops@example.com"]
    assert desk.ladder.contacts(1).chat_ids == [] and desk.ladder.contacts(3).email_to == []
    first, reply = desk.windows_for("lift")
    assert str(first) == "600s" and reply == desk.reply  # its own first response, the reply kept
    assert desk.windows_for("other") == (desk.first_response, desk.reply)
