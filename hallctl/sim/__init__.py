"""The hall simulator (``hallctl simulate``): the real core driven by simulated citizens on a virtual clock.

``simulate(config, demand, days, seed)`` is the entry point; see docs/simulator.md.
"""

from hallctl.sim.default_demand import default_demand
from hallctl.sim.demand import Demand, DemandError, load_profile, parse_profile
from hallctl.sim.plan import Shift, WindowPlan, shift
from hallctl.sim.results import SimResult, summarize
from hallctl.sim.runs import simulate

__all__ = [
    "Demand",
    "DemandError",
    "Shift",
    "SimResult",
    "WindowPlan",
    "default_demand",
    "load_profile",
    "parse_profile",
    "shift",
    "simulate",
    "summarize",
]
