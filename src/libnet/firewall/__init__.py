"""libnet's firewall: published ports, masquerade, ICC, isolation and
internal networks on nf_tables sets and maps (fixed chains; see ``layout``
for the ruleset it produces).

``Firewall`` is the interface the controller and the bridge driver use;
``NftFirewall(host_netns)`` implements it, ``NoFirewall`` and
``RecordingFirewall`` are the no-op and the recording stub.

Call order: ``ensure()`` once at start (then ``reconcile(stored mappings)``);
``add_network`` after the bridge exists, ``remove_network`` before it goes;
``publish`` when an endpoint joins (all its ports, one transaction) and
``unpublish`` when it leaves.
"""

from .api import (ANY4, ANY6, Firewall, FirewallNetwork, NoFirewall, PortMapping, PublishRequest,
                  Reconciliation, RecordingFirewall)
from .nft import PROTOCOLS, NftFirewall

__all__ = ["Firewall", "FirewallNetwork", "PublishRequest", "PortMapping", "Reconciliation",
           "NftFirewall", "NoFirewall", "RecordingFirewall", "ANY4", "ANY6", "PROTOCOLS"]
