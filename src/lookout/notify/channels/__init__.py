"""Where messages go: Slack (bot or webhook), email, PagerDuty, files."""
