"""The soak scenario: two weeks of realistic LLM-assistant traffic with injected incidents
(`generate.py`, `scenario.py`), Lookout run over it window by window, and a scorer that says
how fast each incident was detected and resolved and how many alerts were false (`score.py`,
`scoring.py`). See README.md in this folder."""
