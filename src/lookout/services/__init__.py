"""What the CLI and the flows share, one module per service (`init`: propose a monitor)."""
