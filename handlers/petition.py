"""Filing a petition: type, commune, description, contact, confirmation.

Each step asks one short question with big buttons; typing works everywhere
(a commune's name without accents, "xong" to finish describing). The case is
committed in the same transaction as the step that tells the citizen its code.
"""

from __future__ import annotations

import re

from bot.dialog.flow import Flow, Turn, done, goto
from bot.dialog.types import Next, Reply
from bot.services import cases
from bot.services.cases import CITIZEN_TYPES, CONTACT_REQUIRED, Draft
from bot.services.denunciation import is_denunciation
from bot.services.routing import HAMLET, address_parts
from bot.text import clean, fold, international_phone
from handlers.home import CARRIED_PHOTO, CONSENT_NO, CONSENT_YES, DENOUNCED, consent_question, menu

flow = Flow("petition", entry="begin", commands=("phananh", "gopy", "kiennghi", "khieunai", "tocao"))

DONE = "describe:done"
SKIP = "contact:skip"
KNOWN_PHONE = "contact:known_phone"
ANONYMOUS = "contact:anonymous"
SEND = "confirm:send"
EDIT = "confirm:edit"
CANCEL = "petition:cancel"
ALL_UNITS = "unit:all"
MAX_PARTS = 30
MAX_PHOTOS = 10
# More words than a commune's name with its level word: the person typed an address.
ADDRESS_MIN_WORDS = 5
_PHONE = re.compile(r"^(?:\+?84|0)(\d{9})$")
NAME_MAX_WORDS = 6
_NAME_WORD = re.compile(r"[^\W\d_]+(?:[.'-][^\W\d_]*)*")  # letters; "Ng.", "H'Hen", "Thị-Mai"
# Words a sentence needs and no Vietnamese or Khmer name holds, as typed (with or without accents;
# a bare "lam" is not here: it is also the name Lam, and "lâm" the name Lâm).
_NOT_NAME_WORDS = frozenset(
    {
        *("tôi", "toi", "muốn", "muon", "làm", "giấy", "giay", "cho", "con", "hỏi", "xin", "ở", "đâu"),
        *("không", "khong", "ko", "gì", "sao", "bị", "của", "với", "và", "là", "có", "này", "để", "thì"),
        *("mà", "nhà", "ạ", "ơi", "nhé", "nhe", "giùm", "giúp", "cần", "tên", "họ", "menu", "ok", "xong"),
    }
)
# Handed over by the FAQ flow in the conversation's data: the log row of the question to forward.
FORWARDED_LOG = "forwarded_log"
_COMMAND_TYPES = {"khieunai": "khieu_nai", "tocao": "to_cao", "kiennghi": "kien_nghi"}


def _draft(turn: Turn) -> Draft:
    return Draft.from_data(turn.data["draft"])


def _save(turn: Turn, draft: Draft) -> None:
    turn.data["draft"] = draft.to_data()


# --- start and consent -------------------------------------------------------------------------


@flow.step("begin")
async def begin(turn: Turn) -> Next:
    forwarded = turn.data.pop(FORWARDED_LOG, None)
    photo = turn.data.pop(CARRIED_PHOTO, None)
    caption = str(turn.data.pop("photo_caption", "") or "")
    draft = Draft(type="phan_anh", unit_code="", description="")
    if isinstance(photo, str) and photo:
        # Sent at the home screen before the petition began: it is the petition's first photo.
        draft.attachments.append({"kind": "photo", "file": photo})
        if caption:
            turn.data["parts"] = [caption[: cases.DESCRIPTION_MAX]]
    turn.data["draft"] = draft.to_data()
    preset = _COMMAND_TYPES.get(turn.inbound.command or "") or (turn.arg if turn.arg in CITIZEN_TYPES else None)
    if preset:
        turn.data["preset"] = preset
    denounced = turn.data.pop(DENOUNCED, None)
    if isinstance(forwarded, int):
        await _start_question(turn, forwarded)
    elif isinstance(denounced, str) and denounced:
        _start_denunciation(turn, denounced)
    if turn.citizen.consent_at is None:
        return goto("consent", turn.say("petition.consent_first"), consent_question(turn))
    return _after_consent(turn)


@flow.step("consent")
async def consent(turn: Turn) -> Next:
    if turn.choice == CONSENT_YES:
        turn.citizen.consent_at = turn.now
        await turn.uow.citizens.save(turn.citizen)
        return _after_consent(turn, turn.say("consent.thanks"))
    if turn.choice == CONSENT_NO:
        return done(turn.say("petition.needs_consent"), menu(turn))
    return goto("consent", consent_question(turn))


async def _start_question(turn: Turn, log_id: int) -> None:
    """A question the FAQ could not answer becomes a case of type hỏi đáp: only the asker's own."""
    log = await turn.uow.faq.get_log(log_id)
    if log is None or log.citizen_id != turn.citizen.id or not log.query:
        return
    draft = _draft(turn)
    draft.type = "hoi_dap"
    draft.description = log.query
    if is_denunciation(log.query):
        # A question that denounces is a tố cáo: it must not reach the commune it may accuse.
        draft.type = "to_cao"
        turn.data["parts"] = [log.query]
        turn.data["became_to_cao"] = True
    _save(turn, draft)
    turn.data["faq_log"] = log.id


def _start_denunciation(turn: Turn, text: str) -> None:
    """Text a citizen added to another case denounces: a tố cáo of its own, with what they typed kept."""
    draft = _draft(turn)
    draft.type = "to_cao"
    draft.description = text
    turn.data["parts"] = [text[: cases.DESCRIPTION_MAX]]
    turn.data["became_to_cao"] = True
    _save(turn, draft)


def _after_consent(turn: Turn, *before: Reply) -> Next:
    if turn.data.get("became_to_cao"):
        return goto("unit", *before, turn.say("petition.became_to_cao"), _unit_question(turn))
    if _draft(turn).type == "hoi_dap":
        return goto("unit", *before, _unit_question(turn, "petition.question_forward"))
    preset = turn.data.get("preset")
    if preset in CITIZEN_TYPES:
        return _set_type(turn, preset, *before)
    return goto("type", *before, _type_question(turn))


# --- type ---------------------------------------------------------------------------------------


def _type_question(turn: Turn) -> Reply:
    return turn.say("petition.ask_type", *(turn.option(f"case_type.{kind}", f"type:{kind}") for kind in CITIZEN_TYPES))


@flow.step("type")
async def choose_type(turn: Turn) -> Next:
    kind = (turn.choice or "").removeprefix("type:")
    if kind not in CITIZEN_TYPES:
        kind = petition_type(turn.text) or ""
    if not kind:
        return goto("type", turn.say("petition.type_again"), _type_question(turn))
    return _set_type(turn, kind)


def petition_type(text: str) -> str | None:
    """The kind of petition a text names ("khiếu nại", "góp ý", ...), if any; a denunciation first."""
    if is_denunciation(text):
        return "to_cao"
    folded = fold(text)
    for kind, words in (
        ("to_cao", ("to cao",)),
        ("khieu_nai", ("khieu nai",)),
        ("kien_nghi", ("kien nghi", "de xuat", "gop y")),
        ("phan_anh", ("phan anh", "bao tin")),
    ):
        if any(word in folded for word in words):
            return kind
    return None


def _set_type(turn: Turn, kind: str, *before: Reply) -> Next:
    draft = _draft(turn)
    draft.type = kind  # type: ignore[assignment]  # checked against CITIZEN_TYPES by the callers
    _save(turn, draft)
    notes = [turn.say("petition.to_cao_notice")] if kind == "to_cao" else []
    return goto("unit", *before, *notes, _unit_question(turn))


# --- commune ------------------------------------------------------------------------------------


def _unit_question(turn: Turn, key: str = "petition.ask_unit") -> Reply:
    units = turn.services.routing.units()
    options = [turn.option("petition.unit_option", f"unit:{u.code}", name=u.name) for u in units]
    return Reply(turn.t(key), tuple(options), columns=2)


@flow.step("unit")
async def choose_unit(turn: Turn) -> Next:
    routing = turn.services.routing
    if turn.choice == ALL_UNITS:
        return goto("unit", _unit_question(turn))
    if turn.choice and turn.choice.startswith("unit:"):
        place = routing.find(turn.choice.removeprefix("unit:"))
        if place is not None:
            return _set_unit(turn, place.code)
    if not turn.text:
        return goto("unit", _unit_question(turn))
    route = routing.route(turn.text)
    if route.unit is not None:
        notes = [turn.say("petition.former_unit", old=route.former, new=route.unit.name)] if route.former else []
        _keep_address(turn, turn.text)
        return _set_unit(turn, route.unit.code, *notes)
    if route.outside:
        options = [turn.option("petition.unit_option", f"unit:{c.code}", name=c.label) for c in route.candidates]
        options.append(turn.option("petition.show_all_units", ALL_UNITS))
        return goto("unit", Reply(turn.t("petition.outside_area", place=route.outside), tuple(options)))
    if route.candidates:
        # One candidate is a yes/no question ("Có phải bạn muốn chọn nơi này?"): "dạ phải" takes it.
        one = len(route.candidates) == 1
        options = [
            turn.option("petition.unit_option", f"unit:{c.code}", means="yes" if one else None, name=c.label)
            for c in route.candidates
        ]
        options.append(turn.option("petition.show_all_units", ALL_UNITS, means="no" if one else None))
        key = "petition.which_unit" if len(route.candidates) > 1 else "petition.did_you_mean_unit"
        return goto("unit", Reply(turn.t(key, typed=cases.excerpt(turn.text, cases.ECHO_MAX)), tuple(options)))
    return goto("unit", _unit_question(turn, "petition.unit_unknown"))


def _keep_address(turn: Turn, typed: str) -> None:
    """An address typed for the commune ("ấp Sóc Chuối, xã Long Sơn") says where, in more
    detail than the commune: it goes into the description, for the officer to find the place."""
    parts = address_parts(typed)
    if any(part.level == HAMLET for part in parts) or len(fold(typed).split()) > ADDRESS_MIN_WORDS:
        turn.data["place_typed"] = clean(typed)[:200]
    else:
        turn.data.pop("place_typed", None)


def join_parts(parts: list[str]) -> str:
    """The description from the messages it was sent in: each a sentence of its own.

    "đường hư" and "ở ấp 3" sent apart must not read "đường hư ở ấp 3" run together in an
    officer's one-line view: each part ends with a full stop (unless it has its own mark)
    and starts a new line. A description sent in one message is kept as it was typed.
    """
    kept = [part.strip() for part in parts if part.strip()]
    if len(kept) < 2:
        return "".join(kept)  # one message is kept as typed
    return "\n".join(part if part[-1] in ".!?…;:" else f"{part}." for part in kept)


def _set_unit(turn: Turn, code: str, *before: Reply) -> Next:
    draft = _draft(turn)
    draft.unit_code = code
    _save(turn, draft)
    place = turn.services.routing.find(code)
    chosen = turn.say("petition.unit_chosen", name=place.name if place else code)
    if draft.type == "hoi_dap" and draft.description:
        next_ = _ask_contact(turn)
        next_.replies[:0] = [*before, chosen]
        return next_
    if turn.data.get("parts") or draft.attachments:
        # What they sent before (a question that became a tố cáo, a photo sent at the home
        # screen) is already part of the description.
        return goto("describe", *before, chosen, _progress(turn, draft))
    return goto("describe", *before, chosen, _describe_question(turn))


# --- description --------------------------------------------------------------------------------


def _describe_question(turn: Turn) -> Reply:
    return turn.say("petition.ask_description", turn.option("petition.done_button", DONE))


def _progress(turn: Turn, draft: Draft) -> Reply:
    parts = len(turn.data.get("parts", []))
    return turn.say(
        "petition.description_progress",
        turn.option("petition.done_button", DONE),
        messages=parts,
        photos=len(draft.attachments),
        location=turn.t("petition.has_location") if draft.latitude is not None else "",
    )


def _over(parts: list[str], text: str) -> bool:
    """Whether one more part would make the description longer than a case keeps."""
    return len("\n".join([*parts, text])) > cases.DESCRIPTION_MAX


def _too_long(turn: Turn, parts: list[str], text: str) -> Reply:
    kept = len("\n".join(parts))
    return turn.say("petition.part_too_long", length=len(text), kept=kept, limit=cases.DESCRIPTION_MAX)


@flow.step("describe", free_text=True)
async def describe(turn: Turn) -> Next:
    draft = _draft(turn)
    inbound = turn.inbound
    parts: list[str] = turn.data.setdefault("parts", [])
    if turn.choice == DONE or (inbound.kind == "text" and fold(turn.text) in ("xong", "het", "done", "gui")):
        if not parts and not draft.attachments:
            return goto("describe", turn.say("petition.description_empty"), _describe_question(turn))
        place = turn.data.get("place_typed")
        described = [turn.t("petition.place_typed", place=place), *parts] if place else parts
        draft.description = join_parts(described)
        became = draft.type != "to_cao" and is_denunciation(draft.description)
        if became:
            # Filed as a phản ánh, it denounces: it goes to the inspectorate, not to the commune.
            draft.type = "to_cao"
        _save(turn, draft)
        next_ = _ask_contact(turn)
        if became:
            next_.replies.insert(0, turn.say("petition.became_to_cao"))
        return next_
    attachment = inbound.kept_attachment()
    if attachment is not None:
        if len(draft.attachments) >= MAX_PHOTOS:
            return goto("describe", turn.say("petition.too_many_photos", limit=MAX_PHOTOS))
        draft.attachments.append(attachment)
        if turn.text:  # the caption, without invisible characters
            if _over(parts, turn.text):
                return goto("describe", _too_long(turn, parts, turn.text), _progress(turn, draft))
            parts.append(turn.text)
    elif inbound.kind == "location" and inbound.location:
        draft.latitude, draft.longitude = inbound.location
    elif inbound.kind == "text" and turn.text:
        if len(parts) >= MAX_PARTS:
            return goto("describe", turn.say("petition.too_long"), _progress(turn, draft))
        text = clean(turn.text)
        if _over(parts, text):
            # Kept whole or refused with its length, never cut (issue #14): what came before stays.
            return goto("describe", _too_long(turn, parts, text), _progress(turn, draft))
        parts.append(text)
    else:
        return goto("describe", turn.say("petition.describe_unsupported"), _describe_question(turn))
    _save(turn, draft)
    return goto("describe", _progress(turn, draft))


# --- contact ------------------------------------------------------------------------------------


def _ask_contact(turn: Turn) -> Next:
    draft = _draft(turn)
    if draft.type in CONTACT_REQUIRED:
        options = [turn.option("petition.anonymous_button", ANONYMOUS)] if draft.type == "to_cao" else []
        return goto("name", turn.say(f"petition.contact_required.{draft.type}", *options))
    known = turn.citizen.phone
    # "Không", "ko có" typed to the optional phone number skip it; "dạ có" takes the known number.
    options = [turn.option("petition.skip_button", SKIP, means="no")]
    if not known:
        return goto("phone", turn.say("petition.ask_phone_optional", *options))
    # The number is shown in the question only: button labels and values are stored with the
    # chat's tokens, and no personal data goes there.
    options.insert(0, turn.option("petition.use_known_phone", KNOWN_PHONE, means="yes"))
    return goto("phone", turn.say("petition.ask_phone_known", *options, phone=known))


@flow.step("name", free_text=True)
async def ask_name(turn: Turn) -> Next:
    draft = _draft(turn)
    if turn.choice == ANONYMOUS and draft.type == "to_cao":
        draft.anonymous = True
        _save(turn, draft)
        return _confirm(turn, turn.say("petition.anonymous_notice"))
    name = clean(turn.text)
    options = [turn.option("petition.anonymous_button", ANONYMOUS)] if draft.type == "to_cao" else []
    if len(name) < 2 or len(name) > 100 or any(ch.isdigit() for ch in name):
        return goto("name", turn.say("petition.name_again", *options))
    if not looks_like_name(name) and turn.data.get("doubted_name") != fold(name):
        # Asked once; typed the same again, it is taken: a real name is never refused for good.
        turn.data["doubted_name"] = fold(name)
        return goto("name", turn.say("petition.name_not_sentence", *options))
    draft.full_name = name
    _save(turn, draft)
    return goto("phone", turn.say("petition.ask_phone_required"))


def looks_like_name(text: str) -> bool:
    """Whether a text reads as a person's name, not a sentence ("làm giấy khai sinh cho con").

    A name is a few words of letters ("Thạch Thị Sô Phi", "Kim Sóc", "nguyen van huy", "Huy"),
    with no question mark or comma and none of the words a sentence needs (tôi, muốn, làm, cho...).
    """
    words = text.lower().split()
    if not 1 <= len(words) <= NAME_MAX_WORDS or any(not _NAME_WORD.fullmatch(word) for word in words):
        return False
    return not any(word in _NOT_NAME_WORDS for word in words)


@flow.step("phone")
async def ask_phone(turn: Turn) -> Next:
    draft = _draft(turn)
    required = draft.type in CONTACT_REQUIRED
    if not required and turn.choice == SKIP:
        return _confirm(turn)
    known = turn.citizen.phone if turn.choice == KNOWN_PHONE and not required else None
    raw = turn.inbound.phone or known or turn.text
    phone = normalise_phone(raw)
    if phone is None:
        key = "petition.phone_again_required" if required else "petition.phone_again_optional"
        options = () if required else (turn.option("petition.skip_button", SKIP, means="no"),)
        return goto("phone", turn.say(key, *options))
    draft.phone = phone
    if draft.type != "to_cao":
        # Offered again for the next petition; a denouncer's number never leaves their case.
        turn.citizen.phone = phone
        await turn.uow.citizens.save(turn.citizen)
    _save(turn, draft)
    if required:
        return goto("address", turn.say("petition.ask_address"))
    return _confirm(turn)


@flow.step("address", free_text=True)
async def ask_address(turn: Turn) -> Next:
    address = clean(turn.text)
    if len(address) < 3:
        return goto("address", turn.say("petition.address_again"))
    draft = _draft(turn)
    draft.address = address[:300]
    _save(turn, draft)
    return _confirm(turn)


def normalise_phone(text: str) -> str | None:
    digits = re.sub(r"[\s.\-()]", "", text or "")
    match = _PHONE.match(digits)
    return f"0{match.group(1)}" if match else None


# --- confirmation -------------------------------------------------------------------------------


def _summary(turn: Turn, draft: Draft) -> Reply:
    place = turn.services.routing.find(draft.unit_code)
    t = turn.t
    given = ", ".join(part for part in (draft.full_name, draft.phone, draft.address) if part)
    contact = t("petition.summary_anonymous") if draft.anonymous else (given or t("petition.summary_no_contact"))
    return turn.say(
        "petition.summary",
        turn.option("petition.send_button", SEND, means="yes"),  # "đúng rồi", "ok", "gửi đi" typed
        turn.option("petition.edit_button", EDIT),
        turn.option("petition.cancel_button", CANCEL),
        type=t(f"case_type.{draft.type}"),
        unit=place.name if place else draft.unit_code,
        description=cases.excerpt(draft.description or t("petition.photos_only"), 600),
        photos=len(draft.attachments),
        location=t("petition.location_yes") if draft.latitude is not None else t("petition.no_location"),
        contact=contact,
    )


def _confirm(turn: Turn, *before: Reply) -> Next:
    return goto("confirm", *before, _summary(turn, _draft(turn)))


@flow.step("confirm")
async def confirm(turn: Turn) -> Next:
    draft = _draft(turn)
    if turn.choice == CANCEL:
        return done(turn.say("dialog.cancelled"), menu(turn))
    if turn.choice == EDIT:
        # The words are typed again; the photos and the location stay (sent once, often from
        # the field), and the person is told so.
        turn.data["parts"] = []
        draft.description = ""
        _save(turn, draft)
        if draft.attachments or draft.latitude is not None:
            kept = turn.say("petition.edit_description_kept", photos=len(draft.attachments))
            return goto("describe", kept, _progress(turn, draft))
        return goto("describe", turn.say("petition.edit_description"), _describe_question(turn))
    if turn.choice != SEND:
        return goto("confirm", turn.say("petition.confirm_again"), _summary(turn, draft))
    case = await cases.file_case(
        turn.uow, turn.services, turn.citizen, turn.inbound.channel, turn.inbound.chat_id, draft
    )
    if turn.data.get("faq_log"):
        log = await turn.uow.faq.get_log(int(turn.data["faq_log"]))
        if log is not None:
            log.forwarded_case_id = case.id
            await turn.uow.faq.log(log)
    due = case.final_due or case.first_due
    key = "petition.received_tip" if draft.anonymous else "petition.received"
    return done(
        turn.say(key, code=case.code, due=due.strftime("%d/%m/%Y"), type=turn.t(f"case_type.{case.type}")),
        *_window_note(turn, draft),
        menu(turn, "menu.after_case"),
    )


def _window_note(turn: Turn, draft: cases.Draft) -> list[Reply]:
    """On a channel that may answer only for a while after the person's last message (the Zalo
    OA), say how notices reach them after that: by a notification to the phone number they gave,
    where the channel sends those, else when they next write."""
    channel = turn.inbound.channel
    window = turn.services.reply_windows.get(channel)
    if window is None:
        return []
    by_phone = (
        channel in turn.services.template_notices
        and international_phone(draft.phone) is not None
        and not draft.anonymous
    )
    key = "petition.window_note_phone" if by_phone else "petition.window_note"
    return [turn.say(key, days=max(1, round(window.total_seconds() / 86400)))]


# --- one step back ------------------------------------------------------------------------------


@flow.back
async def back(turn: Turn, step: str) -> Next | None:
    """ "quay lại" typed: the question before this one, with what was given kept.

    None at the first question: there is nothing before it, so it cancels as before.
    """
    draft = _draft(turn) if "draft" in turn.data else None
    if draft is None or step in ("begin", "consent", "type"):
        return None
    if step == "unit":
        if draft.type == "hoi_dap" or turn.data.get("preset"):
            return None  # the type was not asked: the commune is the first question
        return goto("type", turn.say("petition.went_back"), _type_question(turn))
    if step == "describe":
        return goto("unit", turn.say("petition.went_back"), _unit_question(turn))
    if step in ("name", "phone") or (step == "confirm" and draft.type not in CONTACT_REQUIRED):
        if draft.type == "hoi_dap" and step != "confirm":
            return goto("unit", turn.say("petition.went_back"), _unit_question(turn))
        if step == "confirm":
            next_ = _ask_contact(turn)
            next_.replies.insert(0, turn.say("petition.went_back"))
            return next_
        return goto("describe", turn.say("petition.went_back"), _progress(turn, draft))
    if step == "address":
        return goto("phone", turn.say("petition.went_back"), turn.say("petition.ask_phone_required"))
    if step == "confirm":
        return goto("address", turn.say("petition.went_back"), turn.say("petition.ask_address"))
    return None
