"""The one hook the core (and the adapters) report measurements through.

The core says what happened in plain names; bot/metrics.py turns it into Prometheus series. Nothing
outside bot/metrics.py imports prometheus_client, and the default here does nothing, so tests and
tools that don't care pass nothing.
"""

from __future__ import annotations

from typing import Protocol

# Counters (count): name -> the labels it carries.
ESCALATIONS = "escalations"  # urgency
CLAIMS = "claims"  # outcome: won | already_yours | lost | refused
NUDGES = "nudges"  # kind: thread | target_dm | admin_dm | first_action
MODEL_CALLS = "model_calls"  # outcome: ok | <AssessmentError.kind>
MODEL_TOKENS = "model_tokens"  # direction: input | output
PLATFORM_CALLS = "platform_calls"  # platform, method, outcome: ok | rate_limited | error

# Histograms (observe), in seconds.
ACK_LATENCY = "ack_latency"  # route
TIME_TO_PICKUP = "time_to_pickup"
TIME_TO_FIRST_ACTION = "time_to_first_action"
MODEL_LATENCY = "model_latency"
CARD_LAG = "card_lag"  # platform: a state change until the card shows it


class Telemetry(Protocol):
    def count(self, name: str, value: float = 1, **labels: str) -> None: ...

    def observe(self, name: str, value: float, **labels: str) -> None: ...


class NoTelemetry:
    """Measures nothing."""

    def count(self, name: str, value: float = 1, **labels: str) -> None:
        return None

    def observe(self, name: str, value: float, **labels: str) -> None:
        return None
