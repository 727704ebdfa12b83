"""`python -m ce_cli` runs the ce-loss command line."""

from .cli import main

if __name__ == "__main__":
    main()
