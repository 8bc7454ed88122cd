"""Deployment entry point (see deployments/prefect.yaml); the flow lives in the package."""

from lookout.flows.hourly import hourly

__all__ = ["hourly"]

if __name__ == "__main__":
    hourly()
