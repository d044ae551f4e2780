"""Where the ossutil-style commands connect, and with which keys: ossutil's flags, its config file
(`~/.ossutilconfig`, `[Credentials]` endpoint / accessKeyID / accessKeySecret), or the environment."""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ossbox.fs.config import ConfigError

DEFAULT_CONFIG = "~/.ossutilconfig"


@dataclass(frozen=True)
class OssUrl:
    bucket: str
    key: str

    def __str__(self) -> str:
        return f"oss://{self.bucket}/{self.key}"

    @property
    def path(self) -> str:
        return f"{self.bucket}/{self.key}" if self.key else self.bucket


def is_oss(url: str) -> bool:
    return url.startswith("oss://")


def parse_oss(url: str) -> OssUrl:
    if not is_oss(url):
        raise ConfigError(f"not an oss:// URL: {url}")
    bucket, _, key = url[len("oss://") :].partition("/")
    if not bucket:
        raise ConfigError(f"no bucket in {url}")
    return OssUrl(bucket, key)


def read_ossutil_config(path: str) -> dict[str, str]:
    """endpoint, accessKeyID, accessKeySecret (and stsToken, region) from an ossutil config file."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as f:
            parser.read_file(f)
    except FileNotFoundError:
        return {}
    except (OSError, configparser.Error) as e:
        raise ConfigError(f"cannot read the config file {path}: {type(e).__name__}") from None
    out: dict[str, str] = {}
    # ossutil 1.x writes [Credentials]; ossutil 2.x writes [default] (or [profile NAME]).
    for section in ("Credentials", "default"):
        if parser.has_section(section):
            s = parser[section]  # option names are case-insensitive here
            for ours, theirs in (
                ("endpoint", "endpoint"),
                ("key", "accesskeyid"),
                ("secret", "accesskeysecret"),
                ("token", "ststoken"),
                ("region", "region"),
            ):
                if s.get(theirs) and ours not in out:
                    out[ours] = s[theirs]
    return out


def connection_options(
    endpoint: str | None,
    access_key_id: str | None,
    access_key_secret: str | None,
    config_file: str | None,
    region: str | None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Flags win, then an explicit -c file, then the environment, then ~/.ossutilconfig."""
    env = dict(os.environ) if env is None else env
    flags = {"endpoint": endpoint, "key": access_key_id, "secret": access_key_secret, "region": region}
    layers: list[dict[str, str]] = []
    if config_file:
        if not Path(os.path.expanduser(config_file)).is_file():
            raise ConfigError(f"config file not found: {config_file}")
        layers.append(read_ossutil_config(config_file))
    layers.append(_from_env(env))
    layers.append(read_ossutil_config(DEFAULT_CONFIG))
    merged: dict[str, Any] = {}
    for layer in [{k: v for k, v in flags.items() if v}, *layers]:
        for k, v in layer.items():
            merged.setdefault(k, v)
    return merged


def _from_env(env: dict[str, str]) -> dict[str, str]:
    from ossbox.fs.config import load_config

    cfg = load_config(env=env)
    pairs = {
        "endpoint": cfg.endpoint,
        "key": cfg.access_key_id,
        "secret": cfg.access_key_secret,
        "token": cfg.security_token,
        "region": cfg.region,
    }
    return {k: v for k, v in pairs.items() if v}
