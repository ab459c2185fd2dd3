"""The Textual TUI: attaches to the service, shows live runs, sends operator commands.

`app.KilnApp` is the application; the widgets and dialogs live in their own modules,
the stylesheet in kilnctl.tcss. Detaching (q) never stops a run.
"""

from __future__ import annotations
