"""kilnctl: process control for the kiln room and plating line of an enamel-pin factory."""

__version__ = "0.1.0"
