"""The project service's use cases: projects, members, volumes and their files, presigned URLs, statements.

Every operation checks the caller's grants first (grants.py) and only then reaches OSS, as the volume's role.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ossbox.volumes import paths
from ossbox.volumes.catalog import Catalog, Project, Volume, now_ms
from ossbox.volumes.errors import VolumeError, access_denied, invalid
from ossbox.volumes.grants import Caller, Guard
from ossbox.volumes.oss import OssAccess, check_role_arn, oss_errors, parse_location
from ossbox.volumes.vfs import VolumeFs

if TYPE_CHECKING:
    from ossbox.volumes.sql.engine import SqlEngine

# signed with role credentials of one hour: a URL must end before them, so at most half of that
PRESIGN_MAX_S = 1800
PRESIGN_DEFAULT_S = 900


class ProjectService:
    def __init__(
        self,
        catalog: Catalog,
        access: OssAccess,
        account_id: str,
        user_exists: Callable[[str], bool],
        scratch: Path,
    ) -> None:
        self.catalog = catalog
        self.access = access
        self.account_id = account_id
        self.user_exists = user_exists
        self.guard = Guard(catalog)
        self.scratch = scratch
        self._sql: SqlEngine | None = None

    # -- projects --------------------------------------------------------------------------------------
    def create_project(self, caller: Caller, name: str, warehouse: str, role_arn: str) -> Project:
        if not caller.is_owner:
            raise access_denied("Only the account owner may create projects.")
        name = paths.check_name("project", name)
        location = parse_location(warehouse)
        check_role_arn(role_arn)
        bucket = self.access.bucket(location, role_arn)
        with oss_errors(role_arn, str(location)):
            bucket.list_objects(location.prefix, max_keys=1)  # the role must reach the warehouse
        project = Project(name, caller.principal, str(location), role_arn, now_ms())
        self.catalog.create_project(project)
        return project

    def list_projects(self, caller: Caller) -> list[Project]:
        return [
            p
            for p in self.catalog.list_projects()
            if caller.is_owner or self.catalog.is_member(p.name, caller.principal)
        ]

    def whoami(self, caller: Caller, project: str) -> dict[str, object]:
        self.guard.require_member(caller, project)
        return {"Name": caller.principal, "Project": project, "Owner": caller.is_owner}

    def require_instance(self, caller: Caller, project: str) -> None:
        """Running a statement or a job creates an instance: CreateInstance on the project."""
        self.guard.require(caller, project, "project", project, "CreateInstance")

    # -- volumes ---------------------------------------------------------------------------------------
    def create_volume(
        self,
        caller: Caller,
        project: str,
        name: str,
        url: str,
        role_arn: str,
        auto_create: bool,
        provider: str,
    ) -> Volume:
        self.guard.require(caller, project, "project", project, "CreateVolume")
        if provider.lower() != "oss":
            raise invalid(f"Unsupported storage provider {provider!r}: only 'oss' is supported.")
        name = paths.check_name("volume", name)
        location = parse_location(url)
        role = check_role_arn(role_arn or self.catalog.require_project(project).role_arn)
        if self.catalog.get_volume(project, name) is not None:
            raise VolumeError("VolumeAlreadyExists", f"The volume {name} already exists.", 409)
        bucket = self.access.bucket(location, role)
        with oss_errors(role, str(location)):
            listed = bucket.list_objects(location.prefix, max_keys=1)
            if not listed.object_list and not listed.prefix_list:
                if not auto_create:
                    raise VolumeError(
                        "NoSuchDirectory", f"{location} does not exist (use -acd true to create it).", 404
                    )
                bucket.put_object(location.prefix, b"")
        volume = Volume(project, name, str(location), role, caller.principal, now_ms())
        self.catalog.create_volume(volume)
        return volume

    def remove_volume(self, caller: Caller, project: str, name: str) -> None:
        volume = self.catalog.require_volume(project, paths.check_name("volume", name))
        self.guard.require(caller, project, "volume", volume.name, "Delete", volume.owner)
        self.catalog.delete_volume(project, volume.name)

    def volume_fs(self, project: str, volume_name: str, valid_for_s: float = 0) -> VolumeFs:
        volume = self.catalog.require_volume(project, volume_name)
        location = parse_location(volume.url)
        bucket = self.access.bucket(location, volume.role_arn, valid_for_s)
        return VolumeFs(bucket, location, volume.role_arn, f"odps://{project}/{volume.name}")

    def _checked(
        self, caller: Caller, path: paths.VolumePath, needed: str, valid_for_s: float = 0
    ) -> VolumeFs:
        volume = self.catalog.require_volume(path.project, path.require_volume())
        self.guard.require(caller, path.project, "volume", volume.name, needed, volume.owner)
        return self.volume_fs(path.project, volume.name, valid_for_s)

    # -- the vfs verbs ---------------------------------------------------------------------------------
    def vfs(self, caller: Caller, project: str, args: dict[str, Any]) -> dict[str, object]:
        verb = str(args.get("verb", ""))
        handler = {
            "ls": self._ls,
            "stat": self._stat,
            "du": self._du,
            "rm": self._rm,
            "mkdir": self._mkdir,
            "touchz": self._touchz,
            "mv": self._mv,
            "cp": self._cp,
            "presign": self._presign,
            "create": self._create,
            "rmv": self._rmv,
        }.get(verb)
        if handler is None:
            raise invalid(f"Unknown vfs verb {verb!r}.")
        self.catalog.require_project(project)
        return handler(caller, project, args)

    def _path(self, project: str, args: dict[str, Any], name: str = "path") -> paths.VolumePath:
        value = args.get(name)
        if not isinstance(value, str) or not value:
            raise invalid(f"Missing {name}.")
        return paths.parse(value, project)

    def _ls(self, caller: Caller, project: str, args: dict[str, Any]) -> dict[str, object]:
        path = self._path(project, args)
        if path.volume is None:
            self.guard.require(caller, project, "project", project, "List")
            volumes = self.catalog.list_volumes(project)
            return {
                "volumes": [
                    {"name": v.name, "url": v.url, "owner": v.owner, "mtime": v.created_ms // 1000}
                    for v in volumes
                ]
            }
        fs = self._checked(caller, path, "List")
        return {"entries": [e.to_json() for e in fs.listdir(path.key)]}

    def _stat(self, caller: Caller, project: str, args: dict[str, Any]) -> dict[str, object]:
        path = self._path(project, args)
        fs = self._checked(caller, path, "List")
        entry = fs.stat(path.key)
        return {"entry": entry.to_json() if entry else None}

    def _du(self, caller: Caller, project: str, args: dict[str, Any]) -> dict[str, object]:
        path = self._path(project, args)
        fs = self._checked(caller, path, "List")
        if args.get("summary") or not fs.require(path.key).is_dir:
            return {"usage": [[path.key, fs.du(path.key)]]}
        return {"usage": [[e.path, fs.du(e.path)] for e in fs.listdir(path.key)]}

    def _rm(self, caller: Caller, project: str, args: dict[str, Any]) -> dict[str, object]:
        path = self._path(project, args).require_file_path()
        fs = self._checked(caller, path, "Delete")
        return {"deleted": fs.rm(path.key, bool(args.get("recursive")))}

    def _mkdir(self, caller: Caller, project: str, args: dict[str, Any]) -> dict[str, object]:
        path = self._path(project, args).require_file_path()
        fs = self._checked(caller, path, "Write")
        fs.mkdir(path.key, bool(args.get("parents", True)))
        return {}

    def _touchz(self, caller: Caller, project: str, args: dict[str, Any]) -> dict[str, object]:
        path = self._path(project, args).require_file_path()
        self._checked(caller, path, "Write").touchz(path.key)
        return {}

    def _move_or_copy(
        self, caller: Caller, project: str, args: dict[str, Any], move: bool
    ) -> dict[str, object]:
        src = self._path(project, args, "src").require_file_path()
        dst = self._path(project, args, "dst")
        if dst.volume is None:
            raise VolumeError("InvalidPath", "Root path is not supported", 400)
        if dst.volume != src.volume:
            raise invalid("Moving or copying between volumes is not supported; use -get and -put.")
        fs = self._checked(caller, src, "Read")
        if move:
            self._checked(caller, src, "Delete")
        self._checked(caller, dst, "Write")
        return {"path": fs.copy(src.key, dst.key, move)}

    def _mv(self, caller: Caller, project: str, args: dict[str, Any]) -> dict[str, object]:
        return self._move_or_copy(caller, project, args, True)

    def _cp(self, caller: Caller, project: str, args: dict[str, Any]) -> dict[str, object]:
        return self._move_or_copy(caller, project, args, False)

    def _presign(self, caller: Caller, project: str, args: dict[str, Any]) -> dict[str, object]:
        path = self._path(project, args).require_file_path()
        method = str(args.get("method", "GET")).upper()
        if method not in ("GET", "PUT"):
            raise invalid("Presigned URLs are for GET or PUT.")
        expires = int(args.get("expires", PRESIGN_DEFAULT_S))
        if not 1 <= expires <= PRESIGN_MAX_S:
            raise invalid(f"expires must be 1..{PRESIGN_MAX_S} seconds.")
        fs = self._checked(caller, path, "Read" if method == "GET" else "Write", expires)
        if method == "PUT":
            entry = fs.stat(path.key)
            if entry is not None and (entry.is_dir or not args.get("overwrite")):
                what = "a directory" if entry.is_dir else "an existing file"
                raise VolumeError("FileAlreadyExists", f"{path} is {what}", 409)
            fs.check_parent_is_not_file(path.key)
        else:
            entry = fs.require(path.key)
            if entry.is_dir:
                raise VolumeError("PathIsDirectory", f"{path} is a directory", 400)
        return {
            "url": fs.presign(path.key, method, expires),
            "expires": int(time.time()) + expires,
            "size": entry.size if entry else 0,
        }

    def _create(self, caller: Caller, project: str, args: dict[str, Any]) -> dict[str, object]:
        volume = self.create_volume(
            caller,
            project,
            str(args.get("name", "")),
            str(args.get("url", "")),
            str(args.get("role_arn", "")),
            bool(args.get("acd", False)),
            str(args.get("storage_provider", "oss")),
        )
        return {"name": volume.name, "url": volume.url}

    def _rmv(self, caller: Caller, project: str, args: dict[str, Any]) -> dict[str, object]:
        self.remove_volume(caller, project, str(args.get("name", "")))
        return {}

    # -- statements ------------------------------------------------------------------------------------
    def sql(
        self, caller: Caller, project: str, statement: str, settings: dict[str, str]
    ) -> dict[str, object]:
        return self.engine().execute(caller, project, statement, settings)

    def engine(self) -> SqlEngine:
        if self._sql is None:
            try:
                from ossbox.volumes.sql.engine import SqlEngine
            except ImportError as exc:
                from ossbox.volumes.errors import not_installed

                raise not_installed(f"SQL ({exc.name} is missing)") from None
            self._sql = SqlEngine(self, self.scratch)
        return self._sql
