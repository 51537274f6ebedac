"""Everything a stage reads: raw tables validated, ingested tables opened, the model loaded.

Stages import these modules, never each other. Each function reads files (or asks MLflow)
and returns typed values for the pure code; none of them writes. The modules are small so
that each DVC stage depends on the readers it uses only.
"""
