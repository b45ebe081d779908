"""python -m sapphire_trainer — see sapphire_trainer.cli."""

import sys

from .cli import main

sys.exit(main())
