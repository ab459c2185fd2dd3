"""`python -m kilnctl` is the `kilnctl` command."""

import sys

from kilnctl.cli.main import main

sys.exit(main())
