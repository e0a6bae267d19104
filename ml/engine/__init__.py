"""Model code that runs only in ML workers (never imported by the web process's request path).

``sam``: SAM 2.1 image and video predictors with the embedding cache; ``torchscript``:
organizations' own models and their I/O contract; ``devices``: device and autocast choice.
"""
