"""Where a profile comes from. `profile.py` is what a profile is (the only module checks and platforms import);
the others make one: a profiles file (`profiles_file.py` finds and chooses, `builder.py` builds one profile from the
YAML that `yaml_safe.py` read defensively), `--url` options (`url.py`), a curl command (`curl.py`), `init`'s
questions (`init.py`, saved by `store.py`), and `--payload`/`--conf` (`payload.py`). None imports the sandbox."""
