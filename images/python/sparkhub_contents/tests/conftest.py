import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the sparkhub_contents package
sys.path.insert(0, HERE)

import launchnotebook_standin  # noqa: E402

launchnotebook_standin.install()
