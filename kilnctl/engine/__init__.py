"""The profile engine: firing schedules, plating steps, jobs, interlocks and alarms,
driven by messages (commands in, events out). No UI code lives here.

Entry point: `kilnctl.engine.engine.Engine`; messages in `kilnctl.engine.messages`.
"""
