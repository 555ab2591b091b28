"""``python -m picture_schedule``."""

from .cli import main

main(prog_name="picture-schedule")
