"""Background work, supervised (issue #12 §3): one worker per party process, jobs under database leases.

- ``registry``: the jobs of each party (name, interval, callable), declared by ``anchorid.<party>.jobs``;
- ``leases``: a job's lease in the party's database (``anchorid_common_joblease``), taken with one conditional
  UPDATE, so two workers on one database (two machines) never run a job at once, and a killed worker's lease
  expires and another worker takes the job over;
- ``heartbeat``: the row each running worker keeps fresh (``anchorid_common_workerheartbeat``), read by
  ``/readyz``;
- ``supervisor``: the loop that runs a party's jobs (a thread per job) and beats;
- ``embedded``: the worker as a supervised child of ``anchorid serve PARTY`` (restarted with backoff when it dies).

``anchorid worker PARTY --data DIR`` runs the same worker in the foreground (production: one or more per party,
beside ``anchorid serve PARTY --no-worker``). See docs/worker.md.
"""
