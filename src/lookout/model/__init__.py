"""Pure types shared by every layer: metric families, (later) windows, alerts, messages."""
