"""The pure core: no I/O, no adapters; what stages, rules and reports build on."""
