"""`python -m ce_cli` runs the ce-loss command line."""

from .cli import script

if __name__ == "__main__":
    script()
