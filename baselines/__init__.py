"""Hand-designed necks, registered by name through the `archsearch.necks` entry point.

Importing this package registers every baseline: the fusion graphs ``fpn``, ``panet``,
``bifpn``, ``nasfpn`` and ``hrfpn`` (`archsearch.graph.build_graph`), and the module neck
``pconv`` (`archsearch.neck.catalog`). Build any of them, or ``dense``, with
`archsearch.neck.build_neck`.
"""

from baselines import bifpn, fpn, hrfpn, nasfpn, panet, pconv

__all__ = ["bifpn", "fpn", "hrfpn", "nasfpn", "panet", "pconv"]
