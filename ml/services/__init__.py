"""ML use cases, one module per idea: ``sam`` (click → mask), ``propagation`` (SAM chains),
``registry`` (organization models), ``inference`` (batch inference and its records),
``auto_annotation`` and ``evaluation``."""
