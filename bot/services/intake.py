"""The intake conversation: one draft row per chat, one step at a time, saved at every step."""

from __future__ import annotations

import copy
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain import intake as form_rules
from bot.domain.buttons import CustomerAction as CA
from bot.domain.intake import (
    ABOUT,
    ABOUT_CHOICES,
    ABOUT_TEXT,
    CATEGORY,
    CHANGE,
    CONFIRM,
    FACTS,
    MAX_PHOTOS,
    NAME,
    NOT_SAME,
    OUTCOME,
    OUTCOME_TEXT,
    OUTCOMES,
    PHONE,
    PREVIOUS,
    PREVIOUS_CHOICES,
    SAME,
    SAME_NEW,
    SAME_OFFER,
    InvalidAnswer,
)
from bot.domain.phone import format_phone
from bot.domain.vocabulary import TimerKind
from bot.i18n import t as text
from bot.services import handoff, incidents, repeats, tickets
from bot.services.desk import Desk
from bot.services.inbound import Inbound
from bot.services.views import (
    LISTEN_PROMPT,
    Ack,
    DropButtons,
    EarlierTicket,
    Menu,
    Note,
    Prompt,
    Reply,
    Typing,
)
from storage.models import Customer, IntakeDraft
from storage.uow import UnitOfWork

REMINDER, EXPIRY = TimerKind.INTAKE_REMINDER, TimerKind.INTAKE_EXPIRY
LISTEN = TimerKind.INTAKE_LISTEN
TIMER_KINDS = (REMINDER, EXPIRY, LISTEN)
MAX_OUTCOME_TEXT = 500
ATTACH = "attach"  # a draft step outside the form: which open ticket a message belongs to
# Another: the customer said at follow-up that something is left over; their next message says
# what (bot.services.follow_up).
LEFT_OVER = "left_over"
OUTSIDE_FORM = frozenset({ATTACH, LEFT_OVER})

# What a refused message kind means at a step expecting text.
_NOT_TEXT = {"sticker": "sticker", "voice": "voice"}
# What the story may be told with (PROCESS.md §1: let them say it all, however they say it).
STORY_KINDS = ("text", "photo", "document", "voice")
# Typed answers that accept the suggested category.
_YES = frozenset({"是", "是的", "对", "对的", "嗯", "好", "好的", "yes", "y", "right", "ok"})


@dataclass
class Turn:
    """One update's worth of conversation: who, their draft, and what to answer."""

    uow: UnitOfWork
    desk: Desk
    m: Inbound
    customer: Customer
    draft: IntakeDraft | None
    now: datetime
    reply: Reply
    callback_note: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)

    @property
    def step(self) -> str:
        """The draft's current step."""
        return self.draft.step if self.draft else FACTS


async def begin(c: Turn) -> None:
    """"File a complaint": start a draft, or carry on with the one in progress."""
    if c.draft is not None and c.draft.step not in OUTSIDE_FORM:
        c.answers = copy.deepcopy(c.draft.answers)
        await prompt(c, c.draft.step, lead=Note("intake.resuming"))
        return
    _start(c)
    await prompt(c, FACTS)


async def listen(c: Turn, offer: list[dict[str, Any]] | None = None) -> None:
    """Someone with nothing open just tells us what happened: those words start the story.

    With `offer` (their tickets dealt with lately) they are first asked whether it is the same
    matter as one of those.
    """
    _start(c)
    if c.m.kind == "text" and c.desk.abuse.is_abusive(c.m.text):
        c.answers.setdefault("abuse", []).append(c.m.text)  # answered by the caller
    if not offer:
        await _fact(c)
        return
    c.answers[SAME_OFFER] = offer
    _append_fact(c)
    save(c, SAME)
    await prompt(c, SAME)


def _start(c: Turn) -> None:
    """A new draft at the story, with its reminder and expiry timers."""
    # A fresh token ties this draft's reminder and expiry timers to it and not to a later one.
    c.answers = {"token": secrets.token_hex(4)}
    if c.draft is not None and c.draft.answers.get("pending"):
        # Messages written while choosing a ticket start the new story instead of being lost.
        keep = ("kind", "text", "file_id", "mid")
        c.answers["facts"] = [{k: v for k, v in p.items() if k in keep}
                              for p in c.draft.answers["pending"]]
    drafts = c.uow.repos.drafts
    if c.draft is None:
        c.draft = drafts.add(c.m.chat_id, c.m.user_id, FACTS, c.answers, c.now)
    else:
        drafts.save(c.draft, FACTS, c.answers, c.now)
        c.draft.created_at, c.draft.reminded_at = c.now, None
    timers, payload = c.uow.repos.timers, {"token": c.answers["token"]}
    timers.add(REMINDER, c.now + c.desk.reminder_after, c.now, chat_id=c.m.chat_id,
               payload=payload)
    timers.add(EXPIRY, c.now + c.desk.expire_after, c.now, chat_id=c.m.chat_id, payload=payload)


async def cancel(c: Turn) -> None:
    """Cancel: forget the draft (nothing is filed) and show the menu."""
    if c.draft is None:
        c.reply.add(Note("intake.nothing_to_cancel"), Menu())
        return
    leaving_phone = c.draft.step == PHONE
    await _discard(c)
    c.reply.add(Note("intake.cancelled", remove_keyboard=leaving_phone), Menu())


async def _discard(c: Turn) -> None:
    """The draft is done with (filed, joined to a ticket or cancelled): it and its timers go."""
    assert c.draft is not None
    await c.uow.repos.drafts.delete(c.draft)
    await c.uow.repos.timers.cancel(chat_id=c.m.chat_id, kinds=TIMER_KINDS)
    c.draft = None


async def prompt(c: Turn, step: str, error: str | None = None, lead: Note | None = None,
                 hints: dict[str, Any] | None = None, reaction: int = 0) -> None:
    """Ask for `step` (loading the customer's earlier tickets only where they are offered);
    `lead` is said first, in the same message."""
    earlier: tuple[EarlierTicket, ...] = ()
    if step == PREVIOUS:
        earlier = tuple(EarlierTicket(t.id, t.ref, t.category)
                        for t in await c.uow.repos.tickets.of_customer(c.customer.id, limit=5))
    if step == FACTS:
        await drop_listen_buttons(c.uow, c.reply, c.m.chat_id)
    c.reply.add(Prompt(step, c.answers, error, hints or {}, c.m.first_name, earlier,
                       reaction=reaction, lead=lead))


async def drop_listen_buttons(uow: UnitOfWork, reply: Reply, chat_id: int) -> None:
    """The "That's all" button lives on one prompt: take it off the one sent before."""
    mid = await uow.repos.outbox.last_message_id(chat_id, LISTEN_PROMPT)
    if mid is not None:
        reply.add(DropButtons(mid))


def save(c: Turn, step: str) -> None:
    """Write the draft: every step is saved, so a restart continues here."""
    assert c.draft is not None
    c.uow.repos.drafts.save(c.draft, step, c.answers, c.now)


async def advance(c: Turn, answered: str) -> None:
    """The step was answered: save and ask the next one."""
    nxt = c.desk.form.next_step(c.answers, answered)
    if nxt == CONFIRM:
        c.answers.pop("editing", None)
    lead = None
    if c.step == PHONE and nxt != PHONE:
        # The phone step's reply keyboard must go, and a message carries one markup: this
        # confirmation takes it away, so it cannot also carry the next question's buttons.
        c.reply.add(Note("intake.phone_noted", {"phone": format_phone(c.answers[PHONE])},
                         remove_keyboard=True))
    elif answered == CATEGORY:
        lead = Note("intake.category.noted", {"category": _category_name(c)})
    elif answered == SAME:
        lead = Note("intake.same.noted_new")
    save(c, nxt)
    await prompt(c, nxt, lead=lead)


def _category_name(c: Turn) -> str:
    cat = c.desk.form.category(c.answers.get("category"))
    return cat.names.get(c.reply.lang, cat.key) if cat else ""


async def back(c: Turn) -> None:
    """Back: the previous step (or the summary while changing a field; the menu from the first)."""
    prev = c.desk.form.previous_step(c.answers, c.step)
    if c.step == PHONE:
        c.reply.add(Note("intake.ok", remove_keyboard=True))
    if prev is None:
        c.reply.add(Menu("intake.paused"))
        return
    if prev == CONFIRM:
        c.answers.pop("editing", None)
        c.answers.pop("facts_rewrite", None)
    save(c, prev)
    await prompt(c, prev)


async def on_message(c: Turn) -> None:
    """A message while a draft is open: the answer to the current step."""
    assert c.draft is not None
    c.answers = copy.deepcopy(c.draft.answers)
    step, m = c.step, c.m
    abusive = m.kind == "text" and bool(m.text) and c.desk.abuse.is_abusive(m.text)
    if abusive:
        # PROCESS.md §5: keep recording, answer calmly and firmly, carry on.
        c.answers.setdefault("abuse", []).append(m.text)
        if step != FACTS:
            save(c, step)
            await prompt(c, step, lead=Note("abuse.reply"))
            return
        c.reply.add(Note("abuse.reply"))
    try:
        if step == FACTS:
            await _fact(c)
            return
        await _answer(c, step)
    except InvalidAnswer as exc:
        # Nothing of a refused answer is kept, except the record of abuse.
        c.answers = copy.deepcopy(c.draft.answers)
        if abusive:
            c.answers.setdefault("abuse", []).append(m.text)
            save(c, step)
        await prompt(c, step, exc.reason, hints=exc.hints)


def _text(m: Inbound) -> str:
    if m.kind == "text" and m.text is not None:
        return m.text
    raise InvalidAnswer(_NOT_TEXT.get(m.kind, "text_expected"))


async def _fact(c: Turn) -> None:
    m, a = c.m, c.answers
    if a.pop("facts_rewrite", None):
        # Changing the story from the read-back: the new telling replaces the old, which is
        # kept aside and recorded with the ticket.
        a.setdefault("replaced_facts", []).append(tickets.facts_text(a))
        a["facts"] = []
    _append_fact(c)
    # No answer per message: one reaction when they pause (the listening timer).
    a["unheard"] = a.get("unheard", 0) + 1
    if a["unheard"] == 1:
        c.reply.add(Typing())
    listen_at(c.uow, a, m.chat_id, c.now + c.desk.listen_pause, c.now)
    save(c, FACTS)


def _append_fact(c: Turn) -> None:
    """Add the message to the story (InvalidAnswer when the story cannot take it)."""
    m, a = c.m, c.answers
    facts = a.setdefault("facts", [])
    if m.kind == "voice":
        facts.append({"kind": m.kind, "text": "", "file_id": m.file_id, "mid": m.message_id})
    elif m.kind in ("photo", "document"):
        if sum(1 for f in facts if f.get("file_id")) >= MAX_PHOTOS:
            raise InvalidAnswer("too_many_photos", limit=MAX_PHOTOS)
        caption = m.text or ""
        if caption:
            form_rules.check_fact(a, caption, c.desk.form.max_facts_length)
        facts.append({"kind": m.kind, "text": caption, "file_id": m.file_id,
                      "mid": m.message_id})
    else:
        said = _text(m)
        form_rules.check_fact(a, said, c.desk.form.max_facts_length)
        facts.append({"kind": "text", "text": said, "mid": m.message_id})


def listen_at(uow: UnitOfWork, a: dict[str, Any], chat_id: int, due: datetime,
              now: datetime) -> None:
    """Make sure the listening timer looks at this draft by `due`.

    One timer chain per draft: a quick run of messages writes no timer after the first, and
    when it fires it looks at how long they have been quiet and reschedules itself. A newer
    chain (numbered in the draft) makes an older one stale, so there is never more than one.
    """
    live = a.get("listen_due")
    if live is not None and datetime.fromisoformat(live) <= due:
        return
    a["listen_seq"] = a.get("listen_seq", 0) + 1
    a["listen_due"] = due.isoformat()
    uow.repos.timers.add(LISTEN, due, now, chat_id=chat_id,
                         payload={"token": a.get("token"), "seq": a["listen_seq"]})


async def _answer(c: Turn, step: str) -> None:
    m, a, form = c.m, c.answers, c.desk.form
    if step == SAME:
        if m.kind not in STORY_KINDS:
            raise InvalidAnswer("use_buttons")
        await _more_story(c, SAME)  # still telling: kept with the story, then asked again
        return
    if step == CATEGORY:
        if m.kind != "text" or not (m.text or "").strip():
            if m.kind in STORY_KINDS:  # a photo or voice note: more of the story
                await _more_story(c, CATEGORY)
                return
            raise InvalidAnswer("category")
        typed = (m.text or "").strip().casefold()
        suggested = form.suggestion(tickets.facts_text(a))
        yes = typed.rstrip("!.!。") in _YES  # noqa: B005 - any of these marks, not a suffix
        if suggested is not None and yes and not a.get("all_categories"):
            await _set_category(c, suggested.key)
            return
        for i, cat in enumerate(form.categories, 1):
            if typed == str(i) or typed in {n.casefold() for n in cat.names.values()}:
                await _set_category(c, cat.key)
                return
        # Not a category: they are still telling us what happened. Keep it with the story.
        await _more_story(c, CATEGORY)
        return
    if step in (OUTCOME, OUTCOME_TEXT):
        text = _text(m).strip()
        if not text:
            raise InvalidAnswer("empty")
        if len(text) > MAX_OUTCOME_TEXT:
            raise InvalidAnswer("too_long", limit=MAX_OUTCOME_TEXT, left=MAX_OUTCOME_TEXT)
        a["outcome"], a["outcome_text"] = "other", text
        await advance(c, OUTCOME)
        return
    if step == ABOUT_TEXT:
        # Kept verbatim: whether it names someone on the roster is decided at filing.
        a[ABOUT], a[ABOUT_TEXT] = "yes", form_rules.short_text(_text(m))
        await advance(c, ABOUT_TEXT)
        return
    if step == NAME:
        a[NAME] = form_rules.short_text(_text(m))
        await advance(c, NAME)
        return
    if step == PHONE:
        raw = m.phone if m.kind == "contact" else _text(m)
        a[PHONE] = form_rules.phone(raw, form.phone_region)
        await advance(c, PHONE)
        return
    f = form.field(a, step)
    if f is not None:
        if m.kind not in ("text", "photo"):
            raise InvalidAnswer("photo_expected" if f.type == "photo"
                                else _NOT_TEXT.get(m.kind, "text_expected"))
        value = form_rules.extra_value(
            f, m.text if m.kind == "text" else None, m.file_id if m.kind == "photo" else None,
            c.desk.calendar.local(c.now), form.phone_region)
        a.setdefault("extra", {})[f.key] = value
        await advance(c, step)
        return
    if step == PREVIOUS and m.kind == "text" and m.text:
        from bot.domain.ticket import normalise_ref

        t = await c.uow.repos.tickets.by_ref_for_customer(normalise_ref(m.text), c.customer.id)
        if t is not None:
            a[PREVIOUS] = t.id
            await advance(c, PREVIOUS)
            return
    raise InvalidAnswer("use_buttons")


async def _more_story(c: Turn, step: str) -> None:
    """Something told at a question about the story (the category, "the same matter?")
    belongs to the story; then the question is asked again."""
    _append_fact(c)
    save(c, step)
    await prompt(c, step, lead=Note("intake.category.added"))


async def _set_category(c: Turn, key: str) -> None:
    a = c.answers
    cat = c.desk.form.category(key)
    assert cat is not None
    if a.get("category") != key:
        keep = {f.key for f in cat.fields}
        a["extra"] = {k: v for k, v in (a.get("extra") or {}).items() if k in keep}
    a["category"] = key
    # Something of this kind still open, or dealt with lately: maybe the same matter again.
    offer = await repeats.offer(c.uow, c.desk, c.customer.id, c.now, key, a.get(NOT_SAME) or ())
    if offer:
        a[SAME_OFFER] = offer
    else:
        a.pop(SAME_OFFER, None)
    await advance(c, CATEGORY)


async def on_button(c: Turn) -> None:
    """A button of the intake: re-checked against the draft, never trusted."""
    assert c.draft is not None
    c.answers = copy.deepcopy(c.draft.answers)
    action, arg, step, a, form = c.m.action, c.m.arg, c.step, c.answers, c.desk.form
    if action == CA.BACK:
        await back(c)
    elif action == CA.CATEGORY and step == CATEGORY and form.category(arg):
        await _set_category(c, arg)
    elif action == CA.CATEGORIES and step == CATEGORY:
        a["all_categories"] = True
        save(c, CATEGORY)
        await prompt(c, CATEGORY)
    elif action == CA.DONE and step == FACTS:
        if not a.get("facts"):
            await prompt(c, FACTS, "no_facts")
            return
        a["facts_done"] = True
        for k in ("facts_rewrite", "unheard", "listen_due"):
            a.pop(k, None)
        await advance(c, FACTS)
    elif action == CA.OUTCOME and step in (OUTCOME, OUTCOME_TEXT) and arg in OUTCOMES:
        if arg == "other":
            save(c, OUTCOME_TEXT)
            await prompt(c, OUTCOME_TEXT)
            return
        a["outcome"] = arg
        a.pop("outcome_text", None)
        await advance(c, OUTCOME)
    elif action == CA.OPTION and (f := form.field(a, step)) is not None and arg.isdigit():
        try:
            a.setdefault("extra", {})[f.key] = form_rules.choice(f, int(arg))
        except InvalidAnswer as exc:
            await prompt(c, step, exc.reason)
            return
        await advance(c, step)
    elif action == CA.ABOUT and step in (ABOUT, ABOUT_TEXT) and arg in ABOUT_CHOICES:
        if arg == "yes":
            save(c, ABOUT_TEXT)
            await prompt(c, ABOUT_TEXT)
            return
        a[ABOUT] = "no"
        a.pop(ABOUT_TEXT, None)
        await advance(c, ABOUT)
    elif action == CA.PROFILE_NAME and step == NAME:
        try:
            a[NAME] = form_rules.short_text(c.m.first_name)
        except InvalidAnswer as exc:
            await prompt(c, step, exc.reason)
            return
        await advance(c, NAME)
    elif action == CA.PREVIOUS and step == PREVIOUS:
        await _previous(c, arg)
    elif action == CA.SAME and step == SAME:
        await _same(c, arg)
    elif action == CA.CONFIRM and step == CONFIRM:
        await confirm(c)
    elif action == CA.CHANGE and step == CONFIRM:
        save(c, CHANGE)
        await prompt(c, CHANGE)
    elif action == CA.FIELD and step == CHANGE and arg in form.changeable(a):
        a["editing"] = True
        if arg == FACTS:
            a["facts_rewrite"] = True
        save(c, arg)
        await prompt(c, arg)
    else:
        # An old button from an earlier step: say so and ask the current question again.
        c.callback_note = "intake.stale"
        await prompt(c, step)


async def _previous(c: Turn, arg: str) -> None:
    if arg in PREVIOUS_CHOICES:
        c.answers[PREVIOUS] = arg
    elif arg.isdigit() and await c.uow.repos.tickets.get_for_customer(int(arg), c.customer.id):
        c.answers[PREVIOUS] = int(arg)
    else:
        await prompt(c, PREVIOUS, "use_buttons")
        return
    await advance(c, PREVIOUS)


async def confirm(c: Turn) -> None:
    """Confirm: file the ticket and acknowledge it with the promised times."""
    form = c.desk.form
    missing = next((s for s in form.sequence(c.answers)
                    if s != CONFIRM and not form.is_answered(c.answers, s)), None)
    if missing is not None:
        # Only reachable through a draft edited by hand or a changed configuration.
        save(c, missing)
        await prompt(c, missing)
        return
    t = await tickets.file_complaint(c.uow, c.desk, c.customer, c.answers, c.now)
    # Linked to a group incident before dispatch, so its card shows the incident from the
    # start (the crisis alert goes with that card).
    c.reply.staff += await incidents.at_filing(c.uow, c.desk, t, c.now)
    c.reply.staff += await handoff.dispatch(c.uow, c.desk, t, c.now)
    await _discard(c)
    cal = c.desk.calendar
    assert t.first_response_due is not None and t.reply_due is not None
    c.reply.add(Ack(t.ref, t.category, cal.local(t.first_response_due), cal.local(t.reply_due)))


async def _same(c: Turn, arg: str) -> None:
    """The answer to "the same matter as ticket X?": yes joins that ticket (the draft ends
    there); "No, something new" carries on with this complaint."""
    a = c.answers
    offered = {str(o["id"]) for o in a.get(SAME_OFFER) or []}
    if arg != SAME_NEW:
        t = await repeats.joinable(c.uow, c.customer.id, int(arg)) if arg in offered else None
        if t is not None:
            c.reply.staff += await repeats.join(c.uow, c.desk, t, c.customer.id, a, c.now)
            await _discard(c)
            level = text(c.reply.lang, f"levels.l{t.escalation_level}")
            c.reply.add(Note("repeat.joined", {"ref": t.ref, "level": level}))
            return
        # Withdrawn since it was offered, or a forged button: ask again about what still fits.
        c.callback_note = "intake.stale"
        a[SAME_OFFER] = await repeats.offer(c.uow, c.desk, c.customer.id, c.now,
                                            a.get(CATEGORY), a.get(NOT_SAME) or ())
        if a[SAME_OFFER]:
            save(c, SAME)
            await prompt(c, SAME)
            return
    a.setdefault(NOT_SAME, []).extend(o["id"] for o in a.pop(SAME_OFFER, None) or [])
    if a.get(CATEGORY):
        await advance(c, SAME)
        return
    # Asked before the story: what they wrote is its first part; they carry on telling it and
    # the bot listens as it does for any story.
    a["reactions"] = a.get("reactions", 0) + 1
    listen_at(c.uow, a, c.m.chat_id, c.now + c.desk.listen_idle, c.now)
    save(c, FACTS)
    await prompt(c, FACTS, lead=Note("intake.same.noted_new"), reaction=a["reactions"])
