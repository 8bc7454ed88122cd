"""Deployment entry point (see deployments/prefect.yaml); the flow lives in the package."""

from lookout.flows.nightly import nightly

__all__ = ["nightly"]

if __name__ == "__main__":
    nightly()
