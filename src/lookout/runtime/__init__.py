"""Running a window: its alert stage, its messages, and what orchestrators share."""
