"""Device simulators: physics models, protocol servers and fault injection.

This package is the other side of the wire: it imports neither kilnctl nor drivers.
"""
