"""Hot-path helpers with compiled (Cython) and pure-Python twins; import the selector modules."""
