"""The ground floor: the file contracts every stage reads and writes (``docs/architecture.md``).

Stages talk only through files. This package owns those files' shapes: where each artifact lives
(:mod:`.paths`), one reader per contract (:mod:`.shards`, :mod:`.generations`, :mod:`.transcoder`,
:mod:`.features`, ...), and one atomic writer per format (:mod:`.write`). Stage packages import it,
``r1interp.models`` and ``r1interp.config``, never each other (``tests/test_architecture_imports.py``).
"""
