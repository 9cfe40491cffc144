"""Tiếp dân: the core (config, dialog runtime, services, transports, CLI)."""

import os

# python-telegram-bot 22 warns unless it may already hand out retry_after as a timedelta.
os.environ.setdefault("PTB_TIMEDELTA", "1")
