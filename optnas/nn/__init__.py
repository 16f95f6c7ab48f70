"""Runtime modules of optnas networks.

Every file in this package imports only ``torch`` (and the standard library) and its siblings by
relative import: it is the code that `optnas export` copies into a stand-alone ``model.py``.
Registries, certification and search live outside it.
"""
