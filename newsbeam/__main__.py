import sys

from newsbeam.cli import main

sys.exit(main())
