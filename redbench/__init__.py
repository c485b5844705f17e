"""redbench: reproduce RED and benchmark video vs static face alignment on matched frames."""

__version__ = "0.1.0"
