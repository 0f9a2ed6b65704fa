"""The PBX simulator: a stand-in for Asterisk 20 over the real wire protocols (FastAGI client,
AMI server), simulated callers and traffic, simulated agents on the Socket.IO desktop, and the
ground truth of every call to check the server against."""

from contactcenter.simulator.agi_commands import AgiTiming
from contactcenter.simulator.pbx import SimulatedPbx
from contactcenter.simulator.truth import CallTruth, GroundTruth

__all__ = ["AgiTiming", "CallTruth", "GroundTruth", "SimulatedPbx"]
