"""``lux_consensus.network``, as the Lux docs import it: ``Network`` and ``NetworkConfig``."""

from luxsim.network import Network, NetworkConfig

__all__ = ["Network", "NetworkConfig"]
