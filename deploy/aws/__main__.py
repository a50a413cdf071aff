import sys

from deploy.aws.cli import main

sys.exit(main())
