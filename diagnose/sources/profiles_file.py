"""The profiles file: where it is (--profiles-file, $AIRFLOW_DOCTOR_PROFILES, ~/.config), reading it, and choosing the
profile a command asked for (--profile, $AIRFLOW_DOCTOR_PROFILE, default_profile, the only one).

This module knows nothing of the sandbox: `--profile sandbox` is resolved by the CLI, which hands the running
sandboxes to `sandbox_profile`, so reading a profile never imports the code that installs Airflow.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Protocol, Sequence

from airflow_doctor.errors import ProfileError
from airflow_doctor.secrets import REGISTRY, SecretRegistry
from airflow_doctor.sources.builder import auth_type_of, build_profile
from airflow_doctor.sources.profile import Profile
from airflow_doctor.sources.yaml_safe import Node, check_keys, kind_of, load_yaml, mapping_of

ENV_PROFILES_FILE = "AIRFLOW_DOCTOR_PROFILES"
ENV_PROFILE = "AIRFLOW_DOCTOR_PROFILE"
MAX_PROFILE_BYTES = 1024 * 1024
SANDBOX_PROFILE = "sandbox"
_FILE_KEYS = ("version", "default_profile", "profiles")


def default_profiles_path(env: Mapping[str, str] = os.environ) -> Path:
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".config")
    return Path(base) / "airflow-doctor" / "profiles.yml"


def find_profiles_file(explicit: str | None, env: Mapping[str, str] = os.environ) -> tuple[Path, str]:
    """The profiles file and how it was chosen."""
    if explicit:
        return Path(explicit).expanduser(), "--profiles-file"
    if env.get(ENV_PROFILES_FILE):
        return Path(env[ENV_PROFILES_FILE]).expanduser(), f"${ENV_PROFILES_FILE}"
    return default_profiles_path(env), "the default location"


def _read_text(path: Path, what: str) -> str:
    try:
        if path.is_dir():
            raise ProfileError(f"{what} {path} is a directory, not a file; point to the YAML file inside it.")
        with path.open("rb") as handle:
            data = handle.read(MAX_PROFILE_BYTES + 1)
    except FileNotFoundError:
        if what == PROFILE_FILE:
            raise ProfileError(f"The file {path} given to --profile does not exist; check the path, or run "
                               f"'airflow-doctor init' to write a profile.") from None
        raise ProfileError(f"{what} {path} does not exist; create it with 'airflow-doctor init' or pass --profiles-file.") from None
    except PermissionError:
        raise ProfileError(f"{what} {path} cannot be read (permission denied); fix its permissions.") from None
    except OSError as exc:
        raise ProfileError(f"{what} {path} cannot be read ({exc.strerror or exc}); check the path.") from None
    if len(data) > MAX_PROFILE_BYTES:
        raise ProfileError(f"{what} {path} is larger than 1 MiB, too large to be a profile file; check that it is the right file.")
    if b"\x00" in data:
        raise ProfileError(f"{what} {path} is a binary file, not YAML; point to the profile file.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ProfileError(f"{what} {path} is not UTF-8 text; save it as UTF-8.") from None


@dataclass(frozen=True)
class ProfilesFile:
    """A profiles file read and checked at the top level; each profile is built only when a command asks for it, so
    one broken profile does not stop the others (check --all)."""

    path: Path
    chosen_by: str
    default_profile: str | None
    names: tuple[str, ...]
    single: bool
    _nodes: dict[str, Node]


PROFILE_FILE = "The profile file"


def read_profiles_file(path: Path, chosen_by: str = "--profiles-file") -> ProfilesFile:
    where = str(path)
    text = _read_text(path, PROFILE_FILE if chosen_by == "--profile" else "The profiles file")
    root = load_yaml(text, where)
    if not isinstance(root.value, dict):
        raise ProfileError(f"{where} must hold a mapping (version, profiles: ...), not {kind_of(root.value)}; 'airflow-doctor profiles example' prints one.")
    top = root.value
    if "profiles" not in top and ("url" in top or auth_type_of(top) is not None):
        name = path.stem
        return ProfilesFile(path, chosen_by, name, (name,), True, {name: root})
    check_keys(top, _FILE_KEYS, where, "the profiles file")
    version = top.get("version")
    if version is not None and version.value != 1:
        raise ProfileError(f"{where} line {version.line}: version {version.value!r} is not supported; this tool reads version: 1.")
    profiles = mapping_of(top.get("profiles"), where, "'profiles'")
    if not profiles:
        raise ProfileError(f"{where} defines no profiles; add one under 'profiles:' (or run 'airflow-doctor init').")
    default = top.get("default_profile")
    default_name = None
    if default is not None:
        default_name = default.value if isinstance(default.value, str) else default.text
        if default_name not in profiles:
            raise ProfileError(f"{where} line {default.line}: default_profile {default_name or default.value!r} is not "
                               f"one of the profiles ({', '.join(map(str, profiles))}); correct it.")
    return ProfilesFile(path, chosen_by, default_name, tuple(str(n) for n in profiles), False,
                        {str(k): v for k, v in profiles.items()})


def looks_like_path(value: str) -> bool:
    return "/" in value or value.endswith((".yml", ".yaml")) or value.startswith("~")


def choose_profile_name(pf: ProfilesFile, requested: str | None, env: Mapping[str, str] = os.environ) -> tuple[str, str]:
    """The profile to use and how it was chosen: --profile, $AIRFLOW_DOCTOR_PROFILE, default_profile, the only one."""
    if requested:
        name, how = requested, "--profile"
    elif env.get(ENV_PROFILE):
        name, how = env[ENV_PROFILE], f"${ENV_PROFILE}"
    elif pf.default_profile:
        name, how = pf.default_profile, "default_profile"
    elif len(pf.names) == 1:
        name, how = pf.names[0], "the only profile"
    else:
        raise ProfileError(f"{pf.path} has {len(pf.names)} profiles ({', '.join(pf.names)}) and none was chosen; "
                           f"run: airflow-doctor check --profile {pf.names[0]}")
    if name not in pf.names:
        close = difflib.get_close_matches(name, pf.names, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ProfileError(f"There is no profile '{name}' in {pf.path} (it has: {', '.join(pf.names)}); {hint}"
                           f"run: airflow-doctor check --profile {close[0] if close else pf.names[0]}")
    return name, how


def load_profile(pf: ProfilesFile, name: str, env: Mapping[str, str] = os.environ,
                 registry: SecretRegistry = REGISTRY, allow_unset: bool = False) -> Profile:
    """One profile; with allow_unset an unset ${VAR} in a credential is recorded in Profile.unset, not refused."""
    return build_profile(pf.path, pf._nodes[name], name, env, registry, allow_unset)


def resolve(profile_arg: str | None, profiles_file: str | None, env: Mapping[str, str] = os.environ,
            registry: SecretRegistry = REGISTRY, allow_unset: bool = False) -> tuple[Profile, str]:
    """The profile a command asked for, and a sentence saying how it was chosen."""
    if profile_arg and looks_like_path(profile_arg):
        path = Path(profile_arg).expanduser()
        pf = read_profiles_file(path, "--profile")
        if pf.single:
            return load_profile(pf, pf.names[0], env, registry, allow_unset), f"file {path}"
        name, how = choose_profile_name(pf, None, env)
        return load_profile(pf, name, env, registry, allow_unset), f"{how} in {path}"
    path, chosen_by = find_profiles_file(profiles_file, env)
    if not path.exists() and chosen_by == "the default location" and not profile_arg:
        raise ProfileError(f"No profile given and no profiles file at {path}; run 'airflow-doctor init', or "
                           f"'airflow-doctor check --url URL', or pass --profile FILE (see "
                           f"'airflow-doctor profiles example'), or set ${ENV_PROFILES_FILE}.")
    pf = read_profiles_file(path, chosen_by)
    name, how = choose_profile_name(pf, profile_arg, env)
    return load_profile(pf, name, env, registry, allow_unset), f"{how} from {path} ({chosen_by})"


def names_the_sandbox(profile_arg: str | None, profiles_file: str | None, env: Mapping[str, str] = os.environ) -> bool:
    """`--profile sandbox` means the running sandbox, unless the profiles file has a profile of that name."""
    if profile_arg != SANDBOX_PROFILE:
        return False
    path, _ = find_profiles_file(profiles_file, env)
    try:
        return profile_arg not in read_profiles_file(path).names
    except ProfileError:
        return True


class RunningSandbox(Protocol):
    """What `sandbox_profile` needs of a sandbox's state (airflow_doctor.sandbox.SandboxState)."""

    version: str
    profile_path: str


def sandbox_profile(running: Sequence[RunningSandbox], env: Mapping[str, str] = os.environ,
                    registry: SecretRegistry = REGISTRY) -> tuple[Profile, str]:
    """`--profile sandbox`: the profile `sandbox up` wrote for the sandbox that is running now (the last one)."""
    if not running:
        raise ProfileError("--profile sandbox names the local sandbox, but none is running; start one with "
                           "'airflow-doctor sandbox up'.")
    state = running[-1]
    path = Path(state.profile_path)
    pf = read_profiles_file(path, "--profile")
    return load_profile(pf, pf.names[0], env, registry), f"the running sandbox (Airflow {state.version}, {path})"


def load_all(profiles_file: str | None, env: Mapping[str, str] = os.environ) -> ProfilesFile:
    """Every profile of the profiles file (for --all and `profiles list`)."""
    path, chosen_by = find_profiles_file(profiles_file, env)
    return read_profiles_file(path, chosen_by)
