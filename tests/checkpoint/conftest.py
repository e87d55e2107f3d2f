import sys
from pathlib import Path

# The crash helpers live beside the tests that use them.
sys.path.insert(0, str(Path(__file__).parent))
