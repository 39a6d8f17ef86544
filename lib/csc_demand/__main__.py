import sys

from csc_demand.cli import main

sys.exit(main())
