"""Running unattended: ``serve`` (the schedule loop), its ``journal``, ``status`` (the health
probe), ``logs``, ``office_hours`` and the ``failure_notice`` email.
"""
