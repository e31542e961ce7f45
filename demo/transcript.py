"""What the demo prints: who did what, and boxes for what a person sees."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class Transcript:
    def __init__(self, out: Callable[[str], None]) -> None:
        self.out = out

    def say(self, who: str, text: str) -> None:
        self.out(f"{who:<14} {text}")

    def box(self, title: str, lines: list[str]) -> None:
        self.out(f"\n┌─ {title}")
        for line in lines:
            for part in line.splitlines() or [""]:
                self.out(f"│ {part}")
        self.out("└" + "─" * 60)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


async def wait_for(check: Callable[[], object], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError("the demo stalled waiting for the bot")
        await asyncio.sleep(0.02)
