"""`python -m privline ...`: the same command line as the `privline` script."""

from privline.entrypoints.cli import main

main()
