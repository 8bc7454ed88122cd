"""One renderer per channel syntax: Block Kit, plain text, HTML (email), PagerDuty events."""
