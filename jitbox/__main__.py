"""``python -m jitbox``: the same command line as the ``jitbox`` script."""

from jitbox.cli import main

main()
