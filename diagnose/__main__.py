"""Entry point. `--version` is answered before typer, requests, rich or yaml are imported."""

import sys


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):
        from airflow_doctor import __version__

        print(f"airflow-doctor {__version__}")
        return
    from airflow_doctor.cli import run

    run()


if __name__ == "__main__":
    main()
