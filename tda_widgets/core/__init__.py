"""The bottom floor: option declarations (:mod:`.options`), errors, text rules
(:mod:`.markup`), progress and cancellation, the task scheduler, rich display and one byte
formatter (:mod:`.formatting`). Imports nothing else of the package (tests/test_layering.py)."""
