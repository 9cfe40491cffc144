"""The Telegram transport, built on python-telegram-bot.

PTB does the HTTP work: polling or a webhook (its secret token checked),
rate limiting, retries. This module only turns PTB's Update into an
:class:`Inbound` for the dialog engine, renders :class:`Outgoing` messages as
HTML with inline keyboards whose callback data are opaque tokens, and maps
Telegram's errors onto the outbox's retry policy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType, MessageLimit, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, Defaults, TypeHandler

from bot.app import App
from bot.dialog.types import Inbound, Outgoing
from bot.transports.base import DeliveryError, split_text

log = logging.getLogger(__name__)

CHANNEL = "telegram"


def file_url_for(base_url: str) -> str:
    """PTB's base_file_url that goes with a custom base_url ("…/bot" -> "…/file/bot")."""
    return base_url[: -len("bot")] + "file/bot" if base_url.endswith("/bot") else base_url


def to_inbound(update: Update) -> Inbound | None:
    """The channel-neutral event for a Telegram update, or None for what we ignore."""
    update_id = str(update.update_id)
    query = update.callback_query
    if query is not None:
        chat = query.message.chat if query.message is not None else None
        if chat is None or chat.type != ChatType.PRIVATE:
            return None
        return Inbound(
            channel=CHANNEL,
            update_id=update_id,
            chat_id=str(chat.id),
            user_id=str(query.from_user.id),
            kind="choice",
            token=query.data or "",
            display_name=query.from_user.full_name,
        )
    message = update.message
    if message is None or message.chat.type != ChatType.PRIVATE or message.from_user is None:
        return None
    base: dict[str, Any] = {
        "channel": CHANNEL,
        "update_id": update_id,
        "chat_id": str(message.chat.id),
        "user_id": str(message.from_user.id),
        "display_name": message.from_user.full_name,
    }
    return Inbound(**base, **_content(message))


def _content(message: Message) -> dict[str, Any]:
    if message.text is not None:
        text = message.text
        entity = message.entities[0] if message.entities else None
        if entity is not None and entity.type == "bot_command" and entity.offset == 0:
            command = text[1 : entity.length].split("@", 1)[0].lower()
            return {"kind": "command", "text": text, "command": command, "args": text[entity.length :].strip()}
        return {"kind": "text", "text": text}
    if message.photo:
        return {"kind": "photo", "attachment": message.photo[-1].file_id, "text": message.caption}
    if message.location is not None:
        return {"kind": "location", "location": (message.location.latitude, message.location.longitude)}
    if message.contact is not None:
        own = message.from_user is not None and message.contact.user_id == message.from_user.id
        if own:
            return {"kind": "contact", "phone": message.contact.phone_number}
        return {"kind": "other", "other": "contact"}
    for kind in ("sticker", "voice", "audio", "video", "video_note", "document", "animation", "poll"):
        if getattr(message, kind, None):
            return {"kind": "other", "other": kind}
    return {"kind": "other", "other": "unknown"}


def keyboard(message: Outgoing) -> InlineKeyboardMarkup | None:
    if not message.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(button.label, callback_data=button.token) for button in row] for row in message.buttons]
    )


class TelegramTransport:
    channel = CHANNEL

    def __init__(self, app: App, on_committed: Callable[[], None] = lambda: None) -> None:
        self.app = app
        self.on_committed = on_committed
        config = app.config.telegram
        builder = (
            ApplicationBuilder()
            .token(config.token)
            .rate_limiter(AIORateLimiter(max_retries=0))
            .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=app.config.deployment.tz))
        )
        if config.base_url:
            builder = builder.base_url(config.base_url).base_file_url(file_url_for(config.base_url))
        self.application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self.application.add_handler(TypeHandler(Update, self.on_update))
        self.application.add_error_handler(self.on_error)

    async def on_update(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not isinstance(update, Update):
            return
        inbound = to_inbound(update)
        if inbound is None:
            return
        result = await self.app.engine.handle(inbound)
        self.on_committed()
        query = update.callback_query
        if query is not None:
            await _quietly(query.answer(result.notice))
            if result.messages and query.message is not None and not result.duplicate:
                await _quietly(query.edit_message_reply_markup(reply_markup=None))
        for message in result.messages:
            try:
                await self.send(message)
            except TelegramError:
                # The reply is lost but the step's effects are committed: the person can see the
                # state with /hoso. Logged without the text (it may hold personal data).
                log.exception("could not send a reply on telegram")

    async def send(self, message: Outgoing) -> None:
        bot = self.application.bot
        chat_id = int(message.chat_id)
        markup = keyboard(message)
        if message.file:
            path = Path(message.file)
            if message.file_kind == "photo":
                await bot.send_photo(chat_id, path, caption=message.text[:1000] or None, reply_markup=markup)
            else:
                await bot.send_document(
                    chat_id, path, caption=message.text[:1000] or None, filename=path.name, reply_markup=markup
                )
            return
        if message.photo:
            await bot.send_photo(chat_id, message.photo, caption=message.text[:1000], reply_markup=markup)
            return
        pieces = split_text(message.text, MessageLimit.MAX_TEXT_LENGTH)
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            await bot.send_message(chat_id, piece, reply_markup=markup if last else None)

    async def deliver(self, message: Outgoing) -> None:
        """Outbox delivery: Telegram's errors as retryable or permanent."""
        try:
            await self.send(message)
        except RetryAfter as exc:
            retry = exc.retry_after
            seconds = retry.total_seconds() if hasattr(retry, "total_seconds") else float(retry)
            raise DeliveryError("rate limited", retry_after=seconds) from exc
        except Forbidden as exc:
            raise DeliveryError(f"forbidden: {exc.message}", permanent=True) from exc
        except BadRequest as exc:
            raise DeliveryError(f"bad request: {exc.message}", permanent=True) from exc
        except (TimedOut, NetworkError) as exc:
            raise DeliveryError(f"network: {exc}") from exc
        except FileNotFoundError as exc:
            raise DeliveryError(f"file missing: {exc.filename}", permanent=True) from exc

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("error while handling a telegram update", exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            text = self.app.services.catalog.text(self.app.config.deployment.language, "dialog.error")
            await _quietly(self.application.bot.send_message(update.effective_chat.id, text))

    async def start(self) -> None:
        config = self.app.config.telegram
        await self.application.initialize()
        await self.application.start()
        updater = self.application.updater
        assert updater is not None
        if config.mode == "webhook":
            await updater.start_webhook(
                listen=config.webhook_listen,
                port=config.webhook_port,
                url_path="telegram",
                secret_token=config.webhook_secret or None,
                webhook_url=config.webhook_url,
                allowed_updates=["message", "callback_query"],
            )
        else:
            await updater.start_polling(poll_interval=0.0, timeout=10, allowed_updates=["message", "callback_query"])

    async def stop(self) -> None:
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()


async def _quietly(awaitable: Any) -> None:
    try:
        await awaitable
    except TelegramError as exc:
        log.info("telegram call failed: %s", exc)
