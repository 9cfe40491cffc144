"""The ceiling of the load benchmark: a bare python-telegram-bot echo bot.

Run by bench/load_bench.py as a subprocess against the loopback fake Bot API, the same way as
tiepdan itself (``python -m bot run``):

    .venv/bin/python bench/echo_bot.py --token 123456:TEST --base-url http://127.0.0.1:PORT/bot

A plain ``Application`` with PTB's defaults (no rate limiter, updates handled one after the
other as PTB does unless told otherwise; ``--concurrent`` sets ``concurrent_updates(True)``):
a ``MessageHandler`` sends every text (commands included) back, a ``CallbackQueryHandler``
answers every button press. It polls as
``run_polling`` does, with ``start_polling(poll_interval=0)``, and stops on SIGTERM or SIGINT.
No database, no state: what is left of a bot when everything tiepdan does is taken away.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the text back to its chat."""
    message = update.effective_message
    if message is not None and message.text:
        await message.reply_text(message.text)


async def answer(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """Acknowledge a pressed button."""
    if update.callback_query is not None:
        await update.callback_query.answer()


async def serve(token: str, base_url: str, poll_timeout: int, *, concurrent: bool) -> None:
    """Poll until SIGTERM/SIGINT, then stop cleanly."""
    file_url = base_url[: -len("bot")] + "file/bot" if base_url.endswith("/bot") else base_url
    builder = Application.builder().token(token).base_url(base_url).base_file_url(file_url)
    if concurrent:
        builder = builder.concurrent_updates(True)
    application = builder.build()
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.add_handler(CallbackQueryHandler(answer))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=poll_timeout)
        await stop.wait()
        await application.updater.stop()
        await application.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--token", required=True)
    parser.add_argument("--base-url", required=True, help="the Bot API's base URL, ending in /bot")
    parser.add_argument("--poll-timeout", type=int, default=10, help="getUpdates long-poll seconds (PTB's default)")
    parser.add_argument(
        "--concurrent", action="store_true", help="handle up to 256 updates at once (concurrent_updates=True)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(args.token, args.base_url, args.poll_timeout, concurrent=args.concurrent))


if __name__ == "__main__":
    main()
