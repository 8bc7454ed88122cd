"""Releases side by side: statistics (pure), the comparison of two releases, the gate."""
