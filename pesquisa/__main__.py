"""Allow `python -m pesquisa`, which is how the scheduler starts crawl subprocesses."""

from pesquisa.cli import main

main()
