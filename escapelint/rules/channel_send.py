"""The value, or a pointer to it, is sent on a channel.

## What it does
Flags allocations whose explanation ends in a channel send (`ch <- &T{}`): the receiver may run on
another goroutine and keep the value, so it must be on the heap.

## Why is this bad?
One allocation per message. For high-rate channels that becomes garbage-collector load.

## Example
```go
func Produce(ch chan<- *Event) {
	ch <- &Event{At: time.Now()} // escapes: sent
}
```

## Use instead
```go
func Produce(ch chan<- Event) {
	ch <- Event{At: time.Now()} // send the value; the channel buffer holds it
}
```

## Known problems
Sending values copies them; for large messages a pointer (or a pool of reusable messages) is better.
"""

from __future__ import annotations

from escapelint.analyze.evidence import Evidence
from escapelint.rules.base import Claim, where

ID = "channel-send"
TITLE = "Sent on a channel"
FIX = "Send values instead of pointers when they are small; pool large messages."


def claim(evidence: Evidence) -> Claim | None:
    step = evidence.destination
    if step is not None and step.reason == "send":
        return Claim(f"sent on a channel: {where(step)}", step)
    return None
