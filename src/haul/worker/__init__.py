"""The worker: schedules, runs and watches downloads (the built-in jobs and what external
clients hold), records how they end and files what finished. The bytes move in
:mod:`haul.engine`; the rows live behind :mod:`haul.store.jobs`."""
