"""The seeds' own APIs, spoken by lamina: ``lamina.compat.slugnet`` and ``lamina.compat.tinynet``.

Code written against slugnet or tinynet runs on lamina with only the import prefix changed
(``slugnet.`` -> ``lamina.compat.slugnet.``, ``tinynet.`` -> ``lamina.compat.tinynet.``). Each
adapter translates arguments and conventions and calls lamina's kernels, layers and training
loop; none of them computes anything lamina does not already compute. They behave as the
originals' code does; each package's docstring lists, as a table, every place where an
adapter deliberately differs.
"""
