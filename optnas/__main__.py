import sys

from optnas.cli import main

sys.exit(main())
