"""The escalation e-mail: subject, plain text and HTML from one summary, texts from the catalogs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

from bot.i18n import t, when

# Only these become links in the HTML part: a card link is ours, but it is checked anyway.
_LINK_SCHEMES = ("https://", "tg://")


@dataclass(frozen=True)
class EscalationMail:
    """What an escalation e-mail tells: the complaint, its deadlines and its history so far.

    Times are local (the desk's time zone); `history` holds (time, who, what) lines, oldest first.
    """

    ref: str
    level: int  # 1 supervisor, 2 manager, 3 committee
    level_name: str
    reason: str
    category: str
    contact_name: str
    facts: str
    desired_outcome: str
    first_response_due: datetime | None = None
    reply_due: datetime | None = None
    card_link: str | None = None
    history: tuple[tuple[datetime, str, str], ...] = ()

    def __post_init__(self) -> None:
        """Only the ladder's three levels exist."""
        if self.level not in (1, 2, 3):
            raise ValueError(f"escalation level {self.level} is not 1, 2 or 3")


def escalation_mail(m: EscalationMail, lang: str) -> tuple[str, str, str]:
    """(subject, plain text, HTML) in `lang`; everything the customer wrote is escaped in HTML."""

    def tr(key: str, **values: object) -> str:
        return t(lang, f"mail.{key}", **values)

    def at(d: datetime | None) -> str:
        return when(lang, d) if d is not None else tr("not_set")

    subject = tr("subject", ref=m.ref, level=m.level, level_name=m.level_name)
    intro = tr("intro", ref=m.ref, level=m.level, level_name=m.level_name)
    fields = [(tr("reason"), m.reason), (tr("category"), m.category),
              (tr("contact"), m.contact_name),
              (tr("first_response_due"), at(m.first_response_due)),
              (tr("reply_due"), at(m.reply_due))]
    stories = [(tr("facts"), m.facts), (tr("outcome"), m.desired_outcome)]
    lines = [f"{when(lang, d)} · {who} · {what}" for d, who, what in m.history]
    link = m.card_link if m.card_link and m.card_link.startswith(_LINK_SCHEMES) else None

    colon = tr("colon")
    text = "\n".join([
        intro, "",
        *(f"{k}{colon}{v}" for k, v in fields), "",
        *(f"{k}{colon.rstrip()}\n{v}\n" for k, v in stories),
        f"{tr('history')}{colon.rstrip()}", *(f"- {x}" for x in lines or [tr("no_history")]), "",
        *([f"{tr('card')}{colon}{link}", ""] if link else []),
        "-- ", tr("footer"),
    ])

    def e(s: str) -> str:
        return escape(s, quote=True)

    pre = ' style="white-space:pre-wrap;margin:0 0 1em 0"'
    html = "".join([
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
        '<body style="font-family:sans-serif;line-height:1.5">',
        f"<p><b>{e(intro)}</b></p><table>",
        *(f'<tr><td style="padding-right:1em;color:#555">{e(k)}</td><td>{e(v)}</td></tr>'
          for k, v in fields),
        "</table>",
        *(f"<h3>{e(k)}</h3><div{pre}>{e(v)}</div>" for k, v in stories),
        f"<h3>{e(tr('history'))}</h3><ul>",
        *(f"<li>{e(x)}</li>" for x in lines or [tr("no_history")]),
        "</ul>",
        f'<p><a href="{e(link)}">{e(tr("card"))}</a></p>' if link else "",
        f'<p style="color:#777;font-size:smaller">{e(tr("footer"))}</p></body></html>',
    ])
    return subject, text, html


@dataclass(frozen=True)
class IncidentMail:
    """What a group incident's crisis e-mail tells: the matter, how many tickets in how long,
    and each ticket — (reference, category, customer's name, their words, link or None)."""

    incident_id: int
    matter: str
    window: str
    tickets: tuple[tuple[str, str, str, str, str | None], ...]


def incident_mail(m: IncidentMail, lang: str) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of the crisis alert e-mail to the manager level; what
    customers wrote is escaped in HTML, and only our own links become links."""

    def tr(key: str, **values: object) -> str:
        return t(lang, f"mail.{key}", **values)

    values = {"id": m.incident_id, "matter": m.matter, "count": len(m.tickets),
              "window": m.window}
    subject, intro, nxt = (tr(k, **values) for k in ("incident_subject", "incident_intro",
                                                     "incident_next"))
    colon = tr("colon")

    def safe(link: str | None) -> str | None:
        return link if link and link.startswith(_LINK_SCHEMES) else None

    text = "\n".join([
        intro, "", f"{tr('incident_tickets')}{colon.rstrip()}",
        *(f"- {ref} · {cat} · {who}" + (f" · {safe(link)}" if safe(link) else "")
          + f"\n  {facts}" for ref, cat, who, facts, link in m.tickets),
        "", nxt, "", "-- ", tr("footer"),
    ])

    def e(s: str) -> str:
        return escape(s, quote=True)

    def item(ref: str, cat: str, who: str, facts: str, link: str | None) -> str:
        head = (f'<a href="{e(link)}">{e(ref)}</a>' if (link := safe(link)) else e(ref))
        return (f"<li><b>{head}</b> · {e(cat)} · {e(who)}"
                f'<div style="white-space:pre-wrap;margin:0 0 .5em 0">{e(facts)}</div></li>')

    html = "".join([
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
        '<body style="font-family:sans-serif;line-height:1.5">',
        f"<p><b>{e(intro)}</b></p><h3>{e(tr('incident_tickets'))}</h3><ul>",
        *(item(*x) for x in m.tickets),
        f"</ul><p>{e(nxt)}</p>",
        f'<p style="color:#777;font-size:smaller">{e(tr("footer"))}</p></body></html>',
    ])
    return subject, text, html
