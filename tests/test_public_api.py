"""The public surface changes only on purpose."""

import lookout


def test_exported_names():
    assert sorted(lookout.__all__) == [
        "CheckError",
        "ConfigError",
        "Context",
        "DeliveryError",
        "LookoutConfig",
        "LookoutError",
        "RunResult",
        "SourceError",
        "StoreError",
        "Window",
        "__version__",
        "load_config",
        "plan_windows",
        "run_window",
    ]
    for name in lookout.__all__:
        assert hasattr(lookout, name)


def test_error_hierarchy():
    for error in (
        lookout.ConfigError,
        lookout.SourceError,
        lookout.StoreError,
        lookout.CheckError,
        lookout.DeliveryError,
    ):
        assert issubclass(error, lookout.LookoutError)


def test_importing_lookout_does_not_import_prefect():
    import subprocess
    import sys

    code = "import lookout, sys; print('prefect' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
