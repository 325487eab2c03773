"""numpy references of every primitive kernel: the test oracles (slow, obvious, float64-exact)."""
