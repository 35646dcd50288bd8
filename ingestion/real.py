"""Land the real public samples as a new user would: copy each export into its feed's folder.

`python -m ingestion.real --home DIR` copies (never moves) the files of the public samples
(Olist, Telco churn, Customer Support on Twitter, Qualtrics; see
../shared/data/real/README.md) into `DIR/landing/<feed>/` for every feed declared in the
real-sample registry (`ingestion/sources/real/`). Which file goes where is decided by each
declaration's `file_pattern`, matched against the file names of the sample folder, so a new
declaration needs no change here. Then `python -m orchestration.cli refresh` with
`CXMART_SOURCES=ingestion/sources/real` runs the whole pipeline on them.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ingestion import paths
from ingestion.registry import Feed, load_registry

# the shared folder that sits beside a checkout of this repository
DEFAULT_REAL_DATA = paths.REPO_ROOT.parent / "shared" / "data" / "real"
REAL_SOURCES = paths.REPO_ROOT / "ingestion" / "sources" / "real"


@dataclass(frozen=True)
class LandedSample:
    feed: str
    source: Path
    target: Path
    copied: bool  # False: an identical file was already there


def real_data_dir() -> Path:
    """Where the public samples are: `CXMART_REAL_DATA`, or the project's shared copy."""
    configured = os.environ.get("CXMART_REAL_DATA")
    return Path(configured).resolve() if configured else DEFAULT_REAL_DATA


def sample_files(source: Path, feed: Feed) -> list[Path]:
    """Files under `source` whose name matches the feed's pattern, in a stable order."""
    pattern = PurePosixPath(feed.file_pattern).name
    return sorted(
        path
        for path in source.rglob("*")
        if path.is_file()
        and not path.name.startswith(".")
        and PurePosixPath(path.name).match(pattern)
    )


def land_samples(source: Path, home: Path, feeds: list[Feed]) -> list[LandedSample]:
    """Copy every sample file into landing/<feed>/ of each feed whose pattern it matches."""
    if not source.is_dir():
        raise FileNotFoundError(
            f"{source}: sample folder not found; pass --from DIR or set CXMART_REAL_DATA"
        )
    landed: list[LandedSample] = []
    for feed in feeds:
        folder = paths.landing_dir(home) / feed.name
        for sample in sample_files(source, feed):
            target = folder / sample.name
            unchanged = target.is_file() and filecmp.cmp(sample, target, shallow=False)
            if not unchanged:
                folder.mkdir(parents=True, exist_ok=True)
                # copyfile, not copy2: the shared samples are read-only and a landed file
                # must stay replaceable by a corrected delivery.
                shutil.copyfile(sample, target)
            landed.append(LandedSample(feed.name, sample, target, copied=not unchanged))
    return landed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ingestion.real",
        description="Copy the real public samples into the landing folders of their feeds.",
    )
    parser.add_argument(
        "--home", type=Path, default=None, help="data home (default: CXMART_HOME or ./data)"
    )
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        default=None,
        help=f"folder of the samples (default: CXMART_REAL_DATA or {DEFAULT_REAL_DATA})",
    )
    parser.add_argument(
        "--sources",
        type=Path,
        default=None,
        help="feed declarations (default: CXMART_SOURCES or ingestion/sources/real)",
    )
    arguments = parser.parse_args(argv)
    home = arguments.home.resolve() if arguments.home else paths.cxmart_home()
    source = arguments.source.resolve() if arguments.source else real_data_dir()
    registry = arguments.sources or (
        paths.sources_dir() if os.environ.get("CXMART_SOURCES") else REAL_SOURCES
    )
    feeds = load_registry(registry.resolve())
    try:
        landed = land_samples(source, home, feeds)
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 1
    for sample in landed:
        action = "copied" if sample.copied else "already there"
        print(f"{sample.feed:<24} {sample.source.relative_to(source)} ({action})")
    without_files = sorted({feed.name for feed in feeds} - {sample.feed for sample in landed})
    for feed_name in without_files:
        print(f"{feed_name:<24} no sample file matches its file_pattern", file=sys.stderr)
    print(f"Landed {len(landed)} file(s) in {paths.landing_dir(home)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
