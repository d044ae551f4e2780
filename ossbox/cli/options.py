"""Options several commands share."""

from __future__ import annotations

from pathlib import Path

import click

DEFAULT_DATA_DIR = "./ossbox-data"

data_dir_option = click.option(
    "--data-dir",
    envvar="OSSBOX_DATA_DIR",
    default=DEFAULT_DATA_DIR,
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory holding all data and metadata [env OSSBOX_DATA_DIR].",
)
