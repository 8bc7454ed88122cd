"""The stages of a window run (ops metrics, validation, drift, evaluators), one folder each,
behind one protocol (`lookout.stages.base`), listed in `lookout.stages.registry`."""
