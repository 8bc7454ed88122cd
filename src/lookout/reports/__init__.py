"""HTML for people: Evidently drift reports on disk and an index page per monitor."""
