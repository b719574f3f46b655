"""The seeds' own APIs, spoken by lamina: ``lamina.compat.slugnet`` and ``lamina.compat.tinynet``.

Code written against slugnet or tinynet runs on lamina with only the import prefix changed
(``slugnet.`` -> ``lamina.compat.slugnet.``, ``tinynet.`` -> ``lamina.compat.tinynet.``). Each
adapter translates arguments and conventions and calls lamina's kernels, layers and training
loop; none of them computes anything lamina does not already compute. The choices made
where the original documentation is silent are listed in each package's docstring.
"""
