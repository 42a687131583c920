"""The check registry. Its order is the order checks run in, each building on the facts of those before."""

from checks import reachability

CHECKS = (reachability.Check(),)

CHECK_IDS = tuple(check.id for check in CHECKS)
