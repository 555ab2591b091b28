"""``python -m picture_schedule``."""

from picture_schedule.cli.main import main

main(prog_name="picture-schedule")
