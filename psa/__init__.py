"""Notes in the client's PSA ticket (ConnectWise PSA, Autotask, HaloPSA), written as outbox jobs.

core/ never imports this package: the core enqueues generic `psa.note` jobs and bot/services.py
registers this package's runner for them, as it does for assessments.
"""
