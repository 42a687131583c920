"""Entry point. `--version` is answered before typer, requests, rich or yaml are imported (and the extras are
found from their metadata, never imported)."""

import sys


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):
        from airflow_doctor.version import version_text

        print(version_text())
        return
    from airflow_doctor.cli import run

    run()


if __name__ == "__main__":
    main()
