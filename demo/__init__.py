"""`handoff demo`: the whole flow played out locally on the stand-ins (standins/), printed as a transcript."""
