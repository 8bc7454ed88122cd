"""Notifications: the neutral message, the outbox and its delivery, formats and channels."""
