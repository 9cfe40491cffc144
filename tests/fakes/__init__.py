"""In-process fakes of the services tiepdan talks to, for tests and benchmarks."""

from tests.fakes.telegram_api import BotEvent, FakeTelegram, SentMessage, StoredFile, Upload, WebhookDelivery

__all__ = ["BotEvent", "FakeTelegram", "SentMessage", "StoredFile", "Upload", "WebhookDelivery"]
