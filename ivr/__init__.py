"""IVR flow engine: flows are pure generators of actions (ivr.actions), run over FastAGI."""
